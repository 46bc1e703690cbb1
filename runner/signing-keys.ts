import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ManifestSigner } from '../core/ports/manifest-signer.js';
import type { TrustedSigner, TrustPolicy } from '../core/usecases/authenticate-backup.js';
import { formatSigningKeyFile, LocalKeySigner, parseSigningKeyFile } from '../core/adapters/signing/local-key-signer.js';
import { kmsSignerFor, kmsSignerService } from '../core/adapters/signing/signers.js';
import { isSignerKeyText, parseSignerKeyPem, parseSignerKeyText } from '../core/domain/signer-keys.js';
import { ConfigError, KeyError } from '../core/errors.js';
import { defaultIdentityPath } from './keys.js';

/**
 * Signing keys and trust, as the CLI takes them: `--signing-key` (a key file, or a key service's
 * key `aws-kms:<ARN>`, `gcp-kms:<key version>`, `azure-keyvault:<key version URL>`) and `--trust`
 * (a public key `ed25519:…` / `ecdsa-p256:…`, a key service's key, or a file of them).
 */

/** The signing key beside the default identity: `~/.config/vaultra/signing-key.pem`. */
export function defaultSigningKeyPath(env = process.env): string {
  return join(dirname(defaultIdentityPath(env)), 'signing-key.pem');
}

/**
 * The signer for a backup: `--signing-key` (`VAULTRA_SIGNING_KEY`), or the default signing key,
 * created (0600) on first use like the default identity, with a notice that says how to trust it.
 */
export async function signerFor(ref: string | undefined, notice: (line: string) => void): Promise<ManifestSigner> {
  if (ref && kmsSignerService(ref)) return kmsSignerFor(ref);
  if (ref) return readSigningKeyFile(ref);
  const path = defaultSigningKeyPath();
  try {
    return await readSigningKeyFile(path);
  } catch (error) {
    if (!(error instanceof KeyError) || !/ENOENT/.test(error.message)) throw error;
  }
  const signer = await writeNewSigningKey(path);
  notice(`created signing key ${path}; restores on this machine trust it; elsewhere trust it with --trust ${signer.publicKey.text}`);
  return signer;
}

export async function readSigningKeyFile(path: string): Promise<LocalKeySigner> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KeyError(`cannot read signing key ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return parseSigningKeyFile(text, path);
}

/** Writes a new Ed25519 signing key (0600, never overwriting). */
export async function writeNewSigningKey(path: string): Promise<LocalKeySigner> {
  const signer = LocalKeySigner.generate();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, formatSigningKeyFile(signer), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(`${path} already exists: choose another path, or remove it first if you are sure nobody trusts it any more`);
    throw error;
  }
  return signer;
}

export interface TrustFlags {
  /** `--trust` values, in order. */
  readonly trust?: readonly string[];
  readonly allowUnsigned?: boolean;
}

/**
 * Whose signatures restore and verify accept: every `--trust` value, every entry of
 * `VAULTRA_TRUST` (space- or comma-separated), and the signing key this machine signs with by
 * default (`VAULTRA_SIGNING_KEY` when it is a file, else the default signing key), if it exists:
 * what you signed yourself, you trust.
 */
export async function trustPolicyFor(flags: TrustFlags, signal?: AbortSignal, env = process.env): Promise<TrustPolicy> {
  const values = [...(flags.trust ?? []), ...(env.VAULTRA_TRUST ?? '').split(/[\s,]+/).filter(Boolean)];
  const signers: TrustedSigner[] = [];
  for (const value of values) signers.push(...(await trustedSignersOf(value, signal)));
  const own = env.VAULTRA_SIGNING_KEY && !kmsSignerService(env.VAULTRA_SIGNING_KEY) ? env.VAULTRA_SIGNING_KEY : defaultSigningKeyPath(env);
  const local = await readSigningKeyFile(own).catch((error: unknown) => {
    if (error instanceof KeyError && /ENOENT/.test(error.message)) return undefined;
    throw error;
  });
  if (local) signers.push({ publicKey: local.publicKey, label: `your signing key ${own}` });
  // Loud: on its own line, before anything of the backup is read.
  return { signers, allowUnsigned: flags.allowUnsigned === true, onUnproven: (warning) => process.stderr.write(`vaultra: ${warning}\n`) };
}

/** One `--trust` value: a public key, a key service's key (its public key is fetched), or a file of them. */
async function trustedSignersOf(value: string, signal: AbortSignal | undefined): Promise<TrustedSigner[]> {
  const trimmed = value.trim();
  if (isSignerKeyText(trimmed)) return [{ publicKey: parseSignerKeyText(trimmed), label: shortLabel(trimmed) }];
  if (kmsSignerService(trimmed)) {
    const signer = await kmsSignerFor(trimmed);
    return [{ publicKey: await signer.publicKey(signal), label: trimmed, keyIds: [signer.keyId] }];
  }
  let text: string;
  try {
    text = await readFile(trimmed, 'utf8');
  } catch (error) {
    throw new ConfigError(`--trust ${trimmed}: not a public key (ed25519:…, ecdsa-p256:…), a key service key (aws-kms:…, gcp-kms:…, azure-keyvault:…) or a readable file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  return trustFileSigners(text, trimmed, signal);
}

/** A trust file: public key lines and key service keys (`#` comments allowed), and/or PEM public keys. */
async function trustFileSigners(text: string, path: string, signal: AbortSignal | undefined): Promise<TrustedSigner[]> {
  if (/-----BEGIN (ENCRYPTED )?PRIVATE KEY-----/.test(text)) {
    throw new ConfigError(`--trust ${path} is a private signing key: trust its public key instead (the "# public key:" line in it, or what vaultra keygen printed)`);
  }
  const signers: TrustedSigner[] = [];
  for (const pem of text.match(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g) ?? []) signers.push({ publicKey: parseSignerKeyPem(pem), label: `${path} (PEM)` });
  const lines = text
    .replace(/-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----/g, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  for (const line of lines) {
    if (!isSignerKeyText(line) && !kmsSignerService(line)) throw new ConfigError(`--trust ${path}: the line ${JSON.stringify(line.slice(0, 40))} is not a public key or key service key`);
    for (const signer of await trustedSignersOf(line, signal)) signers.push({ ...signer, label: `${signer.label} (from ${path})` });
  }
  if (signers.length === 0) throw new ConfigError(`--trust ${path} holds no public key`);
  return signers;
}

/** Ed25519 key texts are short enough to show whole; P-256 ones by their type and last characters. */
function shortLabel(text: string): string {
  return text.length > 72 ? `${text.slice(0, text.indexOf(':') + 1)}…${text.slice(-20)}` : text;
}

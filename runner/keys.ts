import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { AgeDecryptor, AgeEncryptor, NoEncryptor } from '../core/adapters/encryption/age-encryptor.js';
import { formatIdentityFile, generateX25519Identity, parseIdentityFile, recipientOf } from '../core/adapters/encryption/age/bech32-keys.js';
import type { AgeIdentity, AgeRecipient } from '../core/adapters/encryption/age/age-stream.js';
import { KEY_SERVICE_IDS } from '../core/adapters/encryption/age/kms-stanza.js';
import { keyServiceFor } from '../core/adapters/keys/key-services.js';
import { keyServiceIdSchema, kmsKeyIdSchema } from '../core/domain/manifest.js';
import type { KeyService, KeyServiceId } from '../core/ports/key-service.js';
import type { BackupSpec } from '../core/domain/backup-spec.js';
import type { Decryptor, Encryptor, RandomAccessDecryptor } from '../core/ports/encryptor.js';
import { AgeRandomAccessDecryptor } from '../core/adapters/encryption/age-random-access.js';
import { ConfigError, KeyError } from '../core/errors.js';
import { registerSecret } from '../core/domain/redact.js';

/** Where Vaultra keeps the identity it encrypts to when no recipient is named. */
export function defaultIdentityPath(env = process.env): string {
  if (env.VAULTRA_IDENTITY) return env.VAULTRA_IDENTITY;
  const config = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(config, 'vaultra', 'identity.txt');
}

/** A cloud key-service key the age file key is also wrapped under (`--kms aws-kms:arn:aws:kms:…`). */
export interface KmsKeyRef {
  readonly service: KeyServiceId;
  readonly keyId: string;
}

/** Parses one `--kms <service>:<keyId>` value; the key id is everything after the first colon. */
export function parseKmsKeyRef(value: string): KmsKeyRef {
  const colon = value.indexOf(':');
  const service = keyServiceIdSchema.safeParse(colon === -1 ? value : value.slice(0, colon));
  const keyId = colon === -1 ? '' : value.slice(colon + 1);
  if (!service.success) throw new ConfigError(`--kms ${value}: expected <service>:<key id> with service ${KEY_SERVICE_IDS.join(', ')}, e.g. aws-kms:arn:aws:kms:eu-west-1:123456789012:key/…`);
  if (!kmsKeyIdSchema.safeParse(keyId).success) throw new ConfigError(`--kms ${value}: the key id after "${service.data}:" must be non-empty printable ASCII without spaces`);
  return { service: service.data, keyId };
}

/**
 * The encryptor for a backup spec. Encrypted by default: with no recipient, passphrase or KMS
 * key, the backup is encrypted to the default identity, which is created (0600) on first use.
 * KMS keys wrap the file key beside the recipients; without recipients they replace the default
 * identity (a backup only the key service opens). The spec's schema already refuses a passphrase
 * beside them (age's rule: a passphrase stanza stands alone).
 */
export async function encryptorFor(encryption: BackupSpec['encryption'], notice: (line: string) => void): Promise<Encryptor> {
  switch (encryption.mode) {
    case 'none':
      return new NoEncryptor();
    case 'passphrase': {
      const passphrase = readPassphrase(encryption.passphraseEnv);
      const workFactor = process.env.VAULTRA_SCRYPT_WORK_FACTOR ? Number(process.env.VAULTRA_SCRYPT_WORK_FACTOR) : undefined;
      return new AgeEncryptor([{ kind: 'scrypt', passphrase, ...(workFactor ? { workFactor } : {}) }]);
    }
    case 'recipients': {
      const kmsRecipients = await kmsRecipientsFor(encryption.kmsKeys.map(parseKmsKeyRef));
      return new AgeEncryptor([...encryption.recipients.map((recipient): AgeRecipient => ({ kind: 'x25519', recipient })), ...kmsRecipients]);
    }
    case 'default-identity': {
      const identity = await loadOrCreateIdentity(defaultIdentityPath(), notice);
      return new AgeEncryptor([{ kind: 'x25519', recipient: recipientOf(identity) }]);
    }
  }
}

/** One key service per service id (its SDK is loaded here, once), each key once. */
async function kmsRecipientsFor(kms: readonly KmsKeyRef[]): Promise<AgeRecipient[]> {
  const services = new Map<KeyServiceId, KeyService>();
  const recipients: AgeRecipient[] = [];
  const seen = new Set<string>();
  for (const { service, keyId } of kms) {
    if (seen.has(`${service}:${keyId}`)) continue;
    seen.add(`${service}:${keyId}`);
    let keyService = services.get(service);
    if (!keyService) services.set(service, (keyService = await keyServiceFor(service)));
    recipients.push({ kind: 'kms', keyService, keyId });
  }
  return recipients;
}

export interface DecryptionFlags {
  readonly identity?: string[];
  readonly passphraseEnv?: string;
}

/**
 * The decryptor for a restore or verify: named identity files, a passphrase, or the default
 * identity; and, when none of them opens a backup, the key service its `vaultra-kms` stanza
 * names (no flag: the stanza says which service and key).
 */
export async function decryptorFor(flags: DecryptionFlags): Promise<Decryptor> {
  return new AgeDecryptor(await identitiesFor(flags));
}

/**
 * `decryptorFor`, and from the same keys a decryptor that reads ranges of encrypted packs (a
 * chunked snapshot's): read once, since reading a passphrase variable removes it.
 */
export async function decryptorsFor(flags: DecryptionFlags): Promise<{ readonly decryptor: Decryptor; readonly randomAccess: RandomAccessDecryptor }> {
  const identities = await identitiesFor(flags);
  return { decryptor: new AgeDecryptor(identities), randomAccess: new AgeRandomAccessDecryptor(identities) };
}

async function identitiesFor(flags: DecryptionFlags): Promise<AgeIdentity[]> {
  const identities: AgeIdentity[] = [];
  for (const path of flags.identity ?? []) {
    for (const identity of await readIdentityFile(path)) identities.push({ kind: 'x25519', identity });
  }
  if (flags.passphraseEnv) identities.push({ kind: 'scrypt', passphrase: readPassphrase(flags.passphraseEnv) });
  if (identities.length === 0) {
    const path = defaultIdentityPath();
    const found = await readIdentityFile(path).catch(() => []);
    for (const identity of found) identities.push({ kind: 'x25519', identity });
  }
  identities.push({ kind: 'kms', allowed: KEY_SERVICE_IDS, keyServiceFor });
  return identities;
}

export async function readIdentityFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new KeyError(`cannot read identity file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const identities = parseIdentityFile(text);
  identities.forEach(registerSecret);
  if (identities.length === 0) throw new KeyError(`identity file ${path} holds no AGE-SECRET-KEY-1… line`);
  return identities;
}

/** Writes a new identity file (0600, never overwriting) and returns the identity and recipient. */
export async function writeNewIdentity(path: string): Promise<{ identity: string; recipient: string }> {
  const key = generateX25519Identity();
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await writeFile(path, formatIdentityFile(key.identity), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(`${path} already exists: choose another --out, or remove it first if you are sure no backup needs it`);
    throw error;
  }
  return key;
}

async function loadOrCreateIdentity(path: string, notice: (line: string) => void): Promise<string> {
  try {
    const [identity] = await readIdentityFile(path);
    return identity!;
  } catch (error) {
    if (!(error instanceof KeyError) || !/ENOENT/.test(error.message)) throw error;
  }
  const { identity, recipient } = await writeNewIdentity(path);
  notice(`created identity ${path} (recipient ${recipient}); keep a copy somewhere safe: without it these backups cannot be restored`);
  return identity;
}

function readPassphrase(variable: string): string {
  const value = process.env[variable];
  if (!value) throw new ConfigError(`--passphrase-env ${variable}: the environment variable ${variable} is not set or empty`);
  registerSecret(value);
  // The dump and compression tools inherit this process's environment; none of them needs it.
  delete process.env[variable];
  return value;
}

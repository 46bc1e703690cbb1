import type { StorageBackend } from '../ports/storage-backend.js';
import { signatureFileSchema, signatureKeyOf, signedFieldsSchema, signedPayload, type SignatureFile } from '../domain/manifest-signature.js';
import { verifySignature, type SignerPublicKey } from '../domain/signer-keys.js';
import { IntegrityError, NotFoundError, UntrustedBackupError } from '../errors.js';
import type { LocatedBackup } from './locate-backup.js';
import { readBounded } from '../pipeline/read-bounded.js';

/**
 * The one place that decides whether a backup may be restored or verified as genuine: its
 * manifest must carry a signature (`manifest.json.sig`) that verifies, under a trusted public key,
 * over the manifest's exact bytes bound to where the manifest was found (job, run id, key).
 *
 * Checksums and age authentication prove the data is what the manifest says; only this proves
 * the manifest came from a trusted signer. Without it, anyone who can write to the storage can
 * make a backup from the public recipients alone, with valid checksums.
 */

export interface TrustedSigner {
  readonly publicKey: SignerPublicKey;
  /** Where the trust comes from, for messages: `--trust ./ops.pub`, `the default signing key`, `aws-kms:arn:…`. */
  readonly label: string;
  /** Other key ids its signatures carry (a key service's key name); its public key text always counts. */
  readonly keyIds?: readonly string[];
}

export interface TrustPolicy {
  readonly signers: readonly TrustedSigner[];
  /**
   * Accept a backup whose authenticity is not proven (signature missing, not verifying, or from an
   * untrusted key): `--allow-unsigned`. The result says why; the caller must say so loudly.
   */
  readonly allowUnsigned?: boolean;
  /** Called with the loud warning line before anything of an unproven backup is read (`allowUnsigned` only). */
  readonly onUnproven?: (warning: string) => void;
}

export type Authenticity =
  | { readonly verified: true; readonly keyId: string; readonly trustedAs: string; readonly manifestSha256: string }
  | { readonly verified: false; readonly reason: string; readonly manifestSha256: string };

const MAX_SIGNATURE_BYTES = 64 * 1024;

/**
 * Checks `backup`'s signature against `trust`. Resolves with the signer when it is trusted, or —
 * only with `allowUnsigned` — with the reason it is not; otherwise rejects with
 * `UntrustedBackupError` naming the run and the reason, and with storage errors as they come.
 * The signature is checked against the bytes `backup.manifest` was parsed from (`manifestSha256`).
 */
export async function authenticateBackup(
  storage: StorageBackend,
  backup: LocatedBackup,
  trust: TrustPolicy,
  options: { readonly action: 'restore' | 'verify'; readonly signal?: AbortSignal },
): Promise<Authenticity> {
  const { manifestSha256 } = backup;
  const problem = await signatureProblem(storage, backup, manifestSha256, trust, options.signal);
  if (typeof problem !== 'string') return { verified: true, ...problem, manifestSha256 };
  if (trust.allowUnsigned) {
    trust.onUnproven?.(unprovenWarning(backup, problem, options.action, storage.location));
    return { verified: false, reason: problem, manifestSha256 };
  }
  throw new UntrustedBackupError(
    `backup ${backup.runId} of job ${backup.job} is not from a trusted signer: ${problem}; refusing to ${options.action} it (trust its signer with --trust <public key or file>, or pass --allow-unsigned to ${options.action} it anyway)`,
  );
}

/** The loud line for a backup accepted with `--allow-unsigned`. */
export function unprovenWarning(backup: Pick<LocatedBackup, 'runId' | 'job'>, reason: string, action: 'restore' | 'verify', location: string): string {
  const done = action === 'restore' ? 'restoring' : 'verifying';
  return `WARNING: backup ${backup.runId} of job ${backup.job} is NOT AUTHENTICATED: ${reason}. --allow-unsigned was given, so Vaultra is ${done} it anyway: anyone who can write to ${location} could have made this backup`;
}


/** The trusted signer that made the signature, or why there is none (one phrase). */
async function signatureProblem(
  storage: StorageBackend,
  backup: LocatedBackup,
  manifestSha256: string,
  trust: TrustPolicy,
  signal: AbortSignal | undefined,
): Promise<{ keyId: string; trustedAs: string } | string> {
  const key = signatureKeyOf(backup.manifestKey);
  let text: Buffer;
  try {
    text = await readBounded(await storage.get(key, { signal }), MAX_SIGNATURE_BYTES, key);
  } catch (error) {
    if (error instanceof NotFoundError) return `it has no signature (${key.slice(key.lastIndexOf('/') + 1)} is missing)`;
    if (error instanceof IntegrityError) return 'its signature file is too large to be one';
    throw error;
  }
  const file = parseSignatureFile(text);
  if (typeof file === 'string') return file;

  const fields = signedFieldsSchema.safeParse({ job: backup.job, runId: backup.runId, manifestKey: backup.manifestKey, manifestSha256 });
  if (!fields.success) return `its location ${backup.manifestKey} is not a run folder a signature can name`;
  const payload = signedPayload(fields.data);
  const signature = Buffer.from(file.signature, 'base64');
  for (const signer of trust.signers) {
    if (verifySignature(signer.publicKey, file.algorithm, payload, signature)) return { keyId: file.keyId, trustedAs: signer.label };
  }

  if (file.payload !== payload.toString('utf8')) return payloadMismatch(file.payload, fields.data);
  const claimed = trust.signers.find((signer) => signer.publicKey.text === file.keyId || signer.keyIds?.includes(file.keyId));
  if (claimed) return `its signature does not verify with the trusted key ${claimed.label}: the manifest or its signature was altered`;
  if (trust.signers.length === 0) return `it is signed by ${shortKeyId(file.keyId)}, and no signer is trusted here (pass --trust, or create the default signing key with vaultra keygen)`;
  return `it is signed by ${shortKeyId(file.keyId)}, which is not a trusted signer`;
}

function parseSignatureFile(bytes: Buffer): SignatureFile | string {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    return 'its signature file is not valid JSON';
  }
  const parsed = signatureFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return `its signature file is malformed (${issue?.path.join('.') || 'root'}: ${issue?.message})`;
  }
  return parsed.data;
}

/** Which signed field differs: the clearest account of a copied or edited manifest. */
function payloadMismatch(signedText: string, actual: { job: string; runId: string; manifestKey: string; manifestSha256: string }): string {
  let signed: Record<string, unknown> = {};
  try {
    signed = JSON.parse(signedText) as Record<string, unknown>;
  } catch {
    return 'its signature does not verify';
  }
  if (typeof signed.manifestKey === 'string' && signed.manifestKey !== actual.manifestKey) {
    return `its signature was made for ${JSON.stringify(signed.manifestKey).slice(0, 200)}, not ${actual.manifestKey}: the manifest was copied from another run folder`;
  }
  if (signed.manifestSha256 !== actual.manifestSha256) return 'its signature was made for other manifest bytes: the manifest was changed after it was signed';
  return 'its signature does not verify';
}

/** A P-256 public key is 135 characters: its type and tail are enough to recognise it. Key names show whole. */
function shortKeyId(keyId: string): string {
  if (keyId.startsWith('ecdsa-p256:')) return `ecdsa-p256:…${keyId.slice(-20)}`;
  return keyId.length > 200 ? `${keyId.slice(0, 199)}…` : keyId;
}


import { Readable } from 'node:stream';
import type { ManifestSigner } from '../ports/manifest-signer.js';
import { signatureKeyOf } from '../domain/manifest-signature.js';
import type { BackupRef } from './locate-backup.js';
import { signManifest } from './sign-manifest.js';
import { runVerify, type VerifyDependencies, type VerifyReport } from './verify.js';

export interface TrustUnsignedDependencies extends VerifyDependencies {
  /** The key that signs the backup once it checks out: the user's own. */
  readonly signer: ManifestSigner;
}

export interface TrustUnsignedReport extends VerifyReport {
  /** False when a trusted signer had already signed it: nothing was written. */
  readonly signed: boolean;
}

/**
 * The one-time way to trust a backup made before manifests were signed (or signed by a key no
 * longer trusted): a full verify that accepts the missing signature, then a signature by
 * `signer` over exactly the manifest bytes that were checked, written beside the manifest (it
 * replaces a signature that did not verify). A manifest copied in from another run folder never
 * gets this far: locating it refuses it. Only for backups the user knows are theirs: it
 * turns whatever is in the run folder into a trusted backup.
 */
export async function trustUnsignedBackup(deps: TrustUnsignedDependencies, ref: BackupRef, options: { signal?: AbortSignal; onProgress?: (bytesRead: number) => void } = {}): Promise<TrustUnsignedReport> {
  const report = await runVerify({ ...deps, trust: { signers: deps.trust.signers, allowUnsigned: true } }, ref, options);
  const { backup, authenticity } = report;
  if (!authenticity || authenticity.verified) return { ...report, signed: false };
  const signature = await signManifest(deps.signer, { job: backup.job, runId: backup.runId, manifestKey: backup.manifestKey, manifestSha256: authenticity.manifestSha256 }, options.signal);
  await deps.storage.put(signatureKeyOf(backup.manifestKey), Readable.from([signature]), { signal: options.signal });
  return { ...report, signed: true };
}

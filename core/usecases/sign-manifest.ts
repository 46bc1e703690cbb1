import { createHash } from 'node:crypto';
import type { ManifestSigner } from '../ports/manifest-signer.js';
import { formatSignatureFile, signedPayload } from '../domain/manifest-signature.js';

/**
 * The signature file (`manifest.json.sig`) for a manifest about to be written at `manifestKey`,
 * or already there: the signer signs the manifest's exact bytes bound to job, run id and key.
 */
export async function signManifest(
  signer: ManifestSigner,
  manifest: { readonly job: string; readonly runId: string; readonly manifestKey: string; readonly manifestSha256: string },
  signal?: AbortSignal,
): Promise<string> {
  const payload = signedPayload(manifest);
  const signature = await signer.sign(payload, signal);
  return formatSignatureFile({
    schema: 'vaultra.signature/v1',
    algorithm: signer.algorithm,
    keyId: signer.keyId,
    payload: payload.toString('utf8'),
    signature: Buffer.from(signature).toString('base64'),
  });
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

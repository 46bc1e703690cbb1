import { Readable } from 'node:stream';
import type { ManifestSigner } from '../ports/manifest-signer.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { signatureKeyOf } from '../domain/manifest-signature.js';
import type { LeftBehind } from '../domain/run.js';
import { objectLeftBehind } from '../pipeline/artifact-writer.js';
import { rootCause } from './run-errors.js';
import { sha256Hex, signManifest } from './sign-manifest.js';
import { noTracing, type RunTracer } from '../ports/run-tracer.js';

/**
 * The commit of a run: the manifest's signature, then the manifest, in every destination. Until
 * the manifest exists a run folder is not a backup; `undo()` takes back whatever was written.
 */
export class ManifestCommit {
  private readonly manifests = new Set<StorageBackend>();
  private readonly signatures = new Set<StorageBackend>();

  constructor(
    private readonly destinations: readonly StorageBackend[],
    private readonly signer: ManifestSigner,
    private readonly run: { readonly job: string; readonly runId: string; readonly manifestKey: string },
    private readonly tracer: RunTracer = noTracing,
  ) {}

  /**
   * Signs `manifestText` and stores signature and manifest. Signed before anything is committed:
   * a key service that refuses fails the run, never leaves an unsigned backup behind. The
   * signature goes first so every manifest has one.
   */
  async commit(manifestText: string, signal?: AbortSignal): Promise<void> {
    const key = this.run.manifestKey;
    const signatureText = await this.tracer.span('sign', { 'vaultra.signer': this.signer.keyId }, () => signManifest(this.signer, { ...this.run, manifestSha256: sha256Hex(manifestText) }, signal));
    await this.tracer.span('commit', { 'vaultra.destinations': this.destinations.length }, async () => {
      await this.putEverywhere(signatureKeyOf(key), signatureText, this.signatures, signal);
      // The commit marker: until this object exists, the run folder is not a backup.
      await this.putEverywhere(key, manifestText, this.manifests, signal);
    });
  }

  /**
   * Removes what `commit` stored, manifests first: a folder stops being a backup the moment its
   * manifest is gone. Never rejects; resolves to what it could not remove (see `objectLeftBehind`).
   */
  async undo(): Promise<LeftBehind[]> {
    const key = this.run.manifestKey;
    const remove = (storage: StorageBackend, objectKey: string) => storage.delete(objectKey).then(() => undefined, () => objectLeftBehind(storage, objectKey));
    const manifests = await Promise.all([...this.manifests].map((storage) => remove(storage, key)));
    const signatures = await Promise.all([...this.signatures].map((storage) => remove(storage, signatureKeyOf(key))));
    return [...manifests, ...signatures].filter((item) => item !== undefined);
  }

  private async putEverywhere(key: string, text: string, written: Set<StorageBackend>, signal?: AbortSignal): Promise<void> {
    const puts = await Promise.allSettled(this.destinations.map((storage) => storage.put(key, Readable.from([text]), { signal }).then(() => void written.add(storage))));
    if (puts.some((put) => put.status === 'rejected')) throw rootCause(puts);
  }
}

import type { StorageBackend } from '../ports/storage-backend.js';
import type { ArtifactWriter, ObjectPlacement, ObjectWrite } from '../ports/artifact.js';
import { MANIFEST_NAME, objectKeyOf } from '../domain/object-layout.js';
import { Sha256Tap } from './byte-taps.js';
import { fanOut } from './fan-out.js';
import type { LeftBehind } from '../domain/run.js';
import { storageUrlOf } from '../domain/storage-location.js';

/**
 * Writes a run's objects into its run folder (or its job's shared area) in every destination at
 * once: one hash-and-count tap, then a fan-out when there are several destinations, each
 * destination's upload reading its own branch.
 */
export class StorageArtifactWriter implements ArtifactWriter {
  /** What was stored where, to remove if the run fails. */
  private readonly written: { readonly storage: StorageBackend; readonly key: string; readonly shared: boolean }[] = [];

  /** @param runFolder the run's folder (`runFolder(job, runId)`) */
  constructor(
    private readonly destinations: readonly StorageBackend[],
    private readonly runFolder: string,
  ) {}

  open(placement: ObjectPlacement, signal?: AbortSignal): ObjectWrite {
    const key = objectKeyOf(`${this.runFolder}/${MANIFEST_NAME}`, placement);
    const tap = new Sha256Tap();
    const fan = this.destinations.length > 1 ? fanOut(this.destinations.length) : undefined;
    // Shared objects may be other runs' too: a failed run removes them only when the caller
    // knows they are its own (a pack it just wrote, which no manifest lists yet).
    const discardable = placement.discardable ?? placement.scope !== 'shared';
    const stored = this.destinations.map((storage, i) =>
      storage.put(key, fan ? fan.branches[i]! : tap, { signal }).then(
        () => void (discardable && this.written.push({ storage, key, shared: placement.scope === 'shared' })),
        (error: unknown) => {
          // A backend that gives up may simply stop reading: tear the stages down, or the dump
          // blocks on a full pipe and the pipeline never settles.
          tap.destroy();
          throw error;
        },
      ),
    );
    return {
      stages: fan ? [tap, fan.input] : [tap],
      stored,
      bytes: () => tap.bytes,
      described: () => ({ name: placement.name, role: placement.role, sizeBytes: tap.bytes, sha256: tap.sha256, ...(placement.scope === 'shared' ? { scope: 'shared' as const } : {}) }),
    };
  }

  async discard(): Promise<LeftBehind[]> {
    const kept = await Promise.all(this.written.map(({ storage, key, shared }) => storage.delete(key).then(() => undefined, () => objectLeftBehind(storage, key, shared))));
    return kept.filter((item) => item !== undefined);
  }
}

/**
 * An object a failed run could not delete (a write-only backup identity has no delete right, or
 * the store failed), and who deletes it: a run folder is emptied when the failed run is settled,
 * an unreferenced pack by the pack sweep that follows the job's next retention.
 */
export function objectLeftBehind(storage: StorageBackend, key: string, shared = false): LeftBehind {
  return {
    kind: 'object',
    location: storageUrlOf(storage.location, key),
    cleanup: shared ? "the pack sweep after the job's next retention deletes it (no manifest references it)" : "settling the failed run deletes its run folder (reconcile, task-finished or 'vaultra catalog repair')",
  };
}

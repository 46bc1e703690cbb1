import type { Manifest } from '../domain/manifest.js';
import { runFolder } from '../domain/object-layout.js';
import type { RunRecord } from '../domain/run.js';
import { storageUrlOf } from '../domain/storage-location.js';

/**
 * The record of a successful backup as its manifest describes it, at `location` (a storage
 * URL): what `catalog rebuild` writes, and what `list` shows of a backup the catalog does not know.
 */
export function backupRecordOf(location: string, manifestKey: string, manifest: Manifest): RunRecord {
  // A run's one whole-dump object; a chunked snapshot's index (what its run record's digest names).
  const data = manifest.objects.find((object) => object.role === 'data');
  const index = manifest.objects.find((object) => object.role === 'index');
  // What a chunked run stored itself: its index and the chunks it added (the rest are earlier runs').
  const stored = data?.sizeBytes ?? (manifest.snapshot && index ? manifest.snapshot.newStoredBytes + index.sizeBytes : undefined);
  return {
    runId: manifest.runId,
    job: manifest.job,
    kind: manifest.log ? 'log' : 'backup',
    status: 'succeeded',
    engine: manifest.source.engine,
    startedAt: manifest.startedAt,
    finishedAt: manifest.finishedAt,
    durationMs: Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt),
    bytesRaw: manifest.plaintextBytes,
    bytesStored: stored,
    sha256: (data ?? index)?.sha256,
    ...(manifest.snapshot ? { type: manifest.type ?? 'full' } : {}),
    ...(manifest.baseRunId ? { baseRunId: manifest.baseRunId } : {}),
    ...(manifest.log ? { log: manifest.log } : {}),
    location: storageUrlOf(location, runFolder(manifest.job, manifest.runId)),
    manifestKey,
  };
}

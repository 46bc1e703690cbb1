import type { StorageBackend } from '../ports/storage-backend.js';
import type { Manifest } from '../domain/manifest.js';
import { runFolder } from '../domain/object-layout.js';
import type { RunRecord } from '../domain/run.js';

/**
 * The record of a succeeded backup, from its manifest (the truth): what `catalog rebuild` writes,
 * and what settling writes for a run whose process died after it committed its manifest.
 */
export function backupRecordFromManifest(storage: StorageBackend, job: string, runId: string, key: string, manifest: Manifest): RunRecord {
  const [data] = manifest.objects;
  return {
    runId,
    job,
    kind: 'backup',
    status: 'succeeded',
    engine: manifest.source.engine,
    startedAt: manifest.startedAt,
    finishedAt: manifest.finishedAt,
    durationMs: Date.parse(manifest.finishedAt) - Date.parse(manifest.startedAt),
    bytesRaw: manifest.plaintextBytes,
    bytesStored: data?.sizeBytes,
    sha256: data?.sha256,
    location: `${storage.location}/${runFolder(job, runId)}`,
    manifestKey: key,
  };
}

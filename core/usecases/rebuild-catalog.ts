import type { Catalog } from '../ports/catalog.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { backupRecordOf } from './backup-record.js';
import { listBackupKeys, readManifest } from './locate-backup.js';

/**
 * Re-creates the catalog records of every backup from the manifests in storage (the truth).
 * Idempotent: runs already recorded as succeeded are left alone; others are (re)written.
 */
export async function rebuildCatalog(
  storage: StorageBackend,
  catalog: Catalog,
  options: { job?: string; signal?: AbortSignal } = {},
): Promise<{ recorded: number; unchanged: number }> {
  let recorded = 0;
  let unchanged = 0;
  const io = options.signal ? { signal: options.signal } : {};
  for (const { job, runId, key } of await listBackupKeys(storage, options.job, options.signal)) {
    const existing = await catalog.get(job, runId, io);
    if (existing?.status === 'succeeded') {
      unchanged++;
      continue;
    }
    const run = backupRecordOf(storage.location, key, await readManifest(storage, key, options.signal));
    if (existing) await catalog.update(run, io);
    else await catalog.create(run, io);
    recorded++;
  }
  return { recorded, unchanged };
}

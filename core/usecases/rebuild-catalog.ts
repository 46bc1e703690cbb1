import type { Catalog } from '../ports/catalog.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { listBackupKeys, readManifest } from './locate-backup.js';
import { backupRecordFromManifest } from './backup-record.js';

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
  for (const { job, runId, key } of await listBackupKeys(storage, options.job, options.signal)) {
    const existing = await catalog.get(job, runId);
    if (existing?.status === 'succeeded') {
      unchanged++;
      continue;
    }
    const manifest = await readManifest(storage, key, options.signal);
    const run = backupRecordFromManifest(storage, job, runId, key, manifest);
    if (existing) await catalog.update(run);
    else await catalog.create(run);
    recorded++;
  }
  return { recorded, unchanged };
}

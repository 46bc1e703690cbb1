import type { Catalog } from '../ports/catalog.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { runFolder } from '../domain/object-layout.js';
import type { RunRecord } from '../domain/run.js';
import { storageUrlOf } from '../domain/storage-location.js';
import { IntegrityError, NotFoundError, oneLine } from '../errors.js';
import { backupRecordOf } from './backup-record.js';
import { listBackupKeys, readManifest } from './locate-backup.js';
import { recordedAt } from './recorded-at.js';

export interface ListRunsOptions {
  readonly job?: string;
  /** Also the runs recorded at this location that are not backups there: failed or running backups, restores, verifies, log runs. */
  readonly all?: boolean;
  /** Also the log runs stored there (point-in-time recovery's archive), which a list leaves out by default. */
  readonly logs?: boolean;
  readonly signal?: AbortSignal;
}

export interface ListedRuns {
  /** Newest first. */
  readonly runs: readonly RunRecord[];
  /** Manifests found at the location that cannot be read as backups (damaged, copied from another folder), with why. */
  readonly unreadable: readonly { readonly key: string; readonly reason: string }[];
}

/**
 * What is at one storage location: its backups, found by listing the location itself (the
 * truth; a location that cannot be read rejects), each shown with its catalog record when the
 * catalog has one and from its manifest otherwise. A catalog may hold runs of many locations
 * (the local one is shared by every `s3://`, `gs://` and `azblob://` store): only the runs
 * recorded at this location are ever shown, so a list never mixes in another store's backups.
 */
export async function listRuns(storage: StorageBackend, catalog: Catalog, options: ListRunsOptions = {}): Promise<ListedRuns> {
  const { job, signal } = options;
  const stored = await listBackupKeys(storage, job, signal);
  const io = signal ? { signal } : {};
  const recorded = options.all ? await catalog.list({ job }, io) : [...(await catalog.list({ job, kind: 'backup', status: 'succeeded' }, io)), ...(options.logs ? await catalog.list({ job, kind: 'log', status: 'succeeded' }, io) : [])];
  const byRun = new Map(recorded.map((run) => [`${run.job}/${run.runId}`, run]));
  const runs: RunRecord[] = [];
  const unreadable: { key: string; reason: string }[] = [];
  for (const backup of stored) {
    if (backup.log && !options.all && !options.logs) continue;
    const folder = runFolder(backup.job, backup.runId);
    const known = byRun.get(`${backup.job}/${backup.runId}`);
    byRun.delete(`${backup.job}/${backup.runId}`);
    if ((known?.kind === 'backup' || known?.kind === 'log') && known.status === 'succeeded') {
      // The same run may have been written to several destinations: this is the copy here.
      runs.push({ ...known, location: storageUrlOf(storage.location, folder), manifestKey: backup.key });
      continue;
    }
    try {
      runs.push(backupRecordOf(storage.location, backup.key, await readManifest(storage, backup.key, signal)));
    } catch (error) {
      if (!(error instanceof IntegrityError || error instanceof NotFoundError)) throw error;
      unreadable.push({ key: backup.key, reason: oneLine(error) });
    }
  }
  if (options.all) runs.push(...[...byRun.values()].filter((run) => recordedAt(run, storage.location)));
  runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
  return { runs, unreadable };
}

/**
 * Whether a run was recorded at `location`: a backup into one of its run folders, or any run
 * recorded with the location itself (a restore or verify from it, a backup that failed before
 * it had a run folder).
 */

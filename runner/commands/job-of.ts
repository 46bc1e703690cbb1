import type { StorageBackend } from '../../core/ports/storage-backend.js';
import { listBackupKeys } from '../../core/usecases/locate-backup.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';

/** `--job`, or the one job the storage holds runs of: a store of several jobs needs the flag. */
export async function jobOf(storage: StorageBackend, job: string | undefined, signal?: AbortSignal): Promise<string> {
  if (job !== undefined) return job;
  const jobs = [...new Set((await listBackupKeys(storage, undefined, signal)).map((run) => run.job))];
  if (jobs.length > 1) throw new ConfigError(`${storage.location} holds runs of several jobs (${jobs.join(', ')}): say which with --job`);
  if (jobs.length === 0) throw new NotFoundError(`no backup in ${storage.location}`);
  return jobs[0]!;
}

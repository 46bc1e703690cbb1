import type { BackupType } from '../domain/manifest.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { oneLine } from '../errors.js';
import { runIdTime } from '../domain/run.js';
import { authenticateBackup, type TrustPolicy } from './authenticate-backup.js';
import { listBackupKeys, locatedAt, type LocatedBackup } from './locate-backup.js';

/** How many of a job's newest backups a differential looks through for the chain's full. */
const MAX_MANIFESTS_READ = 200;

/** The run a new chunked snapshot deduplicates against, or why there is none (the run is then a chunked full). */
export type SnapshotBase = { readonly base: LocatedBackup } | { readonly base?: undefined; readonly why: string };

/**
 * Finds the base of a `differential` (the job's newest chunked full) or `incremental` (its newest
 * chunked backup of any type) in `storage`, which is the truth: a run the catalog has not caught
 * up with still counts. The base must be signed by a key the runner trusts, its chunks ids made
 * under the same dedup key (`keyId`): otherwise there is no base, and the caller takes a full.
 */
export async function findSnapshotBase(
  storage: StorageBackend,
  request: { readonly job: string; readonly type: Exclude<BackupType, 'full'>; readonly keyId: string; readonly trust: TrustPolicy; readonly signal?: AbortSignal },
): Promise<SnapshotBase> {
  const { job, type, signal } = request;
  const keys = (await listBackupKeys(storage, job, signal)).slice(0, MAX_MANIFESTS_READ);
  for (const found of keys) {
    const { runId } = found;
    let located: LocatedBackup;
    try {
      located = await locatedAt(storage, found, signal);
    } catch (error) {
      return { why: `the newest backups of job ${job} cannot be read (${oneLine(error)})` };
    }
    const { manifest } = located;
    if (!manifest.snapshot) {
      // A single-object backup holds no chunks to share; the chain starts anew after it.
      return { why: `the newest ${type === 'differential' ? 'full ' : ''}backup of job ${job} (${runId}) is not a chunked snapshot` };
    }
    if (type === 'differential' && manifest.type !== 'full') continue;
    if (manifest.snapshot.chunkIds.keyId !== request.keyId) {
      return { why: `backup ${runId} of job ${job} was made under another dedup key (${manifest.snapshot.chunkIds.keyId}, this runner has ${request.keyId})` };
    }
    try {
      await authenticateBackup(storage, located, { ...request.trust, allowUnsigned: false }, { action: 'verify', signal });
    } catch (error) {
      return { why: `backup ${runId} of job ${job} is not signed by a key this runner trusts (${oneLine(error)})` };
    }
    return { base: located };
  }
  return { why: `job ${job} has no chunked ${type === 'differential' ? 'full ' : ''}backup yet in ${storage.location}` };
}

/** A scheduled chain's rhythm (the spec's `chain`). */
export interface ChainRhythm {
  readonly fullEveryMs: number;
  readonly differentialEveryMs?: number;
}

/**
 * The type a scheduled run of a chain takes, from what `storage` holds (so a missed or failed run
 * never breaks the rhythm): `full` when the newest chunked full is older than `fullEveryMs` (or
 * there is none), `differential` when the newest full or differential is older than
 * `differentialEveryMs`, else `type`. Ages are measured from run ids against `now`.
 */
export async function chainRunType(
  storage: StorageBackend,
  request: { readonly job: string; readonly type: BackupType; readonly rhythm: ChainRhythm; readonly now: Date; readonly signal?: AbortSignal },
): Promise<BackupType> {
  const { job, rhythm, now, signal } = request;
  let newestFull: Date | undefined;
  let newestFullOrDifferential: Date | undefined;
  for (const found of (await listBackupKeys(storage, job, signal)).slice(0, MAX_MANIFESTS_READ)) {
    const { manifest } = await locatedAt(storage, found, signal).catch(() => ({ manifest: undefined }));
    if (!manifest?.snapshot) continue;
    const at = runIdTime(manifest.runId);
    if (manifest.type !== 'incremental') newestFullOrDifferential ??= at;
    if (manifest.type === 'full') {
      newestFull = at;
      break;
    }
  }
  const age = (at: Date | undefined) => (at ? now.getTime() - at.getTime() : Infinity);
  if (age(newestFull) >= rhythm.fullEveryMs) return 'full';
  if (rhythm.differentialEveryMs !== undefined && age(newestFullOrDifferential) >= rhythm.differentialEveryMs) return 'differential';
  return request.type;
}

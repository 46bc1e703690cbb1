import type { Catalog } from '../ports/catalog.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { baseLogPositionOf, type LogKind } from '../domain/log-archive.js';
import type { ArchivedRange, BaseAt } from '../domain/log-chain.js';
import { manifestKey } from '../domain/object-layout.js';
import type { RunRecord } from '../domain/run.js';
import { IntegrityError, NotFoundError, oneLine } from '../errors.js';
import { readManifest } from './locate-backup.js';
import { recordedAt } from './recorded-at.js';

/**
 * What the job's archive holds, for planning: its log ranges and its bases, from the catalog
 * (fast: a push every five minutes makes thousands of log runs), each base's log position from
 * its manifest. Restores then check every manifest they use against its signature
 * (restore-at.ts): the catalog proposes, the signed manifests decide.
 */
export interface ArchiveDependencies {
  readonly catalog: Catalog;
  readonly storage: StorageBackend;
}

export interface ArchiveBase extends BaseAt {
  /** The base's record (its location, type). */
  readonly run: RunRecord;
}

/** The job's succeeded log runs of `kind` stored at this storage location, as ranges. */
export async function archivedRanges(deps: ArchiveDependencies, job: string, kind: LogKind, signal?: AbortSignal): Promise<ArchivedRange[]> {
  const runs = await deps.catalog.list({ job, kind: 'log', status: 'succeeded' }, signal ? { signal } : {});
  return runs.filter((run) => run.log?.kind === kind && run.prunedAt === undefined && recordedAt(run, deps.storage.location)).map((run) => ({ runId: run.runId, range: run.log! }));
}

/**
 * The job's bases for `kind`, newest first: succeeded backups whose manifests record a position in
 * that log (a logical PostgreSQL dump records none: it can never be a WAL base). `limit` stops
 * after that many found. Manifests that cannot be read are skipped, with why, in `skipped`.
 */
export async function archiveBases(
  deps: ArchiveDependencies,
  job: string,
  kind: LogKind,
  options: { readonly limit?: number; readonly signal?: AbortSignal; readonly skipped?: string[] } = {},
): Promise<ArchiveBase[]> {
  const io = options.signal ? { signal: options.signal } : {};
  const runs = (await deps.catalog.list({ job, kind: 'backup', status: 'succeeded' }, io)).filter((run) => run.prunedAt === undefined && recordedAt(run, deps.storage.location));
  const bases: ArchiveBase[] = [];
  for (const run of runs) {
    if (options.limit !== undefined && bases.length >= options.limit) break;
    try {
      const manifest = await readManifest(deps.storage, run.manifestKey ?? manifestKey(run.job, run.runId), options.signal);
      const position = baseLogPositionOf(manifest.dump.details);
      if (position?.kind === kind) bases.push({ runId: run.runId, position, run });
    } catch (error) {
      if (!(error instanceof IntegrityError || error instanceof NotFoundError)) throw error;
      options.skipped?.push(`backup ${run.runId}: ${oneLine(error)}`);
    }
  }
  return bases;
}

/** The newest base's position in the `kind` log, where a job's first push starts. */
export async function newestBasePosition(deps: ArchiveDependencies, job: string, kind: LogKind, signal?: AbortSignal): Promise<BaseAt['position'] | undefined> {
  return (await archiveBases(deps, job, kind, { limit: 1, ...(signal ? { signal } : {}) }))[0]?.position;
}

import { gapsAfter, reachableWindows, reachOf, type Gap, type Window } from '../domain/log-chain.js';
import { logKindSchema, type LogKind } from '../domain/log-archive.js';
import { NotFoundError } from '../errors.js';
import { archiveBases, archivedRanges, type ArchiveDependencies } from './log-chain.js';

export interface BaseReach {
  readonly runId: string;
  /** The earliest and latest time a restore from this base reaches (absent: it cannot become consistent with what is archived). */
  readonly from?: Date;
  readonly until?: Date;
  /** Log runs its chain replays to reach `until`. */
  readonly ranges: number;
}

export interface LogArchiveReport {
  readonly job: string;
  readonly kind: LogKind;
  /** Log runs of the job at this storage location. */
  readonly ranges: number;
  /** The newest time the archive covers (the last range's `coveredUntil`). */
  readonly coveredUntil?: Date;
  readonly bases: readonly BaseReach[];
  readonly windows: readonly Window[];
  /** Breaks in the archive after the oldest base; none is what a healthy archive has. */
  readonly gaps: readonly Gap[];
  /** Bases whose manifests could not be read, with why. */
  readonly skipped: readonly string[];
  /** No gap, and every base reaches a consistent point. */
  readonly ok: boolean;
}

/**
 * `vaultra logs verify` (WAL-G's `wal-verify` is the model): checks that the job's archived log
 * ranges are contiguous from each base — every range continues the one before it, from the
 * oldest base's position on — and reports each base's reachable window and every gap (the server
 * purged log before it was archived, or a range is missing). Reads the catalog and the bases'
 * manifests; the log objects themselves are checked by `vaultra verify <log run>`.
 */
export async function verifyLogArchive(deps: ArchiveDependencies, request: { readonly job: string; readonly kind?: LogKind; readonly signal?: AbortSignal }): Promise<LogArchiveReport> {
  const io = request.signal ? { signal: request.signal } : {};
  const kind = request.kind ?? (await archiveKind(deps, request.job, request.signal));
  const skipped: string[] = [];
  const [bases, ranges] = await Promise.all([archiveBases(deps, request.job, kind, { skipped, ...io }), archivedRanges(deps, request.job, kind, request.signal)]);
  const reaches = bases.map((base) => reachOf(base, ranges));
  const oldest = bases.at(-1);
  const gaps = oldest ? gapsAfter(oldest, ranges) : [];
  const coveredUntil = ranges.reduce<Date | undefined>((latest, r) => (!latest || new Date(r.range.coveredUntil) > latest ? new Date(r.range.coveredUntil) : latest), undefined);
  return {
    job: request.job,
    kind,
    ranges: ranges.length,
    ...(coveredUntil ? { coveredUntil } : {}),
    bases: reaches.map((reach) => ({ runId: reach.base.runId, ...(reach.from ? { from: reach.from } : {}), ...(reach.until ? { until: reach.until } : {}), ranges: reach.chain.length })),
    windows: reachableWindows(reaches),
    gaps,
    skipped,
    ok: gaps.length === 0 && bases.length > 0 && reaches.every((reach) => reach.from !== undefined),
  };
}

/** The log kind of the job's archive, from its newest log run. */
async function archiveKind(deps: ArchiveDependencies, job: string, signal?: AbortSignal): Promise<LogKind> {
  const [newest] = await deps.catalog.list({ job, kind: 'log', status: 'succeeded', limit: 1 }, signal ? { signal } : {});
  if (!newest?.log) throw new NotFoundError(`job ${job} has no archived log in the catalog of ${deps.storage.location}: push it with vaultra logs push <source-url> --job ${job}`);
  return logKindSchema.parse(newest.log.kind);
}

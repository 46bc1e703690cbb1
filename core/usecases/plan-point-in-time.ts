import type { LogKind } from '../domain/log-archive.js';
import { baseFor, chainTo, reachableWindows, reachOf, type ArchivedRange, type Reach, type Window } from '../domain/log-chain.js';
import { NotFoundError } from '../errors.js';
import { archiveBases, archivedRanges, type ArchiveBase, type ArchiveDependencies } from './log-chain.js';

/** What a restore to a time does: which base, which log ranges, up to when. */
export interface PointInTimePlan {
  readonly job: string;
  readonly kind: LogKind;
  /** The time asked for (`latest`: the end of the newest reach). */
  readonly at: Date;
  readonly base: ArchiveBase;
  /** The ranges replayed after the base, in order. */
  readonly ranges: readonly ArchivedRange[];
  /** Every stretch of time the archive can restore to, oldest first. */
  readonly windows: readonly Window[];
  /** Manifests of bases that could not be read, with why (they were left out). */
  readonly skipped: readonly string[];
}

/**
 * Plans a restore of `job` to `at`: the newest base whose archived log reaches `at` (from its
 * consistent point through contiguous ranges), and the ranges to replay. A time the archive cannot
 * reach — before the first base, after the last archived range, inside a gap — is refused with
 * `NotFoundError` naming the nearest reachable times, before anything is restored.
 */
export async function planPointInTime(
  deps: ArchiveDependencies,
  request: {
    readonly job: string;
    readonly kind: LogKind;
    /** `consistent`: the base's own consistent point (a physical base restored without a time). */
    readonly at: Date | 'latest' | 'consistent';
    /** Only this base (a run id). */
    readonly baseRunId?: string;
    readonly signal?: AbortSignal;
  },
): Promise<PointInTimePlan> {
  const skipped: string[] = [];
  const [bases, ranges] = await Promise.all([
    archiveBases(deps, request.job, request.kind, { skipped, ...(request.signal ? { signal: request.signal } : {}) }),
    archivedRanges(deps, request.job, request.kind, request.signal),
  ]);
  if (bases.length === 0) {
    throw new NotFoundError(`job ${request.job} has no base backup that records its ${request.kind} position in ${deps.storage.location}: ${baseAdvice(request.kind)}`);
  }
  const candidates = request.baseRunId ? bases.filter((base) => base.runId === request.baseRunId) : bases;
  if (candidates.length === 0) throw new NotFoundError(`backup ${request.baseRunId} of job ${request.job} records no ${request.kind} position: it cannot be a base for the log`);
  const reaches = candidates.map((base) => reachOf(base, ranges));
  const windows = reachableWindows(reaches);
  const at = request.at === 'latest' ? windows.at(-1)?.until : request.at === 'consistent' ? reaches[0]?.from : request.at;
  const chosen = at ? baseFor(reaches, at) : undefined;
  if (!at || !chosen) throw new NotFoundError(unreachableMessage(request.job, request.at === 'consistent' ? 'latest' : request.at, windows));
  return { job: request.job, kind: request.kind, at, base: chosen.base as ArchiveBase, ranges: chainTo(chosen as Reach, at), windows, skipped };
}

function baseAdvice(kind: LogKind): string {
  if (kind === 'wal') return 'take one with vaultra backup <postgres-url> --method physical (a logical dump is never a WAL base)';
  return 'take a full backup (it records its log position), then push the log with vaultra logs push';
}

/** Why `at` cannot be reached, and the nearest times that can. */
export function unreachableMessage(job: string, at: Date | 'latest', windows: readonly Window[]): string {
  if (windows.length === 0) return `job ${job} cannot be restored to any time yet: no base has the log it needs archived (vaultra logs verify --job ${job} says what is missing)`;
  const list = windows.map((w) => `${isoCeil(w.from)} … ${iso(w.until)}`).join(', ');
  if (at === 'latest') return `job ${job}: no reachable time (archive: ${list})`;
  const before = [...windows].reverse().find((w) => w.until < at);
  const after = windows.find((w) => w.from > at);
  const nearest = [before ? `${iso(before.until)} before it` : undefined, after ? `${isoCeil(after.from)} after it` : undefined].filter(Boolean).join(', ');
  const why = !before ? 'it is before the first base' : !after ? 'it is after the last archived log' : 'it falls in a gap of the archived log';
  return `job ${job} cannot be restored to ${iso(at)}: ${why}; nearest reachable: ${nearest} (reachable: ${list})`;
}

/** Second precision, UTC, what a user types back: an end rounded down and a start rounded up stay inside their window. */
function iso(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isoCeil(date: Date): string {
  return iso(new Date(Math.ceil(date.getTime() / 1000) * 1000));
}

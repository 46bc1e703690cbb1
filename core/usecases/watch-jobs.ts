import type { Catalog, CatalogCallOptions } from '../ports/catalog.js';
import type { Alert } from '../ports/notifier.js';
import type { Environment, ScheduledJob } from '../config/environments.js';
import type { RunRecord } from '../domain/run.js';
import { logGapAlert, logLagAlert, rpoBreachAlert, runStuckAlert } from './alerts.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { logPushLockName } from '../config/log-schedule.js';
import type { LogRange } from '../domain/log-archive.js';

export interface WatchDependencies {
  readonly environment: Environment;
  readonly catalog: Catalog;
  readonly notify: (alert: Alert) => Promise<unknown>;
  /** @default systemClock */
  readonly now?: Clock;
}

export interface JobHealth {
  readonly job: string;
  /** Time since the newest successful backup (or, before the first one, since the job's first run); `undefined` for a job that never ran. */
  readonly secondsSinceLastSuccess: number | undefined;
  readonly rpoBreached: boolean;
  /** The engine the newest successful backup recorded (`postgres`, …); `undefined` before the first one. */
  readonly engine?: string;
  /** Runs found `pending`/`running` past their timeout, now recorded as failed. */
  readonly stuckRuns: readonly string[];
  /** Jobs with `logs` only: how the archived log keeps up with the server. */
  readonly logs?: LogHealth;
}

export interface LogHealth {
  /**
   * Seconds of the server's log not yet archived: now − the newest log push's `coveredUntil`
   * (before the first push, now − the newest backup's end); `undefined` with neither.
   */
  readonly lagSeconds: number | undefined;
  readonly lagBreached: boolean;
  /** The newest log push since the newest backup that found log lost before it was archived. */
  readonly gap?: { readonly runId: string; readonly from: string; readonly to: string };
}

/** How long past its timeout a run may stay unfinished before it counts as stuck: task-stop events can lag. */
const STUCK_GRACE_MS = 15 * 60_000;

/**
 * The watchdog (DESIGN.md §7): for every enabled job, the time since its newest successful
 * backup against its RPO — the silent failure that hurts most is the backup that never ran — and
 * runs stuck in `pending`/`running` past their timeout, which it fails (releasing the job's lock)
 * and alerts on. For a job with `logs`, also how far its archived log lags the server (`log-lag`
 * past the log RPO) and whether log was lost before it was archived since the newest backup
 * (`log-gap`). Each condition raises one alert per job per check, and repeats on every check
 * while it lasts: a page that fires once and goes quiet is how breaches get forgotten.
 */
export async function watchJobs(deps: WatchDependencies, options: { readonly signal?: AbortSignal } = {}): Promise<JobHealth[]> {
  const io: CatalogCallOptions = options.signal ? { signal: options.signal } : {};
  const now = (deps.now ?? systemClock)();
  const health: JobHealth[] = [];
  for (const job of deps.environment.jobs.filter((candidate) => candidate.enabled)) {
    const stuckRuns = await failStuckRuns(deps, job, now, io);
    const lastSuccess = await deps.catalog.latestSuccessful(job.name, io);
    const ageMs = await rpoAgeMs(deps.catalog, job.name, lastSuccess, now, io);
    const rpoBreached = ageMs !== undefined && ageMs > job.rpoMs;
    if (rpoBreached) await deps.notify(rpoBreachAlert(deps.environment.name, job.name, job.rpoMs, lastSuccess, ageMs, now));
    const logs = job.logs ? await watchLogs(deps, job, job.logs.rpoMs, lastSuccess, now, io) : undefined;
    health.push({ job: job.name, secondsSinceLastSuccess: ageMs === undefined ? undefined : Math.round(ageMs / 1000), rpoBreached, ...(lastSuccess?.engine ? { engine: lastSuccess.engine } : {}), stuckRuns, ...(logs ? { logs } : {}) });
  }
  return health;
}

async function failStuckRuns(deps: WatchDependencies, job: ScheduledJob, now: Date, io: CatalogCallOptions): Promise<string[]> {
  const unfinished: RunRecord[] = [
    ...(await deps.catalog.list({ job: job.name, status: 'running' }, io)),
    ...(await deps.catalog.list({ job: job.name, status: 'pending' }, io)),
  ];
  // A log push has its own, shorter timeout and its own lock.
  const timeoutOf = (run: RunRecord) => (run.kind === 'log' && job.logs ? job.logs.timeoutMs : job.timeoutMs);
  const stuck = unfinished.filter((run) => now.getTime() - Date.parse(run.startedAt) > timeoutOf(run) + STUCK_GRACE_MS);
  for (const run of stuck) {
    const failed: RunRecord = {
      ...run,
      status: 'failed',
      finishedAt: now.toISOString(),
      durationMs: now.getTime() - Date.parse(run.startedAt),
      error: { kind: 'timeout', message: `no completion reported within the job's timeout; the run was ${run.status}` },
    };
    await deps.catalog.update(failed, io);
    await deps.catalog.releaseLock(run.kind === 'log' ? logPushLockName(job.name) : job.name, run.runId, io);
    await deps.notify(runStuckAlert(deps.environment.name, run, timeoutOf(run), now));
  }
  return stuck.map((run) => run.runId);
}

type GappedRun = RunRecord & { log: LogRange & { gapFrom: string } };

function hasGap(run: RunRecord): run is GappedRun {
  return run.log?.gapFrom !== undefined;
}

/**
 * The log side of a job's health. Lag: the newest successful push's `coveredUntil` (every change
 * before it is archived); with no push yet, the newest backup's end, so a job whose pushes never
 * worked alerts once its backup is older than the log RPO. Gap: any successful push since the
 * newest backup that recorded `gapFrom` — a restore from that backup cannot cross it; the next
 * backup ends the condition.
 */
async function watchLogs(deps: WatchDependencies, job: ScheduledJob, rpoMs: number, base: RunRecord | undefined, now: Date, io: CatalogCallOptions): Promise<LogHealth> {
  const { sinceBase, newestPush } = await logPushesOf(deps.catalog, job.name, base, io);
  const lagMs = logLagMs(newestPush, base, now);
  const lagBreached = lagMs !== undefined && lagMs > rpoMs;
  if (lagBreached) await deps.notify(logLagAlert(deps.environment.name, job.name, rpoMs, newestPush, lagMs, now));
  // With no backup yet, no restore depends on older pushes: the newest one alone says whether log is being lost.
  const gapped = (base ? sinceBase : newestPush ? [newestPush] : []).find(hasGap);
  if (gapped) await deps.notify(logGapAlert(deps.environment.name, gapped, now));
  return {
    lagSeconds: lagMs === undefined ? undefined : Math.round(lagMs / 1000),
    lagBreached,
    ...(gapped ? { gap: { runId: gapped.runId, from: gapped.log.gapFrom, to: gapped.log.start } } : {}),
  };
}

/**
 * The age a job's RPO is measured on: since its newest successful backup's end or, before the
 * first one, since its first run; `undefined` for a job that never ran. Read-only: what the
 * watchdog alerts on and what `vaultra status` shows.
 */
export async function rpoAgeMs(catalog: Catalog, job: string, lastSuccess: RunRecord | undefined, now: Date, io: CatalogCallOptions = {}): Promise<number | undefined> {
  const since = lastSuccess ? Date.parse(lastSuccess.finishedAt ?? lastSuccess.startedAt) : await firstRunTime(catalog, job, io);
  return since === undefined ? undefined : Math.max(0, now.getTime() - since);
}

/** A job's successful log pushes since `base` (newest first), and its newest push (since `base`, else ever). Read-only. */
export async function logPushesOf(catalog: Catalog, job: string, base: RunRecord | undefined, io: CatalogCallOptions = {}): Promise<{ sinceBase: RunRecord[]; newestPush: RunRecord | undefined }> {
  const query = { job, kind: 'log', status: 'succeeded' } as const;
  const sinceBase = base ? await catalog.list({ ...query, since: base.startedAt }, io) : [];
  const newestPush = sinceBase[0] ?? (await catalog.list({ ...query, limit: 1 }, io))[0];
  return { sinceBase, newestPush };
}

/** How far the archived log lags `now`: since the newest push's `coveredUntil`, else the backup's end; `undefined` with neither. Pure. */
export function logLagMs(newestPush: RunRecord | undefined, base: RunRecord | undefined, now: Date): number | undefined {
  const archivedUntil = newestPush ? Date.parse(newestPush.log?.coveredUntil ?? newestPush.finishedAt ?? newestPush.startedAt) : base ? Date.parse(base.finishedAt ?? base.startedAt) : undefined;
  return archivedUntil === undefined ? undefined : Math.max(0, now.getTime() - archivedUntil);
}

/** When a job that never succeeded first ran: the clock of its RPO starts there, not at deploy time (unknown here). */
async function firstRunTime(catalog: Catalog, job: string, io: CatalogCallOptions): Promise<number | undefined> {
  const runs = await catalog.list({ job }, io);
  const oldest = runs.at(-1);
  return oldest ? Date.parse(oldest.startedAt) : undefined;
}

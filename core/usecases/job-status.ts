import type { Catalog, CatalogCallOptions } from '../ports/catalog.js';
import type { Environment, ScheduledJob } from '../config/environments.js';
import type { RunRecord } from '../domain/run.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { nextFireTimes } from '../config/schedule.js';
import { logLagMs, logPushesOf, rpoAgeMs } from './watch-jobs.js';

/**
 * Where a job stands: `ok` within its RPO (and its log RPO), `late` past one of them, `never`
 * no run recorded at all (nothing proves the job works), `disabled` not scheduled (not judged).
 */
export type JobState = 'ok' | 'late' | 'never' | 'disabled';

export interface JobStatus {
  readonly job: string;
  readonly state: JobState;
  readonly rpoMs: number;
  /** The newest successful backup (with the engine it recorded), or `undefined`. */
  readonly lastSuccess?: { readonly runId: string; readonly at: string; readonly engine?: string };
  /** Age the RPO is measured on (the watchdog's: since the last success, else since the first run). */
  readonly ageMs?: number;
  readonly rpoBreached: boolean;
  /** The newest failed backup, with its one-line reason. */
  readonly lastFailure?: { readonly runId: string; readonly at: string; readonly reason: string };
  /** Runs `pending` or `running` now (backups and log pushes). */
  readonly running: readonly { readonly runId: string; readonly kind: string; readonly status: string; readonly startedAt: string }[];
  /** The next fire time of the job's schedule, as an instant (UTC ISO 8601); none for a disabled job. */
  readonly nextRun?: string;
  /** The newest restore drill (vaultra drill): its outcome and measured RTO against the job's budget. */
  readonly lastDrill?: { readonly runId: string; readonly at: string; readonly status: string; readonly rtoMs?: number; readonly rtoBudgetMs?: number };
  /** Jobs with `logs` only: the archived log's lag against the log RPO. */
  readonly logs?: { readonly lagMs?: number; readonly rpoMs: number; readonly lagBreached: boolean };
}

export interface StatusDependencies {
  readonly catalog: Catalog;
  /** @default systemClock */
  readonly now?: Clock;
}

/**
 * Every job of `environment` as the catalog records it, read-only: unlike the watchdog
 * (`watchJobs`), it fails no stuck run and sends no alert, but measures the RPO with the same
 * functions, so `vaultra status` and the watchdog cannot disagree on who is late.
 */
export async function jobStatuses(environment: Environment, deps: StatusDependencies, options: { readonly signal?: AbortSignal } = {}): Promise<JobStatus[]> {
  const io: CatalogCallOptions = options.signal ? { signal: options.signal } : {};
  const now = (deps.now ?? systemClock)();
  const statuses: JobStatus[] = [];
  for (const job of environment.jobs) statuses.push(await statusOf(job, deps.catalog, now, io));
  return statuses;
}

/** True when every enabled job is within its RPO (what `vaultra status` exits 0 on). */
export function allWithinRpo(statuses: readonly JobStatus[]): boolean {
  return statuses.every((status) => status.state === 'ok' || status.state === 'disabled');
}

async function statusOf(job: ScheduledJob, catalog: Catalog, now: Date, io: CatalogCallOptions): Promise<JobStatus> {
  const lastSuccess = await catalog.latestSuccessful(job.name, io);
  const ageMs = await rpoAgeMs(catalog, job.name, lastSuccess, now, io);
  const rpoBreached = ageMs !== undefined && ageMs > job.rpoMs;
  const [lastFailure] = await catalog.list({ job: job.name, kind: 'backup', status: 'failed', limit: 1 }, io);
  const unfinished = [...(await catalog.list({ job: job.name, status: 'running' }, io)), ...(await catalog.list({ job: job.name, status: 'pending' }, io))];
  const [lastDrill] = await catalog.list({ job: job.name, kind: 'drill', limit: 1 }, io);
  const logs = job.logs ? await logStatus(catalog, job.name, job.logs.rpoMs, lastSuccess, now, io) : undefined;
  const [next] = job.enabled ? nextFireTimes(job.schedule.cron, job.schedule.timeZone, now, 1) : [];
  const state: JobState = !job.enabled ? 'disabled' : ageMs === undefined ? 'never' : rpoBreached || logs?.lagBreached ? 'late' : 'ok';
  return {
    job: job.name,
    state,
    rpoMs: job.rpoMs,
    ...(lastSuccess ? { lastSuccess: { runId: lastSuccess.runId, at: endOf(lastSuccess), ...(lastSuccess.engine ? { engine: lastSuccess.engine } : {}) } } : {}),
    ...(ageMs !== undefined ? { ageMs } : {}),
    rpoBreached,
    ...(lastFailure ? { lastFailure: { runId: lastFailure.runId, at: endOf(lastFailure), reason: lastFailure.error?.message ?? 'no reason recorded' } } : {}),
    running: unfinished.map((run) => ({ runId: run.runId, kind: run.kind, status: run.status, startedAt: run.startedAt })),
    ...(next ? { nextRun: next.toISOString() } : {}),
    ...(lastDrill ? { lastDrill: drillSummary(lastDrill) } : {}),
    ...(logs ? { logs } : {}),
  };
}

async function logStatus(catalog: Catalog, job: string, rpoMs: number, base: RunRecord | undefined, now: Date, io: CatalogCallOptions): Promise<NonNullable<JobStatus['logs']>> {
  const { newestPush } = await logPushesOf(catalog, job, base, io);
  const lagMs = logLagMs(newestPush, base, now);
  return { ...(lagMs !== undefined ? { lagMs } : {}), rpoMs, lagBreached: lagMs !== undefined && lagMs > rpoMs };
}

function drillSummary(run: RunRecord): NonNullable<JobStatus['lastDrill']> {
  const budget = run.drill?.rtoBudgetMs;
  return { runId: run.runId, at: endOf(run), status: run.status, ...(run.drill?.phasesMs.restore === undefined ? {} : { rtoMs: run.drill.rtoMs }), ...(budget === undefined ? {} : { rtoBudgetMs: budget }) };
}

function endOf(run: RunRecord): string {
  return run.finishedAt ?? run.startedAt;
}

import type { Catalog, CatalogCallOptions } from '../ports/catalog.js';
import type { Alert } from '../ports/notifier.js';
import type { Environment, ScheduledJob } from '../config/environments.js';
import type { RunRecord } from '../domain/run.js';
import { rpoBreachAlert, runStuckAlert } from './alerts.js';
import { systemClock, type Clock } from '../domain/clock.js';

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
  /** Runs found `pending`/`running` past their timeout, now recorded as failed. */
  readonly stuckRuns: readonly string[];
}

/** How long past its timeout a run may stay unfinished before it counts as stuck: task-stop events can lag. */
const STUCK_GRACE_MS = 15 * 60_000;

/**
 * The watchdog (DESIGN.md §7): for every enabled job, the time since its newest successful
 * backup against its RPO — the silent failure that hurts most is the backup that never ran — and
 * runs stuck in `pending`/`running` past their timeout, which it fails (releasing the job's lock)
 * and alerts on. Alerts repeat on every check while a breach lasts: a page that fires once and
 * goes quiet is how breaches get forgotten.
 */
export async function watchJobs(deps: WatchDependencies, options: { readonly signal?: AbortSignal } = {}): Promise<JobHealth[]> {
  const io: CatalogCallOptions = options.signal ? { signal: options.signal } : {};
  const now = (deps.now ?? systemClock)();
  const health: JobHealth[] = [];
  for (const job of deps.environment.jobs.filter((candidate) => candidate.enabled)) {
    const stuckRuns = await failStuckRuns(deps, job, now, io);
    const lastSuccess = await deps.catalog.latestSuccessful(job.name, io);
    const since = lastSuccess ? Date.parse(lastSuccess.finishedAt ?? lastSuccess.startedAt) : await firstRunTime(deps.catalog, job.name, io);
    const ageMs = since === undefined ? undefined : Math.max(0, now.getTime() - since);
    const rpoBreached = ageMs !== undefined && ageMs > job.rpoMs;
    if (rpoBreached) await deps.notify(rpoBreachAlert(deps.environment.name, job.name, job.rpoMs, lastSuccess, ageMs, now));
    health.push({ job: job.name, secondsSinceLastSuccess: ageMs === undefined ? undefined : Math.round(ageMs / 1000), rpoBreached, stuckRuns });
  }
  return health;
}

async function failStuckRuns(deps: WatchDependencies, job: ScheduledJob, now: Date, io: CatalogCallOptions): Promise<string[]> {
  const unfinished: RunRecord[] = [
    ...(await deps.catalog.list({ job: job.name, status: 'running' }, io)),
    ...(await deps.catalog.list({ job: job.name, status: 'pending' }, io)),
  ];
  const stuck = unfinished.filter((run) => now.getTime() - Date.parse(run.startedAt) > job.timeoutMs + STUCK_GRACE_MS);
  for (const run of stuck) {
    const failed: RunRecord = {
      ...run,
      status: 'failed',
      finishedAt: now.toISOString(),
      durationMs: now.getTime() - Date.parse(run.startedAt),
      error: { kind: 'timeout', message: `no completion reported within the job's timeout; the run was ${run.status}` },
    };
    await deps.catalog.update(failed, io);
    await deps.catalog.releaseLock(job.name, run.runId, io);
    await deps.notify(runStuckAlert(deps.environment.name, run, job.timeoutMs, now));
  }
  return stuck.map((run) => run.runId);
}

/** When a job that never succeeded first ran: the clock of its RPO starts there, not at deploy time (unknown here). */
async function firstRunTime(catalog: Catalog, job: string, io: CatalogCallOptions): Promise<number | undefined> {
  const runs = await catalog.list({ job }, io);
  const oldest = runs.at(-1);
  return oldest ? Date.parse(oldest.startedAt) : undefined;
}

/**
 * The dispatcher timer → Container Apps job executions (DESIGN.md §1, §7). Azure timers take one
 * NCRONTAB schedule and one time zone per function app, but each job has its own cron and time
 * zone: so one timer ticks every five minutes and starts every (job, fire time) that fell in the
 * last twenty (`dueRuns`), and every log catch-up of a job with `logs` due in that window (at the
 * multiples of `logs.every` since midnight UTC), and every restore drill of a job with
 * `drill.schedule` (its job's drill Container Apps job, docs/drills.md). A fire time seen by
 * several ticks has one run id (`scheduledRunId`, `logPushRunId`, `drillRunId`), and the
 * catalog's conditional create makes every later start a `duplicate`: a late, missed or repeated
 * tick starts nothing twice.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import { systemClock, type Clock } from '../../core/domain/clock.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { redact } from '../../core/domain/redact.js';
import { oneLine } from '../../core/errors.js';
import { dueRuns, type DueRun } from '../../core/usecases/due-runs.js';
import { startBackup, type StartBackupDependencies, type StartBackupOutcome, type StartBackupRequest } from '../../core/usecases/start-backup.js';
import { logPushRunId, startLogPush } from '../../core/usecases/start-log-push.js';
import { drillRunId, startDrill } from '../../core/usecases/start-drill.js';
import { azureSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, credentialOf, launcherOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { alerting, logLine, traceEnvironment } from './shared/invocation.js';

/** NCRONTAB (with seconds): every five minutes. */
export const DISPATCH_SCHEDULE = '0 */5 * * * *';
/** How far back each tick looks: four ticks, so three in a row may be late or lost. */
export const DISPATCH_LOOKBACK_MS = 20 * 60_000;
/** Starts in flight at once: a busy minute (every job at 03:00) must fit in the function's timeout. */
const START_CONCURRENCY = 4;

/** Per kind of due run: its run id, how it starts, and the log line that reports it. */
const STARTS: Readonly<
  Record<DueRun['kind'], { readonly runId: (job: string, scheduledTime: string) => string; readonly start: (deps: StartBackupDependencies, request: StartBackupRequest) => Promise<StartBackupOutcome>; readonly message: string }>
> = {
  backup: { runId: scheduledRunId, start: startBackup, message: 'scheduled backup' },
  log: { runId: logPushRunId, start: startLogPush, message: 'scheduled log push' },
  drill: { runId: drillRunId, start: startDrill, message: 'scheduled drill' },
};

export interface DispatchOptions {
  /** @default DISPATCH_LOOKBACK_MS */
  readonly lookbackMs?: number;
  /** The tick's notion of now: the window's end, and the clock of every start it makes. @default the deployment's clock */
  readonly now?: Clock;
}

export interface DispatchedRun {
  readonly job: string;
  /** A backup, a log catch-up (`logs.every`) or a restore drill (`drill.schedule`). */
  readonly kind: DueRun['kind'];
  readonly scheduledTime: string;
  readonly runId: string;
  readonly outcome: StartBackupOutcome['outcome'] | 'error';
  readonly taskId?: string;
  readonly error?: string;
}

export interface DispatchResult {
  readonly window: { readonly from: string; readonly to: string };
  readonly runs: DispatchedRun[];
}

export function createHandler(deployment: () => Promise<LaunchingDeployment>, options: DispatchOptions = {}) {
  return async (timer: Timer, context: InvocationContext): Promise<DispatchResult> => {
    const deps = await deployment();
    const now = options.now ?? deps.now ?? systemClock;
    const to = now();
    const from = new Date(to.getTime() - (options.lookbackMs ?? DISPATCH_LOOKBACK_MS));
    if (timer.isPastDue) context.warn(logLine('dispatch tick is late', { from: from.toISOString(), to: to.toISOString(), lastTick: timer.scheduleStatus?.last }));
    const launching = { ...deps, now, notify: alerting(deps.notify, context) };
    const runnerEnvironment = traceEnvironment(context.traceContext?.traceParent);

    const start = async ({ job, kind, scheduledTime }: DueRun): Promise<DispatchedRun> => {
      const runId = STARTS[kind].runId(job.name, scheduledTime);
      try {
        const result = await STARTS[kind].start(launching, { job, runId, runnerEnvironment });
        return { job: job.name, kind, scheduledTime, runId, outcome: result.outcome, ...(result.outcome === 'started' ? { taskId: result.taskId } : {}) };
      } catch (error) {
        // Nothing was recorded (the catalog refused the pending run): the next tick tries again.
        return { job: job.name, kind, scheduledTime, runId, outcome: 'error', error: redact(oneLine(error)) };
      }
    };
    const runs = await mapConcurrently(dueRuns(deps.environment.jobs, { from, to }), START_CONCURRENCY, start);

    for (const run of runs) {
      if (run.outcome === 'duplicate') continue;
      const line = logLine(STARTS[run.kind].message, run);
      // A skipped log push is the previous one still catching up: routine, not a warning.
      if (run.outcome === 'started' || (run.kind === 'log' && run.outcome === 'skipped')) context.log(line);
      else if (run.outcome === 'skipped') context.warn(line);
      else context.error(line);
    }
    const errors = runs.filter((run) => run.outcome === 'error');
    context.log(logLine('dispatch', { from: from.toISOString(), to: to.toISOString(), due: runs.length, started: runs.filter((run) => run.outcome === 'started').length, errors: errors.length }));
    // A failed invocation is what the host counts and alerts on; the next tick retries these runs.
    if (errors.length > 0) throw new Error(`${errors.length} of ${runs.length} due runs could not be recorded: ${errors[0]!.error}`);
    return { window: { from: from.toISOString(), to: to.toISOString() }, runs };
  };
}

/** `work` over `items`, at most `limit` at a time, results in the order of `items`. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export const handler = createHandler(
  cached(() => {
    const s = azureSettingsFromEnv();
    return { environment: s.environment, target: s.target, catalog: catalogOf(s), notify: notifyOf(s), launcher: launcherOf(s, credentialOf(s)) };
  }),
);

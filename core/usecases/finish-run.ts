import type { Catalog } from '../ports/catalog.js';
import type { Alert } from '../ports/notifier.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { Environment, ScheduledJob } from '../config/environments.js';
import type { RunRecord } from '../domain/run.js';
import { manifestKey, runFolder } from '../domain/object-layout.js';
import { readManifest } from './locate-backup.js';
import { storedSizes } from './read-backup.js';
import { oneLine } from '../errors.js';
import { runFailedAlert, runRecoveredAlert, runSucceededAlert, taskFailedAlert } from './alerts.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { logPushLockName } from '../config/log-schedule.js';
import { streakEndedBy } from './run-streak.js';
import { drillFailedAlert, rtoBreachAlert } from './drill-alerts.js';

/** How a container task ended, as the platform reports it (ECS task-state event, process exit). */
export interface TaskReport {
  readonly job: string;
  readonly runId: string;
  readonly taskId: string;
  /** The runner container's exit code; `undefined` when it never ran (image pull, capacity). */
  readonly exitCode: number | undefined;
  /** The platform's reason, e.g. `Essential container in task exited` or `OutOfMemoryError`. */
  readonly stoppedReason?: string;
  readonly stoppedAt?: string;
}

export interface FinishRunDependencies {
  readonly environment: Environment;
  readonly catalog: Catalog;
  /** The storage the runner wrote to: the manifest there is the truth. */
  readonly storage: StorageBackend;
  readonly notify: (alert: Alert) => Promise<unknown>;
  /** Applies the job's retention after a success; its failures are reported, never fatal. */
  readonly retain?: (job: ScheduledJob) => Promise<unknown>;
  /** @default systemClock */
  readonly now?: Clock;
}

export type FinishRunOutcome =
  | { readonly outcome: 'succeeded'; readonly run: RunRecord; readonly retention?: unknown }
  | { readonly outcome: 'failed'; readonly run: RunRecord }
  /** The report was seen before (a redelivered event): nothing done. */
  | { readonly outcome: 'already-finished'; readonly run: RunRecord }
  /** No record of this run (not a run the orchestration started): nothing done. */
  | { readonly outcome: 'unknown-run' };

/**
 * Reconciles a stopped task with the runner's own record and the manifest, then settles the run:
 * - succeeded only when the runner recorded success AND the manifest is in storage, names the
 *   run and lists its objects, and every object is there at its size;
 * - otherwise failed, with the most specific reason there is (the runner's error, the exit code,
 *   the platform's stop reason), and any objects of the run removed (no manifest was committed,
 *   so they never were a backup; this just stops them costing money).
 * Then releases the job's lock, alerts, and applies retention after a success. Alerts: a failure;
 * a success after a failure (or past the RPO) as `run-recovered`, the all-clear; any other success
 * as `run-succeeded`, routine (for run trackers only) unless the job asks (`notifyOnSuccess`).
 * Idempotent: a report seen before changes nothing.
 */
export async function finishRun(deps: FinishRunDependencies, report: TaskReport, options: { readonly signal?: AbortSignal } = {}): Promise<FinishRunOutcome> {
  const io = options.signal ? { signal: options.signal } : {};
  const job = deps.environment.jobs.find((candidate) => candidate.name === report.job);
  const recorded = await deps.catalog.get(report.job, report.runId, io);
  if (!recorded) {
    // An on-demand restore or verify that ended before recording its run (under the launch's
    // run id) leaves nothing to settle. Its failure still deserves a page.
    if (report.exitCode !== 0) await deps.notify(taskFailedAlert(deps.environment.name, report));
    return { outcome: 'unknown-run' };
  }
  if (recorded.taskId === report.taskId && (recorded.status === 'succeeded' || recorded.status === 'failed')) {
    return { outcome: 'already-finished', run: recorded };
  }
  const now = (deps.now ?? systemClock)();
  if (recorded.kind === 'restore' || recorded.kind === 'verify') return finishOnDemandRun(deps, recorded, report, now, io);
  const stopped = { taskId: report.taskId };
  let run: RunRecord;

  // A drill stores nothing: its record is its outcome.
  const problem = recorded.status === 'succeeded' && recorded.kind !== 'drill' ? await manifestProblem(deps.storage, recorded) : undefined;
  if (recorded.status === 'succeeded' && !problem) {
    run = { ...recorded, ...stopped };
  } else {
    const reason =
      problem ??
      (recorded.status === 'failed' && recorded.error
        ? recorded.error.message
        : `the runner stopped ${describeExit(report)} while the run was ${recorded.status}`);
    run = {
      ...recorded,
      ...stopped,
      status: 'failed',
      finishedAt: recorded.finishedAt ?? report.stoppedAt ?? now.toISOString(),
      durationMs: recorded.durationMs ?? Math.max(0, now.getTime() - Date.parse(recorded.startedAt)),
      error: recorded.status === 'failed' && recorded.error && !problem ? recorded.error : { kind: problem ? 'integrity' : 'task', message: reason },
    };
    // Best effort: the bucket's lifecycle rules catch what this misses (incomplete multipart uploads).
    if (recorded.kind === 'backup' || recorded.kind === 'log') await removeUncommittedObjects(deps.storage, run).catch(() => undefined);
  }
  await deps.catalog.update(run, io);
  // A log push holds its job's log-push lock, every other run the job's own.
  await deps.catalog.releaseLock(run.kind === 'log' ? logPushLockName(report.job) : report.job, report.runId, io);

  if (run.status === 'failed') {
    if (run.kind !== 'log' || (await firstLogFailureInARow(deps, run, io))) {
      await deps.notify(run.kind === 'drill' ? drillFailedAlert(deps.environment.name, run) : runFailedAlert(deps.environment.name, run, { 'task exit': taskExitFact(report) }));
    }
    return { outcome: 'failed', run };
  }
  // A drill's runner in the cloud has no notifiers of its own: its RTO breach is paged here, and a drill frees nothing to retain.
  if (run.kind === 'drill') {
    const drill = run.drill;
    if (drill?.rtoBudgetMs !== undefined && drill.rtoMs > drill.rtoBudgetMs) await deps.notify(rtoBreachAlert(deps.environment.name, run, drill));
    return { outcome: 'succeeded', run };
  }
  const streakEnded = await streakEndedBy(deps.catalog, run, job, io);
  // A log push succeeds every few minutes: neither a success page nor a retention pass each time
  // (a base's retention, after a backup, is what frees the log it needed); only the all-clear
  // after a streak of failures.
  if (run.kind === 'log') {
    if (streakEnded) await deps.notify(runRecoveredAlert(deps.environment.name, run, streakEnded));
    return { outcome: 'succeeded', run };
  }
  await deps.notify(streakEnded ? runRecoveredAlert(deps.environment.name, run, streakEnded) : runSucceededAlert(deps.environment.name, run, !job?.notifyOnSuccess));
  const retention = job?.retention && deps.retain ? await deps.retain(job).catch((error: unknown) => ({ error: oneLine(error) })) : undefined;
  return { outcome: 'succeeded', run, ...(retention === undefined ? {} : { retention }) };
}

/**
 * Whether a failed log push is the first of a streak: pushes run every few minutes, and a cause
 * that lasts (binary logging off, a revoked grant) would page at every one. The first failure
 * pages; the next page is the watchdog's lag alert once the archive falls behind its RPO.
 */
async function firstLogFailureInARow(deps: FinishRunDependencies, run: RunRecord, io: { signal?: AbortSignal }): Promise<boolean> {
  const earlier = await deps.catalog.list({ job: run.job, kind: 'log', until: run.startedAt, limit: 10 }, io);
  const previous = earlier.find((candidate) => candidate.runId !== run.runId && (candidate.status === 'succeeded' || candidate.status === 'failed'));
  return previous?.status !== 'failed';
}

/** `exit code 137 (OutOfMemoryError…)` or `never started (CannotPullContainerError…)`, for an alert's facts. */
function taskExitFact(report: TaskReport): string {
  const code = report.exitCode === undefined ? 'never started' : `exit code ${report.exitCode}`;
  return report.stoppedReason ? `${code} (${report.stoppedReason})` : code;
}

/**
 * An on-demand restore or verify settles its own record; the task's end only notes the task on
 * it (where its log is) and fails a record the runner left unfinished (killed, out of memory).
 * It stores no backup, holds no lock and frees nothing to retain: a failure pages, as before
 * the run had a record the task could find.
 */
async function finishOnDemandRun(deps: FinishRunDependencies, recorded: RunRecord, report: TaskReport, now: Date, io: { signal?: AbortSignal }): Promise<FinishRunOutcome> {
  const settled = recorded.status === 'succeeded' || recorded.status === 'failed';
  const run: RunRecord = settled
    ? { ...recorded, taskId: report.taskId }
    : {
        ...recorded,
        taskId: report.taskId,
        status: 'failed',
        finishedAt: report.stoppedAt ?? now.toISOString(),
        durationMs: Math.max(0, now.getTime() - Date.parse(recorded.startedAt)),
        error: { kind: 'task', message: `the runner stopped ${describeExit(report)} while the run was ${recorded.status}` },
      };
  await deps.catalog.update(run, io);
  if (report.exitCode !== 0) await deps.notify(taskFailedAlert(deps.environment.name, report));
  return run.status === 'failed' ? { outcome: 'failed', run } : { outcome: 'succeeded', run };
}

function describeExit(report: TaskReport): string {
  const code = report.exitCode === undefined ? 'before the runner started' : `with exit code ${report.exitCode}`;
  return report.stoppedReason ? `${code} (${report.stoppedReason})` : code;
}

/** Why a run the runner called successful is not a backup after all, or `undefined` if it is. */
async function manifestProblem(storage: StorageBackend, run: RunRecord): Promise<string | undefined> {
  // A log run's manifest is where its runner recorded it (the run folder unless the layout of log
  // segments says otherwise); a backup's is always in its run folder.
  const key = run.kind === 'log' && run.manifestKey ? run.manifestKey : manifestKey(run.job, run.runId);
  let manifest;
  try {
    manifest = await readManifest(storage, key);
  } catch (error) {
    return `the runner recorded success but the manifest cannot be read: ${oneLine(error)}`;
  }
  if (manifest.runId !== run.runId || manifest.job !== run.job) return `the manifest at ${key} names another run (${manifest.job}/${manifest.runId})`;
  for (const [object, size] of await storedSizes(storage, { manifest, manifestKey: key })) {
    if (size !== object.sizeBytes) return `object ${object.name} of the manifest is ${size === undefined ? 'missing' : `${size} bytes, not ${object.sizeBytes}`}`;
  }
  return undefined;
}

/** Deletes what a failed run left in its folder, manifest first (it would make the folder a backup). */
async function removeUncommittedObjects(storage: StorageBackend, run: RunRecord): Promise<void> {
  const folder = runFolder(run.job, run.runId);
  await storage.delete(manifestKey(run.job, run.runId)).catch(() => undefined);
  const keys: string[] = [];
  for await (const object of storage.list(`${folder}/`)) keys.push(object.key);
  await Promise.all(keys.map((key) => storage.delete(key).catch(() => undefined)));
}

import type { Catalog } from '../ports/catalog.js';
import type { JobLauncher, LaunchRequest } from '../ports/job-launcher.js';
import type { Alert } from '../ports/notifier.js';
import type { Environment, ScheduledJob } from '../config/environments.js';
import type { RunKind, RunRecord } from '../domain/run.js';
import { RunConflictError } from '../errors.js';
import { backupCommandLine, type RunnerTarget } from './runner-commands.js';
import { toRunError } from './run-errors.js';
import { launchFailedAlert, runSkippedAlert, runStartedAlert } from './alerts.js';
import { systemClock, type Clock } from '../domain/clock.js';

export interface StartBackupDependencies {
  readonly environment: Environment;
  readonly catalog: Catalog;
  readonly launcher: JobLauncher;
  readonly target: RunnerTarget;
  readonly notify: (alert: Alert) => Promise<unknown>;
  /** @default systemClock */
  readonly now?: Clock;
}

export interface StartBackupRequest {
  readonly job: ScheduledJob;
  readonly runId: string;
  /** Environment for the runner beyond the catalog: trace context. */
  readonly runnerEnvironment?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

export type StartBackupOutcome =
  /** The task was started; the runner claims the pending record. */
  | { readonly outcome: 'started'; readonly run: RunRecord; readonly taskId: string }
  /** This run id exists already: a duplicate delivery. Nothing was started. */
  | { readonly outcome: 'duplicate'; readonly run: RunRecord | undefined }
  /** Another run of the job holds the lock: recorded as skipped and notified. */
  | { readonly outcome: 'skipped'; readonly run: RunRecord }
  /** The task could not be started: recorded as failed, lock released, alert sent. */
  | { readonly outcome: 'launch-failed'; readonly run: RunRecord };

/** Slack past the job's timeout before a crashed run's lock expires on its own. */
const LOCK_GRACE_MS = 15 * 60_000;

/**
 * Starts one backup run of a job (DESIGN.md §7), in this order:
 * 1. create the run record as `pending` — conditional, so a duplicate delivery of the same
 *    trigger (same run id) stops here and starts nothing;
 * 2. take the job's lock, owned by the run id — an overlapping run is recorded as `skipped`;
 * 3. start the container task with the runner's command line.
 * Never throws once the record exists: a failure is recorded, alerted and returned, so a retried
 * invocation finds the record and does not start a second task.
 */
export async function startBackup(deps: StartBackupDependencies, request: StartBackupRequest): Promise<StartBackupOutcome> {
  const { job, runId } = request;
  return startRun(deps, request, {
    kind: 'backup',
    lockName: job.name,
    timeoutMs: job.timeoutMs,
    command: () => backupCommandLine(job, runId, deps.target),
    size: job.runtime,
    alertOnSkip: true,
  });
}

/** What differs between the runs a scheduler starts: a backup, a log catch-up, a drill. */
export interface RunLaunch {
  readonly kind: Extract<RunKind, 'backup' | 'log' | 'drill'>;
  /** The catalog lock the run holds while it runs; none for a drill, which writes nothing another run reads. */
  readonly lockName: string | undefined;
  readonly timeoutMs: number;
  /** The runner's command line; built after the record exists, so a job the deployment cannot serve is a recorded launch failure. */
  readonly command: () => string[];
  readonly size: { readonly cpu?: number | undefined; readonly memoryMiB?: number | undefined };
  /** Whether an overlap pages: a backup's does, a log push's does not (the next push catches up; the lag alert is the page). */
  readonly alertOnSkip: boolean;
  /** The launch request's `readsBackups` and `drill` (a drill's own task and identity). */
  readonly launchAs?: Pick<LaunchRequest, 'readsBackups' | 'drill'>;
}

/**
 * The launch path every scheduled run shares: pending record, lock, launch, each failure recorded
 * (see `startBackup`). `start-log-push.ts` starts log catch-ups through it, `start-drill.ts` drills.
 */
export async function startRun(deps: StartBackupDependencies, request: StartBackupRequest, launch: RunLaunch): Promise<StartBackupOutcome> {
  const now = (deps.now ?? systemClock)();
  const { job, runId } = request;
  // The timeout goes with the record: the runner keeps it, and a repair judges the run by it.
  let run: RunRecord = { runId, job: job.name, kind: launch.kind, status: 'pending', startedAt: now.toISOString(), timeoutMs: launch.timeoutMs };
  // The invocation's signal cancels the steps before the launch; recording a failure afterwards
  // goes without it, so a cancelled start still leaves a settled record and a free lock.
  const io = request.signal ? { signal: request.signal } : {};
  try {
    await deps.catalog.create(run, io);
  } catch (error) {
    if (error instanceof RunConflictError) return { outcome: 'duplicate', run: await deps.catalog.get(job.name, runId, io) };
    throw error;
  }

  const finish = (patch: Partial<RunRecord>): RunRecord => {
    const finishedAt = (deps.now ?? systemClock)();
    return { ...run, ...patch, finishedAt: finishedAt.toISOString(), durationMs: Math.max(0, finishedAt.getTime() - now.getTime()) };
  };

  try {
    const locked = launch.lockName === undefined || (await deps.catalog.acquireLock(launch.lockName, runId, launch.timeoutMs + LOCK_GRACE_MS, io));
    if (!locked) {
      const overlap = launch.kind === 'log' ? `another log push of ${job.name} is still running` : `another run of ${job.name} holds the job's lock`;
      run = finish({ status: 'skipped', error: { kind: 'overlap', message: overlap } });
      await deps.catalog.update(run);
      if (launch.alertOnSkip) await deps.notify(runSkippedAlert(deps.environment.name, run));
      return { outcome: 'skipped', run };
    }
    const { cpu, memoryMiB } = launch.size;
    const { taskId } = await deps.launcher.launch(
      {
        job: job.name,
        runId,
        command: launch.command(),
        environment: { VAULTRA_CATALOG: deps.target.catalogUrl, ...request.runnerEnvironment },
        ...(cpu ? { cpu } : {}),
        ...(memoryMiB ? { memoryMiB } : {}),
        ...launch.launchAs,
      },
      request.signal,
    );
    // The record is not touched again here: the runner may already be updating it.
    // For run trackers only (a healthchecks.io start ping), and not for a log push every few
    // minutes; its failure must not turn a started run into a launch failure.
    if (launch.kind === 'backup') await deps.notify(runStartedAlert(deps.environment.name, run)).catch(() => undefined);
    return { outcome: 'started', run, taskId };
  } catch (error) {
    run = finish({ status: 'failed', error: toRunError(error) });
    await deps.catalog.update(run);
    if (launch.lockName !== undefined) await deps.catalog.releaseLock(launch.lockName, runId).catch(() => undefined);
    await deps.notify(launchFailedAlert(deps.environment.name, run));
    return { outcome: 'launch-failed', run };
  }
}

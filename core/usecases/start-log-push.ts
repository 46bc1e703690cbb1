import type { ScheduledJob } from '../config/environments.js';
import { logPushLockName } from '../config/log-schedule.js';
import { scheduledRunId } from '../domain/scheduled-run-id.js';
import { ConfigError } from '../errors.js';
import { logsPushCommandLine } from './runner-commands.js';
import { startRun, type StartBackupDependencies, type StartBackupOutcome } from './start-backup.js';

export interface StartLogPushRequest {
  /** A job with a `logs` schedule. */
  readonly job: ScheduledJob;
  readonly runId: string;
  /** Environment for the runner beyond the catalog: trace context. */
  readonly runnerEnvironment?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/**
 * The run id of a scheduled log catch-up: like a backup's (`scheduledRunId`), a function of the
 * job and the scheduled time, so a redelivered trigger starts nothing new; hashed under the
 * job's log-push name, so a push and a backup due at the same minute get two ids.
 */
export function logPushRunId(job: string, scheduledTime: string): string {
  return scheduledRunId(logPushLockName(job), scheduledTime);
}

/**
 * Starts one log catch-up of a job (`vaultra logs push`), on the path a backup takes
 * (`startRun`): a `pending` run of kind `log` recorded first (a duplicate delivery stops there),
 * then the job's log-push lock — not the backup's: pushes and backups read the server
 * independently — then the launch, at the push's own size and timeout. An overlap (the previous
 * push still catching up) is recorded `skipped` without a page: the next push continues from the
 * archive's end, and the watchdog's lag alert pages if the archive falls behind its RPO. Never
 * throws once the record exists.
 */
export async function startLogPush(deps: StartBackupDependencies, request: StartLogPushRequest): Promise<StartBackupOutcome> {
  const { job, runId } = request;
  const logs = job.logs;
  if (!logs) throw new ConfigError(`job ${job.name} has no logs schedule: add logs: { every: 5m } to archive its server's change log`);
  return startRun(deps, request, {
    kind: 'log',
    lockName: logPushLockName(job.name),
    timeoutMs: logs.timeoutMs,
    command: () => logsPushCommandLine(job, runId, deps.target),
    size: logs.runtime,
    alertOnSkip: false,
  });
}

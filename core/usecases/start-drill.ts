import type { ScheduledJob } from '../config/environments.js';
import { drillSidecarOf } from '../config/drill-sidecar.js';
import { scheduledRunId } from '../domain/scheduled-run-id.js';
import { ConfigError } from '../errors.js';
import { drillCommandLine } from './runner-commands.js';
import { startRun, type StartBackupDependencies, type StartBackupOutcome } from './start-backup.js';

export interface StartDrillRequest {
  /** A job with `drill.schedule`. */
  readonly job: ScheduledJob;
  readonly runId: string;
  /** Environment for the runner beyond the catalog: trace context. */
  readonly runnerEnvironment?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

/** Hashed under its own name, so a drill and a backup of one job due at the same minute get two run ids. */
export function drillRunId(job: string, scheduledTime: string): string {
  return scheduledRunId(`${job}.drill`, scheduledTime);
}

/**
 * Starts one scheduled drill of a job (docs/drills.md, "In the cloud") on the path a backup
 * takes (`startRun`): a `pending` run of kind `drill` first (a duplicate delivery stops there),
 * then the job's drill task — the runner beside its scratch server, under the drill identity,
 * the only one that may decrypt — with `vaultra drill latest`. No lock: a drill writes nothing
 * another run reads, and its scratch server is its own. Never throws once the record exists.
 */
export async function startDrill(deps: StartBackupDependencies, request: StartDrillRequest): Promise<StartBackupOutcome> {
  const { job, runId } = request;
  const drill = job.drill;
  if (!drill?.schedule) throw new ConfigError(`job ${job.name} has no drill schedule: add drill: { schedule: { cron: "0 5 * * 0" } } to drill it in the cloud`);
  return startRun(deps, request, {
    kind: 'drill',
    lockName: undefined,
    timeoutMs: job.timeoutMs,
    command: () => drillCommandLine(job, runId, deps.target, drillSidecarOf(drill)?.scratchUrl),
    size: { cpu: drill.cpu, memoryMiB: drill.memoryMiB },
    alertOnSkip: false,
    launchAs: { readsBackups: true, drill: true },
  });
}

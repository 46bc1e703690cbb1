import type { Environment } from '../config/environments.js';
import { deployedFormOf, drillScheduleName, logScheduleName, MAINTENANCE_SCHEDULE_NAMES } from '../config/deployed-schedule-forms.js';
import type { DeployedSchedule, DeployedScheduleReader } from '../ports/deployed-schedules.js';
import { oneLine } from '../errors.js';

/** Whether a job's deployed schedules are the ones its file entry gives. */
export type DeployedCheck =
  | { readonly state: 'matches' }
  /** `detail`: one line naming each difference, deployed value first. */
  | { readonly state: 'differs'; readonly detail: string }
  /** The deployment could not be read: `reason` is one line (no credentials, access denied, …). */
  | { readonly state: 'unknown'; readonly reason: string };

export interface EnvironmentScheduleCheck {
  readonly byJob: ReadonlyMap<string, DeployedCheck>;
  /** Deployed schedules no job of the file accounts for: a removed job's schedule still firing. */
  readonly unexpected: readonly string[];
}

/**
 * Reads one environment's deployed schedules and compares them with the file. Never throws for
 * the cloud's sake: a failed read makes every job `unknown` with the error's one-line message,
 * so the command that shows it still shows everything else.
 */
export async function checkDeployedSchedules(environment: Environment, reader: DeployedScheduleReader, signal: AbortSignal): Promise<EnvironmentScheduleCheck> {
  try {
    return compareDeployedSchedules(environment, await reader.list(signal));
  } catch (error) {
    // A deadline's abort makes each SDK say "cancelled"; the signal's reason says why.
    return unknownFor(environment, signal.aborted ? oneLine(signal.reason) : oneLine(error));
  }
}

/** Every job of `environment` as `unknown` for `reason`. */
export function unknownFor(environment: Environment, reason: string): EnvironmentScheduleCheck {
  return { byJob: new Map(environment.jobs.map((job) => [job.name, { state: 'unknown', reason }])), unexpected: [] };
}

/** Pure: each job's expected schedules (`deployedFormOf`) against what is deployed, by name. */
export function compareDeployedSchedules(environment: Environment, deployed: readonly DeployedSchedule[]): EnvironmentScheduleCheck {
  const expected = new Map(deployedFormOf(environment).map((schedule) => [schedule.name, schedule]));
  const found = new Map(deployed.map((schedule) => [schedule.name, schedule]));
  const byJob = new Map<string, DeployedCheck>();
  const accounted = new Set<string>(MAINTENANCE_SCHEDULE_NAMES[environment.cloud]);
  for (const job of environment.jobs) {
    const names = [job.name, logScheduleName(job.name), drillScheduleName(job.name)];
    names.forEach((name) => accounted.add(name));
    const differences = names.flatMap((name) => difference(name, expected.get(name), found.get(name)) ?? []);
    byJob.set(job.name, differences.length === 0 ? { state: 'matches' } : { state: 'differs', detail: differences.join('; ') });
  }
  const unexpected = deployed.filter((schedule) => !accounted.has(schedule.name)).map((schedule) => schedule.name);
  return { byJob, unexpected };
}

/** One line for a difference between the file's and the deployed schedule called `name`, if any. */
function difference(name: string, wanted: DeployedSchedule | undefined, actual: DeployedSchedule | undefined): string | undefined {
  if (!wanted && !actual) return undefined;
  if (!actual) return `${name} not deployed`;
  if (!wanted) return actual.enabled ? `${name} deployed (${describe(actual)}) but the file schedules none (disabled or removed)` : undefined;
  if (wanted.expression !== actual.expression || wanted.timeZone !== actual.timeZone) return `${name} deployed ${describe(actual)}, the file gives ${describe(wanted)}`;
  if (wanted.enabled !== actual.enabled) return `${name} deployed ${actual.enabled ? 'enabled' : 'paused'}, the file has it ${wanted.enabled ? 'enabled' : 'disabled'}`;
  return undefined;
}

function describe(schedule: DeployedSchedule): string {
  return `${schedule.expression} (${schedule.timeZone})`;
}

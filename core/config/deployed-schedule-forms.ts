import type { DeployedSchedule } from '../domain/deployed-schedule.js';
import type { Environment, ScheduledJob } from './environments.js';
import { eventBridgeCron } from './schedule.js';
import { logScheduleCron, logScheduleRate } from './log-schedule.js';
import { formatDurationMs } from './durations.js';

/**
 * The schedules each cloud's deploy tooling makes from an environment, in the form the platform
 * hands them back — so a deployed schedule and the file compare by plain equality:
 *
 * - AWS (infra/aws/job-schedules.ts): one EventBridge schedule per enabled job, named after it,
 *   `cron(…)` in the job's time zone; one `Logs-<job>` `rate(…)` schedule per job with `logs`,
 *   one `Drill-<job>` `cron(…)` per job with `drill.schedule`.
 * - GCP (infra/gcp/scheduler.tf, drill.tf): the same on Cloud Scheduler, a five-field cron, the
 *   log catch-up as a cron in UTC.
 * - Azure (infra/azure): no platform schedules; the dispatcher walks the config the function app
 *   carries, so every job is listed with its `enabled` flag, a log catch-up as `every <d>`, and a
 *   drill as `Drill-<job>` on its five-field cron.
 */
export function deployedFormOf(environment: Environment): DeployedSchedule[] {
  return environment.jobs.flatMap((job) => deployedFormOfJob(environment.cloud, job));
}

/**
 * Schedules the deploy tooling adds beside the jobs' own, in the same place: the AWS stack's
 * hourly watchdog, in the environment's schedule group. They belong there; they are no drift.
 */
export const AWS_WATCHDOG_SCHEDULE_NAME = 'Vaultra-Watchdog';
export const MAINTENANCE_SCHEDULE_NAMES: Readonly<Record<Environment['cloud'], readonly string[]>> = { aws: [AWS_WATCHDOG_SCHEDULE_NAME], gcp: [], azure: [], local: [] };

/** The name of a job's log catch-up schedule (capitalised: job names are lowercase, so it never clashes). */
export function logScheduleName(jobName: string): string {
  return `Logs-${jobName}`;
}

/** The name of a job's drill schedule, capitalised like `logScheduleName`. */
export function drillScheduleName(jobName: string): string {
  return `Drill-${jobName}`;
}

/** The scheduled drill of a job on AWS (infra/aws/job-schedules.ts) and GCP (infra/gcp/drill.tf); Azure deploys none yet. */
function drillFormOf(cloud: Environment['cloud'], job: ScheduledJob): DeployedSchedule[] {
  const drill = job.drill?.schedule;
  if ((cloud !== 'aws' && cloud !== 'gcp') || !drill) return [];
  const expression = cloud === 'aws' ? eventBridgeCron(drill.cron, drill.timeZone) : drill.cron;
  return [{ name: drillScheduleName(job.name), expression, timeZone: drill.timeZone, enabled: true }];
}

function deployedFormOfJob(cloud: Environment['cloud'], job: ScheduledJob): DeployedSchedule[] {
  const { cron, timeZone } = job.schedule;
  if (cloud === 'azure') {
    const backup = { name: job.name, expression: cron, timeZone, enabled: job.enabled };
    const logs = job.logs ? [{ name: logScheduleName(job.name), expression: `every ${formatDurationMs(job.logs.everyMs)}`, timeZone: 'UTC', enabled: job.enabled }] : [];
    // The dispatcher fires a drill on its own cron and time zone (dueRuns), named as on AWS.
    const drill = job.drill?.schedule;
    return [backup, ...logs, ...(drill ? [{ name: drillScheduleName(job.name), expression: drill.cron, timeZone: drill.timeZone, enabled: job.enabled }] : [])];
  }
  // AWS and GCP deploy nothing for a disabled job.
  if (!job.enabled || cloud === 'local') return [];
  const backup = { name: job.name, expression: cloud === 'aws' ? eventBridgeCron(cron, timeZone) : cron, timeZone, enabled: true };
  if (!job.logs) return [backup, ...drillFormOf(cloud, job)];
  const logs = cloud === 'aws' ? logScheduleRate(job.logs.everyMs) : logScheduleCron(job.logs.everyMs);
  return [backup, { name: logScheduleName(job.name), expression: logs, timeZone: 'UTC', enabled: true }, ...drillFormOf(cloud, job)];
}

import type { Environment, ScheduledJob } from '../config/environments.js';
import { longestGapMs, nextFireTimes } from '../config/schedule.js';
import { logFireTimes } from '../config/log-schedule.js';

/** One fire time, as an instant and as the wall clock of the job's time zone. */
export interface FireTime {
  /** UTC ISO 8601, milliseconds (what `dueRuns` gives a dispatcher). */
  readonly utc: string;
  /** `2026-03-11 03:30 GMT+1`: the job's own wall clock and its offset then. */
  readonly local: string;
}

export interface JobSchedule {
  readonly environment: string;
  readonly job: string;
  readonly enabled: boolean;
  readonly cron: string;
  readonly timeZone: string;
  /** The next fire times after `now`; none for a disabled job (no dispatcher starts it). */
  readonly next: readonly FireTime[];
  /** The longest gap between two fires over the next year: the smallest honest RPO before run time. */
  readonly longestGapMs: number;
  readonly rpoMs: number;
  /** Jobs with `logs` only: the log catch-up interval and its next fire times (multiples of it since midnight UTC). */
  readonly logs?: { readonly everyMs: number; readonly next: readonly FireTime[] };
}

/**
 * Every job's schedule in `environments` after `now`: the fire times come from `nextFireTimes`,
 * the one cron walk `dueRuns` (the Azure dispatcher) starts runs from, and the log catch-ups from
 * `logFireTimes`, as `dueRuns` does — so what this shows is what a dispatcher starts. Pure.
 */
export function jobSchedules(environments: readonly Environment[], now: Date, count: number): JobSchedule[] {
  return environments.flatMap((environment) => environment.jobs.map((job) => scheduleOf(environment.name, job, now, count)));
}

function scheduleOf(environment: string, job: ScheduledJob, now: Date, count: number): JobSchedule {
  const { cron, timeZone } = job.schedule;
  const fire = (time: Date): FireTime => ({ utc: time.toISOString(), local: wallClock(time, timeZone) });
  const next = job.enabled ? nextFireTimes(cron, timeZone, now, count).map(fire) : [];
  const logs = job.logs ? { everyMs: job.logs.everyMs, next: job.enabled ? logFireTimes(job.logs.everyMs, now.getTime(), now.getTime() + count * job.logs.everyMs).slice(0, count).map(fire) : [] } : undefined;
  return { environment, job: job.name, enabled: job.enabled, cron, timeZone, next, longestGapMs: longestGapMs(cron, timeZone, now), rpoMs: job.rpoMs, ...(logs ? { logs } : {}) };
}

/** `2026-03-11 03:30 GMT+1`: `time` on the wall clock of `timeZone`. */
export function wallClock(time: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZoneName: 'shortOffset' }).formatToParts(time);
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year')}-${part('month')}-${part('day')} ${part('hour')}:${part('minute')} ${part('timeZoneName')}`;
}

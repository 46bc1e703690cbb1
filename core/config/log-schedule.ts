import * as z from 'zod';
import type { EngineId } from '../domain/engine-vocabulary.js';
import type { LogKind } from '../domain/log-archive.js';
import { durationSchema, formatDurationMs } from './durations.js';

/**
 * A job's log catch-up schedule (`logs:` in vaultra.config.yaml, docs/architecture.md "Log
 * catch-up schedules"): every `every`, a small runner task reads the server's change log from
 * where the archive ends (`vaultra logs push`), so a restore can reach any time up to a few
 * minutes ago. The watchdog alerts when the archive lags the server by more than `rpo`.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

/** A log push's default time limit: a first catch-up from a day-old base may read a day of log. */
export const DEFAULT_LOG_PUSH_TIMEOUT_MS = HOUR_MS;

/**
 * A log push's default size: Fargate's (and Container Apps') smallest, 0.25 vCPU and 512 MiB. A
 * push reads minutes of log through zstd and age into one upload, and the runner peaks near
 * 170 MB RSS whatever the size uploaded (docs/architecture.md, S3 `put`), so the smallest size
 * holds it; at one task every five minutes per job, the job's own backup size would cost 4-8×
 * more for nothing. `logs.runtime` sets another.
 */
export const DEFAULT_LOG_PUSH_RUNTIME = { cpu: 256, memoryMiB: 512 } as const;

/** Appended to a job's name for what belongs to its log pushes: their lock and their run ids. */
const LOG_PUSH_SUFFIX = '.logs';

/** The longest job name that can take `logs`: its log pushes' lock name (`<job>.logs`) is a job name too (63 characters at most). */
export const MAX_LOG_JOB_NAME_LENGTH = 63 - LOG_PUSH_SUFFIX.length;

/**
 * The catalog lock a job's log pushes take. Not the job's own lock: a push every few minutes
 * must neither make the nightly backup skip nor wait for it (the base and the log are read
 * independently), but two pushes of one job must never read and store the same log at once.
 * The config refuses a job named like another job's log lock.
 */
export function logPushLockName(job: string): string {
  return `${job}${LOG_PUSH_SUFFIX}`;
}

/**
 * The change log each engine keeps, for the engines Vaultra archives one of. PostgreSQL's WAL
 * restores only onto a physical base (`pg_basebackup`), which the config cannot see: a push works
 * without one, and restores and `vaultra logs verify` say the base is missing. SQLite files and directories keep no change log.
 */
export const CHANGE_LOG_OF_ENGINE: Readonly<Record<EngineId, LogKind | undefined>> = {
  postgres: 'wal',
  mysql: 'binlog',
  mongodb: 'oplog',
  sqlite: undefined,
  directory: undefined,
  volume: undefined,
};

/**
 * `every` is a whole number of minutes dividing an hour, or of hours dividing a day, or a day, so
 * that its fire times (multiples of `every` since midnight UTC) are evenly spaced on every cloud:
 * a five-field cron on GCP, a rate on AWS, the dispatcher's clock on Azure.
 */
export function isEvenLogInterval(ms: number): boolean {
  if (ms < HOUR_MS) return ms % MINUTE_MS === 0 && HOUR_MS % ms === 0;
  if (ms < DAY_MS) return ms % HOUR_MS === 0 && DAY_MS % ms === 0;
  return ms === DAY_MS;
}

const logRuntimeSchema = z.strictObject({
  cpu: z.number().int().positive(),
  memoryMiB: z.number().int().min(512).max(122_880),
});

export const logsConfigSchema = z
  .strictObject({
    /** How often a catch-up runs. */
    every: durationSchema.refine(isEvenLogInterval, 'a catch-up interval that divides an hour or a day evenly: 1m, 2m, 5m, 10m, 15m, 30m, 1h, 2h, 3h, 4h, 6h, 12h or 1d'),
    /** Alert when the archive lags the server by more than this. Default: three times `every`. */
    rpo: durationSchema.optional(),
    /** A push still running after this is stuck. Default: 1h. */
    timeout: durationSchema.optional(),
    /** The push task's size (AWS and Azure; Cloud Run jobs have one size). Default: the smallest, 256 CPU units and 512 MiB. */
    runtime: logRuntimeSchema.optional(),
  })
  .refine((logs) => logs.rpo === undefined || logs.every <= logs.rpo, {
    message: 'logs.every is longer than logs.rpo: the archive would lag past its RPO between two catch-ups; shorten every or lengthen rpo',
    path: ['every'],
  });
export type LogsConfig = z.infer<typeof logsConfigSchema>;

/** A job's log catch-up, resolved: every time in milliseconds. */
export interface LogSchedule {
  readonly everyMs: number;
  /** The most the archive may lag the server before the watchdog alerts. */
  readonly rpoMs: number;
  readonly timeoutMs: number;
  readonly runtime: { readonly cpu: number; readonly memoryMiB: number };
}

export function resolveLogSchedule(logs: LogsConfig): LogSchedule {
  return {
    everyMs: logs.every,
    rpoMs: logs.rpo ?? 3 * logs.every,
    timeoutMs: logs.timeout ?? DEFAULT_LOG_PUSH_TIMEOUT_MS,
    runtime: logs.runtime ?? DEFAULT_LOG_PUSH_RUNTIME,
  };
}

/**
 * The fire times of a log schedule in `(fromMs, toMs]`: the multiples of `everyMs` since the UTC
 * epoch (midnight UTC is one, `every` dividing a day), oldest first. Pure.
 */
export function logFireTimes(everyMs: number, fromMs: number, toMs: number): Date[] {
  const times: Date[] = [];
  for (let time = Math.floor(fromMs / everyMs) * everyMs + everyMs; time <= toMs; time += everyMs) times.push(new Date(time));
  return times;
}

/** `every 5m` as a five-field cron in UTC: `*\/5 * * * *`, `0 *\/6 * * *`, `0 0 * * *`. */
export function logScheduleCron(everyMs: number): string {
  if (everyMs < HOUR_MS) return everyMs === MINUTE_MS ? '* * * * *' : `*/${everyMs / MINUTE_MS} * * * *`;
  if (everyMs < DAY_MS) return everyMs === HOUR_MS ? '0 * * * *' : `0 */${everyMs / HOUR_MS} * * *`;
  return '0 0 * * *';
}

/** `rate(5 minutes)`, `rate(1 hour)`: EventBridge Scheduler's rate expression. */
export function logScheduleRate(everyMs: number): string {
  const [count, unit] = everyMs % DAY_MS === 0 ? [everyMs / DAY_MS, 'day'] : everyMs % HOUR_MS === 0 ? [everyMs / HOUR_MS, 'hour'] : [everyMs / MINUTE_MS, 'minute'];
  return `rate(${count} ${unit}${count === 1 ? '' : 's'})`;
}

/** `every 5m, RPO 15m`, for descriptions. */
export function describeLogSchedule(schedule: LogSchedule): string {
  return `every ${formatDurationMs(schedule.everyMs)}, RPO ${formatDurationMs(schedule.rpoMs)}`;
}

import * as z from 'zod';
import { isTimeZone } from '../domain/shared-schemas.js';
import { durationSchema } from './durations.js';
import { checkCron } from './schedule.js';

/**
 * A check of the job's own (`drill.checks`): one query against the restored database, and the
 * text its first value must equal. `{{backupStartedAt}}` and `{{backupRunId}}` in the query are
 * the drilled backup's, so a freshness check compares against the backup, not the drill's time:
 * `select max(created_at) >= timestamptz '{{backupStartedAt}}' - interval '26 hours'` expects `t`.
 */
export const drillCheckSchema = z.strictObject({
  name: z.string().min(1).max(120),
  query: z.string().min(1).max(20_000),
  expect: z.string().max(1000),
});
export type DrillCheckConfig = z.infer<typeof drillCheckSchema>;

function validCron(cron: string): boolean {
  try {
    checkCron(cron);
    return true;
  } catch {
    return false;
  }
}

/**
 * A job's restore drills (docs/drills.md): when to drill in the cloud (`schedule`), how long a
 * restore may take (`rto`: a drill past it alerts), and the job's own checks. Runs on demand
 * with `vaultra drill` whether or not a schedule is set.
 */
export const drillConfigSchema = z.strictObject({
  schedule: z
    .strictObject({
      cron: z.string().refine(validCron, 'a five-field cron expression: minute hour day-of-month month day-of-week'),
      timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Paris').default('UTC'),
    })
    .optional(),
  rto: durationSchema.optional(),
  checks: z.array(drillCheckSchema).max(100).default([]),
  /**
   * The scratch server of a drill in the cloud, an official image run beside the runner
   * (drill-sidecar.ts): `postgres:<major>`, `mariadb:<version>`, `mysql:<version>` or
   * `mongo:<version>`, the one of the job's engine. Absent: the drill restores into a scratch
   * file or folder inside the runner's own container (SQLite, directory).
   */
  server: z
    .string()
    .regex(/^(postgres|mariadb|mysql|mongo):[\w.-]+$/, "the official image of your server's engine and version: postgres:17, mariadb:11.4, mysql:8.4 or mongo:7.0")
    .optional(),
  /** The drill task's size in the cloud: the runner and the scratch server share it. */
  cpu: z.number().int().positive().default(1024),
  memoryMiB: z.number().int().min(512).max(122_880).default(2048),
});
export type DrillConfig = z.infer<typeof drillConfigSchema>;

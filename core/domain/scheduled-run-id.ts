import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';

/**
 * The run id of a scheduled run, derived from (job, scheduled time) alone: a scheduler that
 * delivers the same trigger twice produces the same id, and the catalog's conditional create
 * lets only the first one start a backup (DESIGN.md §7). Same shape as `newRunId`: the time is
 * the scheduled time, the suffix a hash instead of random bits.
 */
export function scheduledRunId(job: string, scheduledTime: string): string {
  const time = new Date(scheduledTime);
  if (Number.isNaN(time.getTime())) throw new ConfigError(`scheduled time ${JSON.stringify(scheduledTime)} is not a date and time`);
  const stamp = time.toISOString().replace(/[-:]/g, '');
  const suffix = createHash('sha256').update(`${job}\n${time.toISOString()}`).digest('hex').slice(0, 6);
  return `${stamp}-${suffix}`;
}

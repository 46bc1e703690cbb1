import { CronExpressionParser } from 'cron-parser';
import { ConfigError } from '../errors.js';

const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

function parse(cron: string, timeZone: string, from?: Date) {
  // cron-parser also takes 6-field (seconds) and shorter forms; a job's cron is exactly five.
  if (!/^\s*(\S+\s+){4}\S+\s*$/.test(cron)) throw new ConfigError(`cron ${JSON.stringify(cron)}: expected five fields: minute hour day-of-month month day-of-week`);
  try {
    return CronExpressionParser.parse(cron, { tz: timeZone, ...(from ? { currentDate: from } : {}) });
  } catch (error) {
    throw new ConfigError(`cron ${JSON.stringify(cron)}: ${(error as Error).message}; expected five fields: minute hour day-of-month month day-of-week`);
  }
}

/** Throws `ConfigError` unless `cron` is a valid five-field expression. */
export function checkCron(cron: string, timeZone = 'UTC'): void {
  parse(cron, timeZone);
}

/** The next `count` fire times of `cron` in `timeZone` after `from`. */
export function nextFireTimes(cron: string, timeZone: string, from: Date, count: number): Date[] {
  const expression = parse(cron, timeZone, from);
  return Array.from({ length: count }, () => expression.next().toDate());
}

/**
 * The longest gap between two consecutive fires over the next year (sampled up to 1,000 fires):
 * the smallest honest RPO for a job on this schedule, before adding its run time.
 */
export function longestGapMs(cron: string, timeZone: string, from = new Date()): number {
  const expression = parse(cron, timeZone, from);
  const horizon = from.getTime() + 366 * 86_400_000;
  let previous = expression.next().toDate().getTime();
  let longest = 0;
  for (let i = 0; i < 1000 && previous < horizon; i++) {
    const next = expression.next().toDate().getTime();
    longest = Math.max(longest, next - previous);
    previous = next;
  }
  return longest;
}

/**
 * A five-field cron as EventBridge Scheduler writes it: `cron(min hour dom month dow year)`,
 * where one of day-of-month and day-of-week must be `?` and days of the week are 1-7 from
 * Sunday (names avoid that off-by-one). A job that restricts both days cannot be expressed:
 * classic cron ORs them, EventBridge refuses them together.
 */
export function eventBridgeCron(cron: string, timeZone = 'UTC'): string {
  const fields = parse(cron, timeZone).fields;
  const [minute, hour, dayOfMonth, month] = cron.trim().split(/\s+/);
  const dowRestricted = !fields.dayOfWeek.isWildcard;
  const domRestricted = !fields.dayOfMonth.isWildcard;
  if (dowRestricted && domRestricted) {
    throw new ConfigError(`cron ${JSON.stringify(cron)}: restricts both day-of-month and day-of-week, which EventBridge Scheduler cannot express; use one of them`);
  }
  const days = [...new Set(fields.dayOfWeek.values.map((day) => DAY_NAMES[Number(day) % 7]!))];
  const dow = dowRestricted ? days.join(',') : '?';
  const dom = dowRestricted ? '?' : dayOfMonth!;
  return `cron(${minute} ${hour} ${dom} ${month} ${dow} *)`;
}

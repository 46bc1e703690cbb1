import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_PATH, environmentOf, loadConfig } from '../../core/config/load-config.js';
import { jobSchedules, type JobSchedule } from '../../core/usecases/job-schedule.js';
import { formatDurationMs } from '../../core/config/durations.js';
import { ConfigError } from '../../core/errors.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';
import { positiveInteger, printJson } from './shared.js';

interface ScheduleOptions {
  config: string;
  env?: string;
  next: string;
  json?: boolean;
}

/** More fire times than anyone reads, and a bound on the work a typo (`--next 1000000`) asks for. */
const MAX_NEXT = 100;

/**
 * `vaultra schedule`: when each job fires next, in UTC and in its own time zone, and the longest
 * gap of its schedule against its RPO — from the cron walk the Azure dispatcher (`dueRuns`) uses.
 * Reads the config file only.
 */
export function scheduleCommand(): Command {
  return new Command('schedule')
    .description("each job's schedule in its own time zone: the next fire times (UTC and local) and the longest gap against its RPO")
    .addOption(new Option('--config <path>', 'the config file').default(DEFAULT_CONFIG_PATH).env('VAULTRA_CONFIG'))
    .addOption(new Option('--env <name>', 'only this environment (default: all of them)').env('VAULTRA_ENV'))
    .option('--next <n>', `how many fire times per job (1-${MAX_NEXT})`, '3')
    .option('--json', 'print a JSON array, one object per job, on stdout')
    .action(async (options: ScheduleOptions) => {
      const count = positiveInteger(options.next, '--next');
      if (count > MAX_NEXT) throw new ConfigError(`--next ${count}: expected at most ${MAX_NEXT}`);
      const config = await loadConfig(options.config, { checkSource: checkDatabaseUrl, engineOf: engineIdForUrl });
      const environments = options.env ? [environmentOf(config, options.env)] : [...config.environments.values()];
      const schedules = jobSchedules(environments, new Date(), count);
      if (options.json) return printJson(schedules);
      printTable(schedules);
    });
}

function printTable(schedules: readonly JobSchedule[]): void {
  if (schedules.length === 0) {
    process.stdout.write('no jobs\n');
    return;
  }
  const rows: string[][] = [];
  for (const s of schedules) {
    const gap = `${formatDurationMs(s.longestGapMs)}${s.longestGapMs > s.rpoMs ? ' ✗ > RPO' : ''}`;
    const head = [s.environment, s.job, `${s.cron} (${s.timeZone})`, gap, formatDurationMs(s.rpoMs)];
    const blank = head.map(() => '');
    if (s.next.length === 0) rows.push([...head, '- disabled', '']);
    s.next.forEach((time, index) => rows.push([...(index === 0 ? head : blank), time.utc.slice(0, 16).replace('T', ' ') + 'Z', time.local]));
    if (s.logs) rows.push([...blank.slice(0, 2), `logs every ${formatDurationMs(s.logs.everyMs)} (UTC)`, '', '', s.logs.next.map((time) => time.utc.slice(11, 16)).join(', '), '']);
  }
  const header = ['ENV', 'JOB', 'SCHEDULE', 'LONGEST GAP', 'RPO', 'NEXT (UTC)', 'NEXT (LOCAL)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}

import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_PATH, environmentOf, loadConfig } from '../../core/config/load-config.js';
import type { Environment } from '../../core/config/environments.js';
import { jobSchedules, type JobSchedule } from '../../core/usecases/job-schedule.js';
import { formatDurationMs } from '../../core/config/durations.js';
import { ConfigError } from '../../core/errors.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';
import { positiveInteger, printJson, signalOf } from './shared.js';
import type { DeployedCheck } from '../../core/usecases/deployed-schedule-check.js';
import { checkDeployedEnvironments } from '../deployed-schedules.js';

interface ScheduleOptions {
  config: string;
  env?: string;
  next: string;
  deployed: boolean;
  json?: boolean;
}

/** A job's schedule and, for a cloud environment, whether the deployed one matches it. */
interface ShownSchedule extends JobSchedule {
  readonly deployed?: DeployedCheck;
}

/** More fire times than anyone reads, and a bound on the work a typo (`--next 1000000`) asks for. */
const MAX_NEXT = 100;

/**
 * `vaultra schedule`: when each job fires next, in UTC and in its own time zone, and the longest
 * gap of its schedule against its RPO — from the cron walk the Azure dispatcher (`dueRuns`) uses —
 * and, for cloud environments, whether the deployed schedules match the file (read-only calls;
 * `--no-deployed` makes none). A cloud that cannot be read shows `unknown (<reason>)`: the
 * command still succeeds.
 */
export function scheduleCommand(): Command {
  return new Command('schedule')
    .description("each job's schedule in its own time zone: the next fire times (UTC and local), the longest gap against its RPO, and whether a cloud environment's deployed schedules match the file")
    .addOption(new Option('--config <path>', 'the config file').default(DEFAULT_CONFIG_PATH).env('VAULTRA_CONFIG'))
    .addOption(new Option('--env <name>', 'only this environment (default: all of them)').env('VAULTRA_ENV'))
    .option('--next <n>', `how many fire times per job (1-${MAX_NEXT})`, '3')
    .option('--no-deployed', 'do not read the deployed schedules of cloud environments (no cloud calls)')
    .option('--json', 'print a JSON array, one object per job, on stdout')
    .action(async (options: ScheduleOptions, command: Command) => {
      const count = positiveInteger(options.next, '--next');
      if (count > MAX_NEXT) throw new ConfigError(`--next ${count}: expected at most ${MAX_NEXT}`);
      const config = await loadConfig(options.config, { checkSource: checkDatabaseUrl, engineOf: engineIdForUrl });
      const environments = options.env ? [environmentOf(config, options.env)] : [...config.environments.values()];
      const schedules: ShownSchedule[] = jobSchedules(environments, new Date(), count);
      // Local environments deploy nothing: a column of dashes would say nothing.
      const checkDeployed = options.deployed && environments.some((environment) => environment.cloud !== 'local');
      const shown = checkDeployed ? await withDeployed(schedules, environments, signalOf(command)) : schedules;
      if (options.json) return printJson(shown);
      printTable(shown, checkDeployed);
    });
}

async function withDeployed(schedules: readonly JobSchedule[], environments: readonly Environment[], signal: AbortSignal | undefined): Promise<ShownSchedule[]> {
  const checks = await checkDeployedEnvironments(environments, signal);
  for (const [environment, check] of checks) {
    if (check.unexpected.length > 0) process.stderr.write(`vaultra: warning: ${environment} has deployed schedules the file does not name: ${check.unexpected.join(', ')} (delete them, or redeploy the environment)\n`);
  }
  return schedules.map((schedule) => {
    const deployed = checks.get(schedule.environment)?.byJob.get(schedule.job);
    return deployed ? { ...schedule, deployed } : schedule;
  });
}

/**
 * `✓ matches`, `✗ <what differs>`, `unknown (<reason>)`; `-` for a local environment (nothing is
 * deployed). A reason the row above already gave (a whole environment unreadable) is not repeated.
 */
function describeDeployed(check: DeployedCheck | undefined, above: DeployedCheck | undefined): string {
  if (!check) return '-';
  if (check.state === 'matches') return '✓ matches';
  if (check.state === 'differs') return `✗ ${check.detail}`;
  return above?.state === 'unknown' && above.reason === check.reason ? 'unknown (as above)' : `unknown (${check.reason})`;
}

function printTable(schedules: readonly ShownSchedule[], showDeployed: boolean): void {
  if (schedules.length === 0) {
    process.stdout.write('no jobs\n');
    return;
  }
  const rows: string[][] = [];
  for (const [at, s] of schedules.entries()) {
    const above = schedules[at - 1]?.environment === s.environment ? schedules[at - 1]!.deployed : undefined;
    const gap = `${formatDurationMs(s.longestGapMs)}${s.longestGapMs > s.rpoMs ? ' ✗ > RPO' : ''}`;
    const head = [s.environment, s.job, `${s.cron} (${s.timeZone})`, gap, formatDurationMs(s.rpoMs)];
    const blank = head.map(() => '');
    // The deployed check is a property of the job: on its first line only.
    const deployed = (index: number) => (showDeployed ? [index === 0 ? describeDeployed(s.deployed, above) : ''] : []);
    if (s.next.length === 0) rows.push([...head, '- disabled', '', ...deployed(0)]);
    s.next.forEach((time, index) => rows.push([...(index === 0 ? head : blank), time.utc.slice(0, 16).replace('T', ' ') + 'Z', time.local, ...deployed(index)]));
    if (s.logs) rows.push([...blank.slice(0, 2), `logs every ${formatDurationMs(s.logs.everyMs)} (UTC)`, '', '', s.logs.next.map((time) => time.utc.slice(11, 16)).join(', '), '', ...deployed(1)]);
  }
  const header = ['ENV', 'JOB', 'SCHEDULE', 'LONGEST GAP', 'RPO', 'NEXT (UTC)', 'NEXT (LOCAL)', ...(showDeployed ? ['DEPLOYED'] : [])];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}

import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_PATH, environmentOf, loadConfig, type Environment, type VaultraConfig } from '../../core/config/load-config.js';
import { allWithinRpo, jobStatuses, type JobState, type JobStatus } from '../../core/usecases/job-status.js';
import { freshnessFromStatuses, freshnessReadings } from '../../core/usecases/job-freshness.js';
import { drillReadings } from '../../core/usecases/drill-gauges.js';
import { formatDurationMs } from '../../core/config/durations.js';
import { formatDuration } from '../format.js';
import { ConfigError } from '../../core/errors.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';
import { DEFAULT_STORAGE } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { prometheusText } from '../prometheus-text.js';
import { writeFileAtomically } from '../atomic-file.js';
import { catalogOption, openStore, printJson, signalOf } from './shared.js';

interface StatusOptions {
  config: string;
  env?: string;
  catalog?: string;
  json?: boolean;
  prometheus?: boolean;
  prometheusFile?: string;
}

/** Status as symbol + word: readable without colour and in a log file. */
const STATE_TEXT: Record<JobState, string> = { ok: '✓ ok', late: '✗ late', never: '? never ran', disabled: '- disabled' };

/**
 * `vaultra status`: every job of one environment as its catalog records it — last success
 * against the RPO, last failure, running runs, next fire time, log lag. Read-only; exits 1
 * when a job is past its RPO (or never ran), so a deploy gate or a monitoring check can use it.
 */
export function statusCommand(): Command {
  return new Command('status')
    .description("each job of an environment: last success against its RPO, last failure, running runs, next scheduled run, log lag (exit 1 when a job is late)")
    .addOption(new Option('--config <path>', 'the config file').default(DEFAULT_CONFIG_PATH).env('VAULTRA_CONFIG'))
    .addOption(new Option('--env <name>', 'the environment (default: the only local one)').env('VAULTRA_ENV'))
    .addOption(catalogOption())
    .addOption(new Option('--json', 'print a JSON array, one object per job, on stdout').conflicts('prometheus'))
    .option('--prometheus', "print the freshness gauges (last success age, RPO, log archive lag) and the last drill's (RTO, passed) in the Prometheus text format")
    .option('--prometheus-file <path>', "also write the freshness gauges to <path>, atomically (for node_exporter's textfile collector: a *.prom file in its folder)")
    .addHelpText(
      'after',
      `
A local environment's catalog is read beside its storage, as vaultra run records it. A cloud
environment's catalog is named with --catalog (dynamodb://<table>, firestore://<project>/<collection>,
aztable://<account>/<table>).

--prometheus prints one sample per enabled job of vaultra_job_last_success_age_seconds (none for a
job that never ran), vaultra_job_rpo_seconds and, for jobs with logs, vaultra_job_log_archive_lag_seconds,
labelled vaultra_job, vaultra_environment and db_system; for jobs drilled, vaultra_job_last_drill_rto_seconds
and vaultra_job_last_drill_passed (1 or 0): the names the OpenTelemetry Collector gives the
watchdogs' metrics, so one dashboard serves both (docs/observability.md). From cron:
  vaultra status --prometheus-file /var/lib/node_exporter/textfile/vaultra.prom >/dev/null

Exit codes: 0 every enabled job within its RPO (and its log RPO); 1 a job is late or never ran.`,
    )
    .action(async (options: StatusOptions, command: Command) => {
      const config = await loadConfig(options.config, { checkSource: checkDatabaseUrl, engineOf: engineIdForUrl });
      const environment = chooseEnvironment(config, options);
      if (environment.cloud !== 'local' && !options.catalog) {
        throw new ConfigError(`environment ${environment.name} runs in ${environment.cloud}: name its catalog with --catalog (${environment.cloud === 'aws' ? 'dynamodb://<table>' : environment.cloud === 'gcp' ? 'firestore://<project>/<collection>' : 'aztable://<account>/<table>'})`);
      }
      const storageUrl = environment.cloud === 'local' ? (environment.storage.url ?? DEFAULT_STORAGE) : DEFAULT_STORAGE;
      const { catalog } = await openStore(storageUrl, options.catalog);
      const statuses = await jobStatuses(environment, { catalog }, { signal: signalOf(command) });
      const exposition = options.prometheus || options.prometheusFile ? prometheusText([...freshnessReadings(freshnessFromStatuses(environment, statuses)), ...drillReadings(environment, statuses)]) : '';
      if (options.prometheusFile) await writeFileAtomically(options.prometheusFile, exposition);
      if (options.json) printJson(statuses);
      else if (options.prometheus) process.stdout.write(exposition);
      else printTable(environment.name, statuses, Date.now());
      if (!allWithinRpo(statuses)) process.exitCode = EXIT.runFailed;
    });
}

function chooseEnvironment(config: VaultraConfig, options: StatusOptions): Environment {
  if (options.env) return environmentOf(config, options.env);
  const locals = [...config.environments.values()].filter((environment) => environment.cloud === 'local');
  if (locals.length !== 1) throw new ConfigError(`${options.config} has ${locals.length} local environments: choose one with --env (${[...config.environments.keys()].join(', ')})`);
  return locals[0]!;
}

function printTable(environment: string, statuses: readonly JobStatus[], nowMs: number): void {
  if (statuses.length === 0) {
    process.stdout.write(`no jobs in environment ${environment}\n`);
    return;
  }
  const ago = (iso: string) => `${roughDuration(nowMs - Date.parse(iso))} ago`;
  const rows = statuses.map((s) => [
    s.job,
    STATE_TEXT[s.state],
    s.lastSuccess ? ago(s.lastSuccess.at) : 'none',
    formatDurationMs(s.rpoMs),
    s.lastFailure ? `${ago(s.lastFailure.at)}: ${clip(s.lastFailure.reason, REASON_WIDTH)}` : '',
    s.running.length === 0 ? '' : s.running.map((run) => `${run.runId} (${run.kind}, ${run.status})`).join(', '),
    s.nextRun ? `${s.nextRun.slice(0, 16).replace('T', ' ')}Z (in ${roughDuration(Date.parse(s.nextRun) - nowMs)})` : '',
    s.logs ? (s.logs.lagMs === undefined ? 'no log yet' : `${roughDuration(s.logs.lagMs)}${s.logs.lagBreached ? ' ✗' : ''} / ${formatDurationMs(s.logs.rpoMs)}`) : '',
    s.lastDrill ? drillCell(s.lastDrill, ago) : '',
  ]);
  const header = ['JOB', 'STATUS', 'LAST SUCCESS', 'RPO', 'LAST FAILURE', 'RUNNING', 'NEXT RUN', 'LOG LAG', 'LAST DRILL'];
  const used = header.map((_, i) => i < 4 || rows.some((row) => row[i] !== ''));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (used[i] ? c.padEnd(widths[i]!) : undefined)).filter((c) => c !== undefined).join('  ').trimEnd();
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}

/** `2h ago passed, RTO 41.2 s / 30m`: the newest drill's outcome and measured RTO against the job's budget. */
function drillCell(drill: NonNullable<JobStatus['lastDrill']>, ago: (iso: string) => string): string {
  const outcome = drill.status === 'succeeded' ? 'passed' : drill.status === 'failed' ? 'FAILED' : drill.status;
  const rto = drill.rtoMs === undefined ? '' : `, RTO ${formatDuration(drill.rtoMs)}${drill.rtoBudgetMs === undefined ? '' : ` / ${formatDurationMs(drill.rtoBudgetMs)}${drill.rtoMs > drill.rtoBudgetMs ? ' ✗' : ''}`}`;
  return `${ago(drill.at)} ${outcome}${rto}`;
}

/** A failure's reason in the table (`--json` has it whole): one long pg_dump line must not push the other columns off screen. */
const REASON_WIDTH = 60;

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** `3d 4h`, `2h 5m`, `12m`, `40s`: two units at most, for a human reading ages. */
export function roughDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const units: [string, number][] = [['d', 86_400], ['h', 3_600], ['m', 60]];
  for (const [index, [unit, size]] of units.entries()) {
    if (seconds < size) continue;
    const whole = Math.floor(seconds / size);
    const next = units[index + 1];
    const rest = next ? Math.floor((seconds % size) / next[1]) : 0;
    return rest > 0 ? `${whole}${unit} ${rest}${next![0]}` : `${whole}${unit}`;
  }
  return `${seconds}s`;
}

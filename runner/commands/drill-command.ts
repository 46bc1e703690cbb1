import { Command, Option } from 'commander';
import { runDrill, type DrillReport } from '../../core/usecases/drill.js';
import { DEFAULT_STORAGE } from '../context.js';
import { decryptorsFor } from '../keys.js';
import { existingDedupKey } from '../dedup-key.js';
import { trustPolicyFor } from '../signing-keys.js';
import { Progress } from '../progress.js';
import { formatBudget, formatBytes, formatDuration, printableName } from '../format.js';
import { drillSettingsFor, parseCheckFlag, parseRtoFlag } from '../drill-settings.js';
import { drillJson, writeDrillReport } from '../drill-report.js';
import { catalogOption, collect, openStore, printFields, printJson, resolveConnection, signalOf, TRUST_HELP, trustOptions } from './shared.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';
import { scratchProviderFor } from '../../core/adapters/engines/scratch-targets.js';
import { locateBackup } from '../../core/usecases/locate-backup.js';
import { AbortedError } from '../../core/errors.js';
import { runIdSchema } from '../../core/domain/run.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { dbSystemOf } from '../../core/domain/db-system.js';
import { recordRunMetrics } from '../telemetry.js';
import { loggedRun } from '../logged-run.js';
import { writeExitCodeOnExit } from '../done-file.js';

interface DrillOptions {
  from: string;
  job?: string;
  identity?: string[];
  passphraseEnv?: string;
  trust?: string[];
  allowUnsigned?: boolean;
  scratch?: string;
  rto?: string;
  check?: string[];
  config?: string;
  env?: string;
  report?: string;
  runId?: string;
  json?: boolean;
  progress: boolean;
  catalog?: string;
  dedupKey?: string;
  doneFile?: string;
}

/**
 * `vaultra drill`: a backup restored into a scratch target that exists only for the drill, proven
 * there, and measured (docs/drills.md). The drill's run is in the catalog either way; a failed
 * drill prints every check, files its report, alerts, then exits with the failure's code.
 */
export function drillCommand(): Command {
  const [trust, allowUnsigned] = trustOptions();
  return new Command('drill')
    .description('restore a backup into a throwaway server (or a scratch database), prove every table and check is there, measure the RTO, remove the scratch target')
    .argument('[runId|latest]', 'the backup to drill', 'latest')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'the job, when the storage holds several')
    .option('--identity <file>', 'age identity file (repeatable; default: your default identity)', collect)
    .option('--passphrase-env <VAR>', 'the passphrase is in environment variable VAR')
    .addOption(trust!)
    .addOption(allowUnsigned!)
    .option('--scratch <url|env://VAR>', 'restore into a new database on this server instead of a throwaway one (PostgreSQL, MariaDB/MySQL, MongoDB): created now, dropped at the end; a database that exists is refused')
    .option('--rto <duration>', "the restore time budget (90s, 30m, 2h; default: the job's drill.rto): a drill past it alerts")
    .option('--check <query => expected>', 'a check of your own: the query\'s first value must equal expected (repeatable; added to the job\'s drill.checks); or a named one as JSON, {"name": …, "query": …, "expect": …}', collect)
    .addOption(new Option('--config <path>', "the config file with the job's drill settings and its environment's notifications (default: vaultra.config.yaml when it exists)").env('VAULTRA_CONFIG'))
    .addOption(new Option('--env <name>', 'the environment of the job in the config file').env('VAULTRA_ENV'))
    .option('--report <file>', 'also write the evidence: Markdown (with its facts as JSON at the end), or JSON for a .json file')
    .option('--run-id <id>', 'record the drill under this run id (a scheduler that recorded the drill as pending passes it; default: a new one)')
    .option('--dedup-key <file|env://VAR>', "chunked snapshots: also check each chunk's id with the job's dedup key")
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-progress', 'no progress display on stderr')
    .addOption(catalogOption())
    .addOption(new Option('--done-file <path>', 'write the exit code to this file when the drill ends, passed, failed or interrupted (a GCP drill job\'s scratch server stops when it appears)').env('VAULTRA_DRILL_DONE_FILE'))
    .addHelpText(
      'after',
      `${TRUST_HELP}

Scratch targets: PostgreSQL gets a throwaway cluster (initdb + postgres from the installed server),
MySQL/MariaDB a throwaway MariaDB (mariadb-install-db + mariadbd), both on a private socket with no
TCP port; MongoDB a throwaway mongod (or FerretDB where no mongod is installed) on a private socket;
SQLite a temp file, a directory a temp folder.
They are removed when the drill ends: passed, failed, or interrupted (Ctrl-C, SIGTERM).

Checks: every table, view, sequence or path of the backup's contents list is present with the
recorded row count (exact counts must match; planner estimates are shown beside the count), the
schema objects restored are counted, and each check of the job's drill.checks (and --check) runs:
SQL on SQL engines; on MongoDB JSON, {"collection": "orders", "filter": {…}} (its count) or
{"collection": "orders", "pipeline": [ … ]} (the first value of its first document).

Examples:
  vaultra drill latest --job shop
  vaultra drill latest --job shop --rto 10m --report drill-shop.md
  vaultra drill 20261122T031502.123Z-3f9c2a --scratch postgres://drill@db-test/vaultra_drill_shop
  vaultra drill latest --job shop --check "select count(*) > 0 from orders => t"
  vaultra drill latest --job events --check '{"collection": "orders", "filter": {"paid": true}} => 100'`,
    )
    .action(async (ref: string, options: DrillOptions, command: Command) => {
      // First: whatever happens next, the scratch server beside the runner learns that the drill is over.
      if (options.doneFile) writeExitCodeOnExit(options.doneFile);
      const signal = signalOf(command);
      const store = await openStore(options.from, options.catalog);
      // The drill's log is kept beside a local catalog, as a backup's is (logged-run.ts).
      await loggedRun(store, options, async ({ catalog, note }) => {
        const { storage } = store;
        // The job names the config's drill settings: find it first (a storage with one job needs no --job).
        const job = options.job ?? (await locateBackup(storage, { ref }, signal)).job;
        const settings = await drillSettingsFor(options, job);
        const checks = [...settings.checks, ...(options.check ?? []).map(parseCheckFlag)];
        const rtoBudgetMs = options.rto === undefined ? settings.rtoBudgetMs : parseRtoFlag(options.rto);
        const scratchUrl = options.scratch === undefined ? undefined : await resolveConnection(options.scratch, signal);
        const { decryptor, randomAccess } = await decryptorsFor({ identity: options.identity, passphraseEnv: options.passphraseEnv });
        const dedupKey = await existingDedupKey(options.dedupKey);
        const trustPolicy = await trustPolicyFor(options, signal);
        const progress = new Progress('drilling', options.progress && !options.json);
        let report: DrillReport;
        try {
          report = await runDrill(
            { storage, catalog, decryptor, randomAccess, trust: trustPolicy, ...backupAdapters, ...(dedupKey ? { dedupKey } : {}), scratchFor: scratchProviderFor, notifiers: settings.notifiers, environment: settings.environment },
            { ref, job, checks, ...(scratchUrl ? { scratchUrl } : {}), ...(rtoBudgetMs ? { rtoBudgetMs } : {}), ...(options.runId === undefined ? {} : { runId: parseAtEdge(runIdSchema, options.runId, '--run-id') }), signal, onProgress: (bytes) => progress.update(bytes) },
          );
        } finally {
          progress.stop();
        }
        recordDrillMetrics(report, settings.environment);
        if (options.report) await writeDrillReport(options.report, report);
        for (const alert of report.alerts) for (const failed of alert.outcome.failed) process.stderr.write(`vaultra: warning: alert "${alert.title}" not delivered by ${failed.notifier}: ${failed.error}\n`);
        if (report.leftover) process.stderr.write(`vaultra: warning: the scratch target was not fully removed: ${report.leftover}\n`);
        if (options.json) {
          printJson(drillJson(report));
          // The JSON is for programs, and not copied into the log: the log says the outcome in words.
          note(drillTitle(report));
        } else printDrill(report, options.report);
        if (report.error !== undefined) throw signal?.aborted ? new AbortedError('drill interrupted: the scratch target was removed and the drill recorded as failed', { cause: report.error }) : report.error;
      });
    });
}

/** The drill as a run of kind `drill` (runs, duration, failures) and its RTO (`vaultra.drill.rto`), when telemetry is on. */
function recordDrillMetrics(report: DrillReport, environment: string): void {
  const { run, outcome } = report;
  recordRunMetrics({
    kind: 'drill',
    job: run.job,
    environment,
    dbSystem: dbSystemOf(report.backup.manifest.source.engine),
    status: report.passed ? 'succeeded' : 'failed',
    durationMs: run.durationMs ?? 0,
    ...(report.error === undefined ? {} : { errorType: report.error instanceof Error ? report.error.name : 'Error' }),
    rtoMs: outcome.rtoMs,
  });
}

function drillTitle(report: DrillReport): string {
  return `drill ${report.run.runId} of backup ${report.backup.runId} (job ${report.backup.job}) ${report.passed ? 'passed' : 'FAILED'}`;
}

function printDrill(report: DrillReport, reportPath: string | undefined): void {
  const { outcome, backup } = report;
  const passed = report.checks.filter((check) => check.passed).length;
  const phases = Object.entries(outcome.phasesMs).map(([phase, ms]) => `${phase} ${formatDuration(ms ?? 0)}`).join(', ');
  const budget = outcome.rtoBudgetMs === undefined ? undefined : `${formatBudget(outcome.rtoBudgetMs)}: ${outcome.rtoMs <= outcome.rtoBudgetMs ? 'within' : 'EXCEEDED'}`;
  printFields(drillTitle(report), [
    ['engine', `${backup.manifest.source.engine} ${backup.manifest.source.serverVersion}`],
    ['scratch', `${outcome.scratch ?? 'not started'}${outcome.scratchMs === undefined ? '' : `, ready in ${formatDuration(outcome.scratchMs)}`}; ${report.leftover ? 'NOT fully removed' : 'removed'}`],
    ['restored', report.bytesRaw === undefined ? 'nothing' : formatBytes(report.bytesRaw)],
    ['signed by', report.authenticity ? (report.authenticity.verified ? `${report.authenticity.keyId} (trusted as ${report.authenticity.trustedAs})` : `NOT PROVEN: ${report.authenticity.reason}`) : undefined],
    ['checks', `${passed} of ${report.checks.length} passed`],
    ['RTO', `${formatDuration(outcome.rtoMs)} (${phases})`],
    ['budget', budget],
    ['report', reportPath],
  ]);
  for (const check of report.checks) process.stdout.write(`  ${check.passed ? '✔' : '✘'} ${printableName(check.name)}: ${check.detail}\n`);
}

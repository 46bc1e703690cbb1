import { Command, Option } from 'commander';
import { backupSpecSchema, parseBackupSpecJson } from '../../core/domain/backup-spec.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { ConfigError } from '../../core/errors.js';
import { verifyLogArchive, type LogArchiveReport } from '../../core/usecases/verify-logs.js';
import { defaultJobName } from '../../core/adapters/engines/engines.js';
import { DEFAULT_STORAGE } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { runLogPush } from '../run-log-push.js';
import { refuseFlagsBesideSpec, specFromFlags, withStoredRunOptions, type StoredRunFlags } from './backup-command.js';
import { catalogOption, openStore, printFields, printJson, resolveConnection, signalOf } from './shared.js';
import { jobOf } from './job-of.js';

/** `vaultra logs push|verify`: the log archive point-in-time restores replay (docs/point-in-time.md). */
export function logsCommand(): Command {
  return new Command('logs').description('archive the server\'s change log between backups (binlog, WAL, oplog) for point-in-time restores').addCommand(pushCommand()).addCommand(verifyCommand());
}

function pushCommand(): Command {
  return withStoredRunOptions(
    new Command('push')
      .description('read the server\'s log from where the archive ends to now, and store it like a backup (run it every few minutes: the interval is your RPO)')
      .argument('[source-url]', 'postgres://… (self-managed, replication privilege), mariadb://… or mysql://… (binary log on), mongodb://… (a replica set), or a secret holding one'),
    'log',
  )
    .addHelpText(
      'after',
      `
The first push of a job starts at its newest base backup's position (a full backup records it;
PostgreSQL needs a physical base: vaultra backup <url> --method physical), or at the server's
current position. Each later push continues exactly where the last one ended; a log the server
purged before it was pushed is a gap that vaultra logs verify reports and restores refuse.

Examples:
  vaultra logs push mariadb://backup@db/shop --to s3://backups/db
  vaultra logs push postgres://replicator@db/shop --job shop
  vaultra logs push --spec '{"job":"shop","source":"secret+aws://…","destinations":["s3://…"]}'`,
    )
    .action(async (sourceArgument: string | undefined, options: StoredRunFlags, command: Command) => {
      const signal = signalOf(command);
      const output = { progress: options.progress, ...(options.json ? { json: true } : {}), ...(options.catalog ? { catalog: options.catalog } : {}) };
      if (options.spec !== undefined) {
        refuseFlagsBesideSpec(sourceArgument, command);
        const spec = parseBackupSpecJson(options.spec);
        await runLogPush(spec.signingKey === undefined && options.signingKey ? { ...spec, signingKey: options.signingKey } : spec, output, signal);
        return;
      }
      if (sourceArgument === undefined) throw new ConfigError('vaultra logs push needs a source: a database URL, a secret reference, or --spec <json>');
      const resolved = options.job === undefined ? await resolveConnection(sourceArgument, signal) : undefined;
      const spec = parseAtEdge(backupSpecSchema, specFromFlags(sourceArgument, options, resolved), 'logs push');
      await runLogPush({ ...spec, job: options.job ?? defaultJobName(resolved ?? sourceArgument) }, output, signal);
    });
}

function verifyCommand(): Command {
  return new Command('verify')
    .description('check the archived log is contiguous from every base: each base\'s reachable times, and every gap')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'the job, when the storage holds several')
    .option('--json', 'print the report as JSON')
    .addOption(catalogOption())
    .addHelpText('after', '\nExit codes: 0 the archive is contiguous from every base; 9 it has a gap or a base it cannot make consistent; 5 no archived log.')
    .action(async (options: { from: string; job?: string; json?: boolean; catalog?: string }, command: Command) => {
      const signal = signalOf(command);
      const { storage, catalog } = await openStore(options.from, options.catalog);
      const job = await jobOf(storage, options.job, signal);
      const report = await verifyLogArchive({ storage, catalog }, { job, ...(signal ? { signal } : {}) });
      process.exitCode = report.ok ? EXIT.ok : EXIT.checkProblems;
      if (options.json) return printJson(report);
      printReport(report);
    });
}

function printReport(report: LogArchiveReport): void {
  const time = (date: Date | undefined) => (date ? date.toISOString() : '—');
  printFields(report.ok ? `the ${report.kind} archive of job ${report.job} is contiguous from every base` : `the ${report.kind} archive of job ${report.job} has problems`, [
    ['log runs', String(report.ranges)],
    ['covers until', time(report.coveredUntil)],
    ['reachable', report.windows.length ? report.windows.map((w) => `${time(w.from)} … ${time(w.until)}`).join(', ') : 'nothing'],
    ...report.bases.map((base): [string, string] => [`base ${base.runId}`, base.from ? `${time(base.from)} … ${time(base.until)} (${base.ranges} log runs)` : 'NOT CONSISTENT: the log it needs to become consistent is not archived']),
    ...report.gaps.map((gap): [string, string] => [
      'GAP',
      `${gap.cause === 'purged' ? 'the server purged its log' : 'no archived log'} from ${gap.after} to ${gap.resumesAt} (times ${time(gap.lastCoveredAt)} … ${time(gap.resumesCoveringAt)} cannot be restored to; log run ${gap.runId} resumes): take a full backup to start a new reachable chain`,
    ]),
    ...report.skipped.map((line): [string, string] => ['skipped', line]),
  ]);
}

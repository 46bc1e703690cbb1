import { Command, Option } from 'commander';
import { runRestore } from '../../core/usecases/restore.js';
import { DEFAULT_STORAGE } from '../context.js';
import { decryptorsFor } from '../keys.js';
import { existingDedupKey } from '../dedup-key.js';
import { Progress } from '../progress.js';
import { formatBytes, printableName } from '../format.js';
import { trustPolicyFor } from '../signing-keys.js';
import { authenticityJson, catalogOption, collect, commaList, openStore, positiveInteger, resolveConnection, printFields, printJson, signalOf, TRUST_HELP, trustOptions } from './shared.js';
import { measuredAction, runTracer, traceFields } from '../telemetry.js';
import { aroundVolumeContainers } from '../stop-containers.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';
import { SUPPORTED_TARGETS } from '../../core/adapters/engines/engine-descriptors.js';
import { ConfigError } from '../../core/errors.js';
import { isDataDirectory, restoreAtCommand } from './restore-at-command.js';
import { launchedRunId } from '../launched-run-id.js';
import { loggedRun } from '../logged-run.js';

export interface RestoreOptions {
  target: string;
  from: string;
  job?: string;
  identity?: string[];
  passphraseEnv?: string;
  trust?: string[];
  allowUnsigned?: boolean;
  tables?: string[];
  schemas?: string[];
  paths?: string[];
  dryRun?: boolean;
  force?: boolean;
  owner: boolean;
  preserveSpecial?: boolean;
  stopContainers?: boolean;
  json?: boolean;
  progress: boolean;
  catalog?: string;
  jobs?: string;
  dedupKey?: string;
  at?: string;
  start?: boolean;
}

export function restoreCommand(): Command {
  return new Command('restore')
    .description('restore a backup into a database; the target changes only if every check passes')
    .argument('[runId|latest]', 'the run to restore, or latest (with --at: the base to start from; default: the newest that reaches the time)')
    .requiredOption('--target <url>', `where to restore: ${SUPPORTED_TARGETS}`)
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'the job, when the storage holds several')
    .option('--identity <file>', 'age identity file (repeatable; default: your default identity)', collect)
    .option('--passphrase-env <VAR>', 'the passphrase is in environment variable VAR')
    .addOption(trustOptions()[0]!)
    .addOption(trustOptions()[1]!)
    .option('--tables <list>', 'restore only these tables (comma-separated): PostgreSQL table or schema.table, MySQL/SQLite table, MongoDB db.collection (* wildcards)', commaList)
    .option('--schemas <list>', 'restore only these schemas (PostgreSQL, comma-separated)', commaList)
    .option('--paths <list>', 'restore only these paths of a directory backup (comma-separated, relative to its root)', commaList)
    .option('--dry-run', 'read and check the whole backup, report what would be restored and replaced; write nothing')
    .option('--force', 'restore into a target that already holds data, replacing what the backup contains (directories: each top-level entry the backup holds replaces the target\'s entry of that name)')
    .option('--no-owner', 'PostgreSQL: do not restore ownership and privileges (for another cluster); directories: with --preserve-special, still do not restore the archived owners')
    .option('--preserve-special', 'directories: restore the archive as it is — setuid/setgid bits, device nodes, FIFOs, world-writable modes, file capabilities and (as root) the archived owners; without it they are left out, files belong to the restoring user, and the output says what was left out')
    .option('--jobs <n>', 'chunked snapshots of PostgreSQL, MariaDB, MongoDB: load this many tables at once (default 1)')
    .option('--stop-containers', 'Docker volume targets: stop the running containers that use the volume for the restore, and start exactly those again afterwards (also when it fails)')
    .option('--dedup-key <file|env://VAR>', 'chunked snapshots: also check each chunk\'s id with the job\'s dedup key (default: $VAULTRA_DEDUP_KEY or your dedup-key.txt, when there is one)')
    .option('--at <time|latest>', 'point-in-time restore: the newest base before the time, then the archived log replayed up to it (ISO 8601 with a zone, e.g. 2026-12-06T10:42:00Z; latest: as far as the archive reaches)')
    .option('--start', 'PostgreSQL data directory targets: start a throwaway server on it to carry out the recovery and check it, then stop it')
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-progress', 'no progress display on stderr')
    .addOption(catalogOption())
    .addHelpText(
      'after',
      `${TRUST_HELP}

Examples:
  vaultra restore latest --job shop --target postgres://app@localhost/shop_restored
  vaultra restore latest --job shop --target postgres://app@localhost/shop_copy --trust ecdsa-p256:MFkw…
  vaultra restore latest --job shop --target mariadb://root@localhost/shop_copy --tables orders,customers
  vaultra restore latest --job events --target mongodb://localhost/events_copy --tables 'events.audit*'
  vaultra restore latest --job uploads --target dir:/srv/restore/uploads --paths config,images/logo.png
  vaultra restore latest --job pgdata --target volume:pgdata_copy --preserve-special   (numeric owners kept)
  vaultra restore 20261122T031502.123Z-3f9c2a --target sqlite:./copy.db --dry-run
  vaultra restore --at 2026-12-06T10:42:00Z --job shop --target mariadb://root@localhost/shop_at_1042
  vaultra restore --at latest --job shop --target pgdata:/srv/restore/shop --start
  vaultra restore --at 2026-12-06T10:42:00Z --job shop --target … --dry-run        (the plan: base, log runs, reachable times)`,
    )
    .action(measuredAction('restore', async (ref: string | undefined, options: RestoreOptions, command: Command) => {
      const store = await openStore(options.from, options.catalog);
      // The restore's log is kept beside a local catalog, as a backup's is (logged-run.ts).
      await loggedRun(store, options, async ({ catalog, notedTracer, note, recorded }) => {
        const { storage } = store;
        const target = await resolveConnection(options.target, signalOf(command));
        // A physical base is only a base: it becomes a database once the log brings it to its consistent point.
        if (options.at !== undefined || isDataDirectory(target)) {
          await restoreAtCommand(ref, { ...options, target }, { storage, catalog }, signalOf(command));
          return;
        }
        if (ref === undefined) throw new ConfigError('vaultra restore needs the run to restore (a run id or latest), or --at <time>');
        const { decryptor, randomAccess } = await decryptorsFor({ identity: options.identity, passphraseEnv: options.passphraseEnv });
        const dedupKey = await existingDedupKey(options.dedupKey);
        // A launched restore records its run under the id its launcher gave it.
        const runId = launchedRunId();
        const jobs = options.jobs === undefined ? undefined : positiveInteger(options.jobs, '--jobs');
        const trust = await trustPolicyFor(options, signalOf(command));
        const progress = new Progress(options.dryRun ? 'checking' : 'restoring', options.progress && !options.json);
        let report;
        try {
          report = await aroundVolumeContainers(options.target, options.stopContainers, () => runRestore(
            { storage, catalog, decryptor, randomAccess, trust, ...backupAdapters, tracer: notedTracer(runTracer()), ...(dedupKey ? { dedupKey } : {}) },
            {
              ref,
              job: options.job,
              target,
              tables: options.tables,
              schemas: options.schemas,
              paths: options.paths,
              force: options.force,
              noOwner: !options.owner,
              preserveSpecial: options.preserveSpecial,
              dryRun: options.dryRun,
              ...(jobs ? { jobs } : {}),
              ...(runId ? { runId } : {}),
              signal: signalOf(command),
              onProgress: (bytes) => progress.update(bytes),
            },
          ), signalOf(command));
        } finally {
          progress.stop();
        }
        const restoreRun = recorded();
        const summary = {
          runId: report.backup.runId,
          job: report.backup.job,
          engine: report.backup.manifest.source.engine,
          target: redactTarget(report.target),
          dryRun: report.dryRun,
          status: report.dryRun ? 'checked' : 'restored',
          bytesRaw: report.bytesRaw,
          restored: report.restored,
          replaced: report.replaced,
          ...(report.structure ? { structure: report.structure } : {}),
          ...(report.notes?.length ? { notes: report.notes } : {}),
          ...authenticityJson(report.authenticity),
          // The restore's own run (a dry run records none): vaultra show <it> --log prints its log.
          ...(restoreRun ? { restoreRunId: restoreRun.runId } : {}),
          ...traceFields(),
        };
        for (const note of report.notes ?? []) process.stderr.write(`vaultra: warning: ${note}\n`);
        const title = report.dryRun ? `dry run: backup ${report.backup.runId} checks out; nothing was written` : `restored backup ${report.backup.runId} of job ${report.backup.job}`;
        if (options.json) {
          printJson(summary);
          // The JSON is for programs, and not copied into the log: the log says the outcome in words.
          note(title);
          return;
        }
        const what = report.restored.length === report.backup.manifest.contents.length ? 'everything' : report.restored.map((c) => printableName(c.schema ? `${c.schema}.${c.name}` : c.name)).join(', ');
        printFields(title, [
          ['target', summary.target],
          [report.dryRun ? 'would restore' : 'restored', `${what} (${report.restored.length} object(s), ${formatBytes(report.bytesRaw)})`],
          [report.dryRun ? 'would replace' : 'replaced', report.replaced.length ? report.replaced.join(', ') : 'nothing'],
          ['signed by', report.authenticity.verified ? `${report.authenticity.keyId} (trusted as ${report.authenticity.trustedAs})` : `NOT PROVEN: ${report.authenticity.reason}`],
          ['checks', checksOf(report.backup.manifest.snapshot !== undefined, report.structure)],
          ['run', restoreRun?.runId],
        ]);
      });
    }));
}

/** Targets can carry passwords in their URL: never print one. */
export function redactTarget(url: string): string {
  return url.replace(/(\/\/[^:/@]*):[^@/]*@/, '$1:***@');
}

/** What a restore checked on the way in. */
function checksOf(chunked: boolean, structure: string | undefined): string {
  const read = chunked ? "the index's sha256, each pack's pinned header, age authentication of every segment read, each chunk's length" : 'sha256, age authentication';
  return structure ? `${read}, ${structure}` : read;
}

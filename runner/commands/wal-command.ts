import { isAbsolute, resolve } from 'node:path';
import { Command } from 'commander';
import { backupSpecSchema } from '../../core/domain/backup-spec.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { ConfigError } from '../../core/errors.js';
import { readWalFile } from '../../core/adapters/engines/postgres/pg-wal-segment-file.js';
import { runLogPush } from '../run-log-push.js';
import { specFromFlags, withStoredRunOptions, type StoredRunFlags } from './backup-command.js';
import { signalOf } from './shared.js';

/**
 * `vaultra wal push %p`: PostgreSQL's `archive_command`, one finished WAL segment at a time,
 * stored as a log run like `vaultra logs push` stores a catch-up. Exit 0 only once it is stored:
 * the server keeps the segment and retries until then.
 */
export function walCommand(): Command {
  return new Command('wal').description("PostgreSQL's archive_command: store each WAL segment the server hands over").addCommand(pushCommand());
}

function pushCommand(): Command {
  return withStoredRunOptions(
    new Command('push')
      .description('store one WAL segment (archive_command = \'vaultra wal push %p --job <job> --to <store>\'); exits 0 only once it is stored')
      .argument('<path>', 'the segment, as the server passes it (%p, relative to the data directory)'),
    'segment',
  )
    .addHelpText(
      'after',
      `
archive_command runs on the database host, as the server's OS user, for every segment: use it
when Vaultra can run there (RPO: one segment, or archive_timeout). vaultra logs push reads WAL
remotely through a replication slot on a schedule (RPO: the interval): use it for a serverless
deployment. See docs/point-in-time-postgres.md.

Example (postgresql.conf):
  archive_mode = on
  archive_command = 'vaultra wal push %p --job shop --to s3://backups/db --recipient age1…'`,
    )
    .action(async (path: string, options: StoredRunFlags, command: Command) => {
      if (options.spec !== undefined) throw new ConfigError('vaultra wal push takes its settings as flags (archive_command), not --spec');
      if (options.job === undefined) throw new ConfigError("vaultra wal push needs --job: the job whose base backups the WAL belongs to");
      const file = isAbsolute(path) ? path : resolve(process.cwd(), path);
      const output = { progress: false, ...(options.json ? { json: true } : {}), ...(options.catalog ? { catalog: options.catalog } : {}) };
      // The spec's source is never read: the segment is what the server handed over.
      const spec = parseAtEdge(backupSpecSchema, specFromFlags('postgres://archive-command', options, undefined), 'wal push');
      await runLogPush(spec, output, signalOf(command), { engine: 'postgres', read: (readOptions) => readWalFile(file, readOptions) });
    });
}

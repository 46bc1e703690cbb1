import { Command, Option } from 'commander';
import { listBackupKeys } from '../../core/usecases/locate-backup.js';
import { DEFAULT_STORAGE } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { catalogOption, openStore, printJson } from './shared.js';

interface ListOptions {
  from: string;
  job?: string;
  all?: boolean;
  json?: boolean;
  catalog?: string;
}

export function listCommand(): Command {
  return new Command('list')
    .description('list backups, newest first (from the catalog; --all adds failed runs, restores and verifies)')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'only this job')
    .option('--all', 'every recorded run, not only successful backups')
    .option('--json', 'print a JSON array of runs on stdout')
    .addOption(catalogOption())
    .action(async (options: ListOptions) => {
      const { storage, catalog } = await openStore(options.from, options.catalog);
      const runs = await catalog.list(options.all ? { job: options.job } : { job: options.job, kind: 'backup', status: 'succeeded' });
      if (options.json) return printJson(runs);
      if (runs.length === 0) {
        const inStorage = await listBackupKeys(storage, options.job);
        process.stdout.write(inStorage.length > 0 ? `no runs in the catalog, but ${storage.location} holds ${inStorage.length} backup(s): run vaultra catalog rebuild --from ${options.from}\n` : `no backups in ${storage.location}\n`);
        return;
      }
      const rows = runs.map((r) => [r.runId, r.job, r.kind, r.status, r.engine ?? '', r.bytesStored === undefined ? '' : formatBytes(r.bytesStored), r.durationMs === undefined ? '' : formatDuration(r.durationMs), r.error?.message ?? '']);
      const header = ['RUN ID', 'JOB', 'KIND', 'STATUS', 'ENGINE', 'STORED', 'TOOK', options.all ? 'ERROR' : ''];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
      process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
    });
}

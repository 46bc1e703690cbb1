import { Command, Option } from 'commander';
import { listRuns } from '../../core/usecases/list-runs.js';
import { redact } from '../../core/domain/redact.js';
import { DEFAULT_STORAGE } from '../context.js';
import { formatBytes, formatDuration } from '../format.js';
import { catalogOption, openStore, printJson, signalOf } from './shared.js';
import { listDrills } from './list-drills.js';

interface ListOptions {
  from: string;
  job?: string;
  all?: boolean;
  logs?: boolean;
  drills?: boolean;
  json?: boolean;
  catalog?: string;
}

export function listCommand(): Command {
  return new Command('list')
    .description('list the backups at a storage location, newest first (--all adds the failed runs, restores and verifies recorded there)')
    .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
    .option('--job <name>', 'only this job')
    .option('--all', 'every run recorded at this location, not only its backups')
    .option('--logs', 'also the log runs (vaultra logs push), with the range of the log each stored')
    .option('--drills', 'the restore drills instead (vaultra drill), per job with its RTO trend')
    .option('--json', 'print a JSON array of runs on stdout')
    .addOption(catalogOption())
    .action(async (options: ListOptions, command: Command) => {
      const { storage, catalog } = await openStore(options.from, options.catalog);
      if (options.drills) return listDrills(catalog, { job: options.job, json: options.json, signal: signalOf(command) });
      const { runs, unreadable } = await listRuns(storage, catalog, { job: options.job, all: options.all, logs: options.logs, signal: signalOf(command) });
      // A damaged manifest is not a backup, but one bad folder must not hide the others.
      for (const { reason } of unreadable) process.stderr.write(`vaultra: warning: not listed: ${redact(reason)}\n`);
      if (options.json) return printJson(runs);
      if (runs.length === 0) {
        process.stdout.write(`no backups in ${storage.location}\n`);
        return;
      }
      const rows = runs.map((r) => [r.runId, r.job, r.kind, r.status, r.kind === 'backup' ? (r.type ?? 'full') : r.log ? `${r.log.kind} → ${r.log.end}` : '', r.engine ?? '', r.bytesStored === undefined ? '' : formatBytes(r.bytesStored), r.durationMs === undefined ? '' : formatDuration(r.durationMs), r.error?.message ?? '']);
      const header = ['RUN ID', 'JOB', 'KIND', 'STATUS', 'TYPE', 'ENGINE', 'STORED', 'TOOK', options.all ? 'ERROR' : ''];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
      process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
    });
}

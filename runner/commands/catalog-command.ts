import { Command, Option } from 'commander';
import { rebuildCatalog } from '../../core/usecases/rebuild-catalog.js';
import { repairRuns } from '../../core/usecases/repair-runs.js';
import { DEFAULT_STORAGE } from '../context.js';
import { repairLines, repairSummary } from '../repair-output.js';
import { catalogOption, openStore, printJson, signalOf, thisHost } from './shared.js';

export function catalogCommand(): Command {
  const catalog = new Command('catalog').description('manage the catalog of runs');
  catalog.addCommand(
    new Command('rebuild')
      .description('re-create the catalog records of every backup from the manifests in storage')
      .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
      .option('--job <name>', 'only this job')
      .option('--json', 'print the result as JSON')
      .addOption(catalogOption())
      .action(async (options: { from: string; job?: string; json?: boolean; catalog?: string }, command: Command) => {
        const { storage, catalog: runs } = await openStore(options.from, options.catalog);
        const result = await rebuildCatalog(storage, runs, { job: options.job, signal: signalOf(command) });
        if (options.json) return printJson(result);
        process.stdout.write(`catalog rebuilt from ${storage.location}: ${result.recorded} backup(s) recorded, ${result.unchanged} already present\n`);
      })
      .exitOverride(),
  );
  catalog.addCommand(
    new Command('repair')
      .description('settle abandoned runs (their process is gone, or they are past their timeout) and remove what no live run owns: temp files, incomplete uploads, empty folders')
      .addOption(new Option('--from <storage-url>', 'where the backups are').default(DEFAULT_STORAGE).env('VAULTRA_STORAGE'))
      .option('--job <name>', 'only this job')
      .option('--json', 'print the result as JSON')
      .addOption(catalogOption())
      .addHelpText(
        'after',
        `
A run still recorded as running is abandoned when its process is gone (checked only for runs of
this host) or when it is past its timeout (2h unless its record says otherwise) plus 15 minutes.
A backup whose manifest is in storage is recorded as succeeded, any other abandoned run as
failed. Every backup does the same for its own job when it ends.`,
      )
      .action(async (options: { from: string; job?: string; json?: boolean; catalog?: string }, command: Command) => {
        const { storage, catalog: runs } = await openStore(options.from, options.catalog);
        const report = await repairRuns({ catalog: runs, storage, host: thisHost, now: () => new Date() }, { ...(options.job ? { job: options.job } : {}), signal: signalOf(command) });
        if (options.json) printJson(report);
        else process.stdout.write([`repaired ${storage.location}: ${repairSummary(report)}`, ...repairLines(report).map((line) => `  ${line}`)].join('\n') + '\n');
        // Something that could not be removed now is a failure to report, not to hide.
        if (report.failed.length > 0) {
          process.stderr.write(`vaultra: error: ${report.failed.length} leftover(s) in ${storage.location} could not be removed (listed above); run the repair again once the storage answers\n`);
          process.exitCode = 1;
        }
      })
      .exitOverride(),
  );
  return catalog;
}

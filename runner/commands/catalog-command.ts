import { Command, Option } from 'commander';
import { rebuildCatalog } from '../../core/usecases/rebuild-catalog.js';
import { DEFAULT_STORAGE } from '../context.js';
import { catalogOption, openStore, printJson, signalOf } from './shared.js';

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
  return catalog;
}

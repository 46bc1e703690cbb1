import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_PATH, environmentOf, loadConfig, type Environment, type VaultraConfig } from '../../core/config/load-config.js';
import { ConfigError } from '../../core/errors.js';
import { systemClock } from '../../core/domain/clock.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';
import { DEFAULT_STORAGE } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { catalogOption, openStore } from './shared.js';
import { runLogReaderFor } from '../run-log-readers.js';
import { cloudConsoleOf } from '../tui/cloud-endpoints.js';

interface TuiOptions {
  config: string;
  env?: string;
  from?: string;
  catalog?: string;
}

/**
 * `vaultra tui`: the interactive console over one environment — its jobs, their runs, a run's
 * manifest and contents, verify, restore and backup-now with live progress, the config checked.
 * Every screen reads the use cases the other commands read and names its CLI equivalent.
 */
export function tuiCommand(): Command {
  return new Command('tui')
    .description('an interactive terminal console: jobs and their RPO, run history and contents, verify, restore (dry run and typed confirmation first), backup now, config check')
    .addOption(new Option('--config <path>', 'the config file').default(DEFAULT_CONFIG_PATH).env('VAULTRA_CONFIG'))
    .addOption(new Option('--env <name>', 'the environment (default: the only local one)').env('VAULTRA_ENV'))
    .addOption(new Option('--from <storage-url>', "where the environment's backups are (default: its storage, as in the config)"))
    .addOption(catalogOption())
    .addHelpText(
      'after',
      `
Keys: arrows move, enter opens, esc goes back, q quits; each screen lists its keys and the
vaultra command that does the same. Needs a terminal (80×24 or larger; works over SSH); with
stdout not a terminal it exits 2 and says which commands to script instead.

A cloud environment is read from its catalog and storage: name them with --catalog
(dynamodb://<table>, firestore://<project>/<collection>, aztable://<account>/<table>) and --from.
Its actions (backup now, verify, restore) go to the environment's api function — on AWS
vaultra-<env>-api, elsewhere the function's URL, or the environment's api: setting; Azure
wants the function key in VAULTRA_API_KEY — and the run is followed until it finishes, with
the newest lines of its log (CloudWatch Logs, Cloud Logging, Log Analytics) when allowed.`,
    )
    .action(async (options: TuiOptions) => {
      if (!process.stdout.isTTY || !process.stdin.isTTY) {
        throw new ConfigError('vaultra tui needs a terminal on stdin and stdout: for scripts use vaultra status, list, show, verify and restore (each with --json)');
      }
      // ink draws nothing but the last frame when $CI or $CONTINUOUS_INTEGRATION is set (is-in-ci,
      // read as ink is imported). The console runs on a terminal only, where it must draw.
      for (const name of ['CI', 'CONTINUOUS_INTEGRATION']) delete process.env[name];
      // Loaded only here: the console's UI library stays out of every other command's start-up.
      const { startConsole } = await import('../tui/start-console.js');
      let config: VaultraConfig;
      try {
        config = await loadConfig(options.config, { checkSource: checkDatabaseUrl, engineOf: engineIdForUrl });
      } catch (error) {
        // A file that exists but does not load opens on its problems, where they can be read and fixed.
        if (!(error instanceof ConfigError) || /cannot read/.test(error.message)) throw error;
        const end = await startConsole({ brokenConfig: options.config, environment: options.env ?? '(config does not load)' }, systemClock);
        if (end === 'interrupted') process.exitCode = EXIT.interrupted;
        return;
      }
      const environment = chooseEnvironment(config, options);
      const storageUrl = options.from ?? (environment.cloud === 'local' ? (environment.storage.url ?? DEFAULT_STORAGE) : undefined);
      if (environment.cloud !== 'local' && (!options.catalog || !storageUrl)) {
        throw new ConfigError(`environment ${environment.name} runs in ${environment.cloud}: name its catalog with --catalog and its storage with --from`);
      }
      const store = await openStore(storageUrl!, options.catalog);
      const { storage, catalog } = store;
      // A cloud environment acts through its api function and reads runs' logs from its log service.
      const cloud = environment.cloud === 'local' ? undefined : await cloudConsoleOf(environment);
      const runLog = cloud ? ('reader' in cloud.runLog ? cloud.runLog.reader : undefined) : runLogReaderFor(store);
      const sources = { configPath: options.config, environment, storageUrl: storageUrl!, storage, catalog, ...(options.catalog ? { catalogSpec: options.catalog } : {}), ...(runLog ? { runLog } : {}), ...(cloud ? { cloud } : {}) };
      const end = await startConsole({ sources }, systemClock);
      if (end === 'interrupted') process.exitCode = EXIT.interrupted;
    });
}

function chooseEnvironment(config: VaultraConfig, options: TuiOptions): Environment {
  if (options.env) return environmentOf(config, options.env);
  const locals = [...config.environments.values()].filter((environment) => environment.cloud === 'local');
  if (locals.length !== 1) throw new ConfigError(`${options.config} has ${locals.length} local environments: choose one with --env (${[...config.environments.keys()].join(', ')})`);
  return locals[0]!;
}

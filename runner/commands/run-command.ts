import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_PATH, environmentOf, jobOf, loadConfig } from '../../core/config/load-config.js';
import { backupSpecOf, logsPushSpecOf } from '../../core/usecases/runner-commands.js';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_STORAGE } from '../context.js';
import { runBackupSpec } from '../run-backup-spec.js';
import { runLogPush } from '../run-log-push.js';
import { openStore, signalOf } from './shared.js';
import { withRunAlerts } from '../local-alerts.js';
import { newRunId } from '../../core/domain/run.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';

interface RunOptions {
  config: string;
  env?: string;
  logs?: boolean;
  json?: boolean;
  progress: boolean;
}

/**
 * `vaultra run <job>`: one job of a local environment of vaultra.config.yaml, now — the laptop
 * and single-VM use of the same config the clouds deploy. It builds the job's spec with the
 * function that builds a cloud runner's, and runs it with the function `vaultra backup` runs
 * every spec with, in this process: the two cannot drift apart.
 */
export function runCommand(): Command {
  return new Command('run')
    .description('run one job of a local environment in vaultra.config.yaml now (cloud environments run on their own schedule)')
    .argument('<job>', 'the job name, as in the config file')
    .addOption(new Option('--config <path>', 'the config file').default(DEFAULT_CONFIG_PATH).env('VAULTRA_CONFIG'))
    .addOption(new Option('--env <name>', 'the environment (default: the only local one)').env('VAULTRA_ENV'))
    .option('--logs', "push the job's log instead of backing it up (its logs: schedule; for cron: */5 * * * * vaultra run app --logs)")
    .option('--json', 'print the result as one JSON object on stdout')
    .option('--no-progress', 'no progress display on stderr')
    .addHelpText(
      'after',
      `
Examples:
  vaultra run app                                   the job "app" of the local environment
  vaultra run app --logs                            one log catch-up of "app" (point-in-time restores)
  vaultra run app --env laptop --config ./ops/vaultra.config.yaml --json

The environment's notifications (vaultra.config.yaml) hear of the run: a start ping and a
success for healthchecks.io, a failure for every target, the all-clear after a failure.

A cloud environment's jobs run where it is deployed: start one on demand through its api
function (AWS: aws lambda invoke --function-name <api> --payload '{"action":"backup","job":"…"}').`,
    )
    .action(async (jobName: string, options: RunOptions, command: Command) => {
      const config = await loadConfig(options.config, { checkSource: checkDatabaseUrl, engineOf: engineIdForUrl });
      const locals = [...config.environments.values()].filter((environment) => environment.cloud === 'local');
      let environmentName = options.env;
      if (!environmentName) {
        if (locals.length !== 1) throw new ConfigError(`${options.config} has ${locals.length} local environments: choose one with --env (${locals.map((e) => e.name).join(', ') || 'none'})`);
        environmentName = locals[0]!.name;
      }
      const environment = environmentOf(config, environmentName);
      if (environment.cloud !== 'local') {
        throw new ConfigError(`environment ${environment.name} runs in ${environment.cloud}: start its jobs on demand through its api function, not on this machine`);
      }
      const job = jobOf(environment, jobName);
      const target = { storageUrl: environment.storage.url ?? DEFAULT_STORAGE, ...(environment.signing.key ? { signingKey: environment.signing.key } : {}) };
      const output = { progress: options.progress, ...(options.json ? { json: true } : {}) };
      if (options.logs) return runLogPush(logsPushSpecOf(job, target), output, signalOf(command));
      // The run id is chosen here so the start alert (a healthchecks.io /start ping) names the run that follows.
      const runId = newRunId();
      const spec = backupSpecOf(job, target, runId);
      const catalog = async () => (await openStore(spec.destinations[0]!)).catalog;
      await withRunAlerts({ environment, job, runId, catalog }, () => runBackupSpec(spec, output, signalOf(command)));
    });
}

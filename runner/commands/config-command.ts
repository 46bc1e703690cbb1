import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_CONFIG_PATH, environmentOf, jobOf, loadConfig } from '../../core/config/load-config.js';
import { readYaml } from '../../core/config/read-yaml.js';
import { validateConfigText, type ConfigReport } from '../../core/config/validate-config.js';
import { environmentProvenance, layeredSetting, type LayeredSetting, type ResolvedJob } from '../../core/config/config-provenance.js';
import { notificationTargets, type NotificationTarget } from '../../core/config/notification-targets.js';
import { systemClock } from '../../core/domain/clock.js';
import { ConfigError } from '../../core/errors.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';
import { DEFAULT_STORAGE } from '../context.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from './shared.js';

interface ValidateOptions {
  config: string;
  json?: boolean;
}

interface ShowOptions {
  config: string;
  env?: string;
  job?: string;
  json?: boolean;
}

const configOption = () => new Option('--config <path>', 'the config file').default(DEFAULT_CONFIG_PATH).env('VAULTRA_CONFIG');

/** `vaultra config validate|show`: the config file checked whole, and one environment as the runner resolves it. */
export function configCommand(): Command {
  const config = new Command('config').description('check vaultra.config.yaml, and show an environment as it resolves');
  config.addCommand(
    new Command('validate')
      .description('report every error of the config file at once (path, value, what was expected) and warnings for risky choices; exit 2 on errors')
      .addOption(configOption())
      .option('--json', 'print {file, ok, errors, warnings} on stdout')
      .action(async (options: ValidateOptions) => {
        const text = await readConfigText(options.config);
        const report = validateConfigText(text, options.config, { now: systemClock(), checkSource: checkDatabaseUrl, engineOf: engineIdForUrl });
        if (options.json) printJson({ file: options.config, ok: report.errors.length === 0, ...report });
        else printReport(options.config, report);
        if (report.errors.length > 0) process.exitCode = EXIT.usage;
      }),
  );
  config.addCommand(
    new Command('show')
      .description('show the resolved jobs of an environment: each field after defaults, and where it came from (job, defaults, built-in default)')
      .addOption(configOption())
      .addOption(new Option('--env <name>', 'the environment (default: the only local one)').env('VAULTRA_ENV'))
      .option('--job <name>', 'only this job')
      .option('--json', 'print {file, environment, cloud, settings, jobs, notifications} on stdout')
      .action(async (options: ShowOptions, command: Command) => {
        const text = await readConfigText(options.config);
        const loaded = await loadConfig(options.config, { checkSource: checkDatabaseUrl, engineOf: engineIdForUrl }).catch((error: unknown) => {
          // loadConfig stops at the first error; say where to see them all.
          throw error instanceof ConfigError ? new ConfigError(`${error.message} (vaultra config validate lists every error)`, { cause: error }) : error;
        });
        let name = options.env;
        if (!name) {
          const locals = [...loaded.environments.values()].filter((environment) => environment.cloud === 'local');
          if (locals.length !== 1) throw new ConfigError(`${options.config} has ${locals.length} local environments: choose one with --env (${[...loaded.environments.keys()].join(', ')})`);
          name = locals[0]!.name;
        }
        const environment = environmentOf(loaded, name);
        if (options.job) jobOf(environment, options.job);
        const raw = readYaml(text, options.config) as { environments: Record<string, unknown> };
        const jobs = environmentProvenance(environment, raw.environments[environment.name], systemClock(), options.job);
        const sourceOf = (option: string) => (command.getOptionValueSource(option) === 'cli' ? 'cli' : command.getOptionValueSource(option) === 'env' ? 'env' : 'default');
        const settings: LayeredSetting[] = [
          { setting: 'config', value: options.config, source: sourceOf('config'), layers: [] },
          { setting: 'env', value: environment.name, source: options.env ? sourceOf('env') : 'default', layers: [] },
        ];
        if (environment.cloud === 'local') settings.push(...localSettings(environment.storage.url, environment.signing.key));
        const notifications = notificationTargets(environment.notifications, environment.cloud);
        if (options.json) return printJson({ file: options.config, environment: environment.name, cloud: environment.cloud, settings, jobs, notifications });
        printShow(environment.name, environment.cloud, settings, jobs, notifications);
      }),
  );
  return config;
}

async function readConfigText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; create it from the example in the README or pass --config`);
  }
}

/**
 * What `vaultra run <job>` of a local environment uses besides the job, and from where: storage
 * and signing key from the file (else the default; `VAULTRA_STORAGE` and `VAULTRA_SIGNING_KEY`
 * are the defaults of `backup`'s and `list`'s flags, which `run` does not take), the catalog beside
 * file storage, the identity from `VAULTRA_IDENTITY` (every command reads it) else the default.
 */
function localSettings(storageUrl: string | undefined, signingKey: string | undefined): LayeredSetting[] {
  const env = process.env;
  const identityDefault = join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'vaultra', 'identity.txt');
  const identity = env.VAULTRA_IDENTITY;
  return [
    layeredSetting('storage', [
      { source: 'file', name: 'storage.url', value: storageUrl },
      { source: 'default', name: 'default', value: DEFAULT_STORAGE },
    ]),
    layeredSetting('catalog', [{ source: 'default', name: 'default', value: '<storage>/.vaultra/catalog (file storage), else $XDG_STATE_HOME/vaultra/catalog' }]),
    layeredSetting('identity', [
      { source: 'env', name: 'VAULTRA_IDENTITY', value: identity },
      { source: 'default', name: 'default', value: identityDefault },
    ]),
    layeredSetting('signing key', [
      { source: 'file', name: 'signing.key', value: signingKey },
      { source: 'default', name: 'default', value: join(dirname(identity || identityDefault), 'signing-key.pem') },
    ]),
  ];
}

function printReport(file: string, report: ConfigReport): void {
  const lines: string[] = [];
  for (const error of report.errors) lines.push(`error    ${error.path || file}: ${error.message}${error.value === undefined ? '' : ` (got ${error.value})`}`);
  for (const warning of report.warnings) lines.push(`warning  ${warning.path}: ${warning.message}`);
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(`${file}: ${report.errors.length === 0 ? 'valid' : 'invalid'}, ${count(report.errors.length, 'error')}, ${count(report.warnings.length, 'warning')}`);
  process.stdout.write(lines.join('\n') + '\n');
}

function printShow(name: string, cloud: string, settings: readonly LayeredSetting[], jobs: readonly ResolvedJob[], notifications: readonly NotificationTarget[]): void {
  const lines = [`environment ${name} (${cloud})`];
  const settingWidth = Math.max(...settings.map((s) => s.setting.length));
  for (const s of settings) {
    const overridden = s.layers.slice(1).map((layer) => `${layer.name}=${layer.value}`);
    lines.push(`  ${s.setting.padEnd(settingWidth)}  ${s.value ?? '-'}  [${s.source}]${overridden.length > 0 ? `  (over ${overridden.join(', ')})` : ''}`);
  }
  for (const job of jobs) {
    lines.push('', `job ${job.name}`);
    const fieldWidth = Math.max(...job.fields.map((f) => f.field.length));
    const valueWidth = Math.max(...job.fields.map((f) => f.value.length));
    for (const f of job.fields) lines.push(`  ${f.field.padEnd(fieldWidth)}  ${f.value.padEnd(valueWidth)}  ${f.source}`);
  }
  // Secret references, never values: show reads no secret.
  lines.push('', notifications.length === 0 ? 'notifications: none' : 'notifications');
  const nameWidth = Math.max(0, ...notifications.map((target) => target.name.length));
  for (const target of notifications) lines.push(`  ${target.name.padEnd(nameWidth)}  ${target.to}${target.secrets.length > 0 ? `  [${target.secrets.join(', ')}]` : ''}`);
  process.stdout.write(lines.join('\n') + '\n');
}

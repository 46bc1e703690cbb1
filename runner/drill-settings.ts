import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_PATH, loadConfig, type Environment, type ScheduledJob } from '../core/config/load-config.js';
import { drillCheckSchema, type DrillCheckConfig } from '../core/config/drill-config.js';
import type { Notifier } from '../core/ports/notifier.js';
import { ConfigError } from '../core/errors.js';
import { notifiersFor } from '../core/adapters/notifiers/notifiers.js';
import { resolveSecret } from '../core/adapters/secrets/secret-resolvers.js';
import { checkDatabaseUrl } from '../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../core/adapters/engines/engines.js';

/** What a drill takes from the config file: the job's `drill` settings and where its environment's alerts go. */
export interface DrillSettings {
  readonly environment: string;
  readonly rtoBudgetMs?: number;
  readonly checks: readonly DrillCheckConfig[];
  readonly notifiers: readonly Notifier[];
}

/**
 * The job's drill settings from the config file, when there is one and it has the job: with the
 * default path, a missing file just means none (a drill of a storage nobody configured still
 * works); a path given with --config must exist. The environment is `--env`, or the one that has
 * the job. Its webhooks alert (an SNS topic is a cloud stack's, so a local drill has none).
 */
export async function drillSettingsFor(options: { readonly config?: string; readonly env?: string }, job: string): Promise<DrillSettings> {
  const path = options.config ?? DEFAULT_CONFIG_PATH;
  const none = { environment: options.env ?? 'local', checks: [], notifiers: [] };
  if (options.config === undefined && !existsSync(path)) return none;
  const config = await loadConfig(path, { checkSource: checkDatabaseUrl, engineOf: engineIdForUrl });
  const holding = [...config.environments.values()].filter((environment) => (options.env === undefined || environment.name === options.env) && environment.jobs.some((j) => j.name === job));
  if (holding.length > 1) throw new ConfigError(`job ${job} is in several environments of ${path} (${holding.map((e) => e.name).join(', ')}): choose one with --env`);
  const [environment] = holding;
  if (!environment) return none;
  const scheduled = environment.jobs.find((j) => j.name === job)!;
  return settingsOf(environment, scheduled);
}

function settingsOf(environment: Environment, job: ScheduledJob): DrillSettings {
  return {
    environment: environment.name,
    ...(job.drill?.rto ? { rtoBudgetMs: job.drill.rto } : {}),
    checks: job.drill?.checks ?? [],
    notifiers: notifiersFor(environment.notifications, { resolve: resolveSecret }),
  };
}

/** `--rto`: the config's durations (`30m`, `2h`) and, for a quick budget on the command line, seconds (`90s`) and milliseconds. */
export function parseRtoFlag(text: string): number {
  const match = /^([1-9]\d{0,8})(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new ConfigError(`--rto ${JSON.stringify(text)}: expected a duration such as 90s, 30m or 2h`);
  const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unitMs;
}

/**
 * `--check '<query> => <expected>'`: a check from the command line, named after its position; or
 * a whole check as JSON, `{"name": …, "query": …, "expect": …}`, which keeps its name and any
 * text (a `=>` in the expected value, a quote in the name): what a scheduled drill's command line
 * carries (runner-commands.ts). A Mongo check's query is JSON too, but never a whole check: the
 * text of `{"collection": …} => 3` does not parse as JSON.
 */
export function parseCheckFlag(text: string, index: number): DrillCheckConfig {
  const named = namedCheck(text);
  if (named) return named;
  const at = text.lastIndexOf('=>');
  if (at < 1) throw new ConfigError(`--check ${JSON.stringify(text)}: expected '<query> => <expected value>', e.g. 'select count(*) from orders => 1200'`);
  return { name: `--check ${index + 1}`, query: text.slice(0, at).trim(), expect: text.slice(at + 2).trim() };
}

/** A check given whole as JSON (it has a `query` field), or undefined for the `<query> => <expected>` form. */
function namedCheck(text: string): DrillCheckConfig | undefined {
  if (!text.trimStart().startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || !('query' in parsed)) return undefined;
  const check = drillCheckSchema.safeParse(parsed);
  if (!check.success) throw new ConfigError(`--check ${JSON.stringify(text.slice(0, 60))}: a check given as JSON has a name, a query and the value it expects, {"name": "…", "query": "…", "expect": "…"} (${check.error.issues[0]?.message ?? 'wrong shape'})`);
  return check.data;
}

import { readFile } from 'node:fs/promises';
import { ConfigError } from '../errors.js';
import { readYaml } from './read-yaml.js';
import { environmentOf, resolveConfig, type ConfigChecks, type VaultraConfig } from './environments.js';

export { environmentOf, jobOf, resolveConfig, type ConfigChecks, type Environment, type ScheduledJob, type VaultraConfig } from './environments.js';

export const DEFAULT_CONFIG_PATH = 'vaultra.config.yaml';

/** Reads and validates a config file; errors name the file, the field and the value. */
export async function loadConfig(path = DEFAULT_CONFIG_PATH, checks: ConfigChecks = {}): Promise<VaultraConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; create it from the example in the README or pass --config`);
  }
  return parseConfig(text, path, checks);
}

/** Parses config text (YAML, or JSON: YAML's subset). `origin` names it in errors. */
export function parseConfig(text: string, origin = DEFAULT_CONFIG_PATH, checks: ConfigChecks = {}): VaultraConfig {
  return resolveConfig(readYaml(text, origin), origin, checks);
}

/**
 * The raw config of one environment as JSON, for bundling into the functions (they validate it
 * again with `resolveConfig` on a cold start). Validates the whole file first.
 */
export function bundledEnvironmentJson(text: string, name: string, origin = DEFAULT_CONFIG_PATH): string {
  environmentOf(parseConfig(text, origin), name);
  const raw = readYaml(text, origin) as { version: number; environments: Record<string, unknown> };
  return JSON.stringify({ version: raw.version, environments: { [name]: raw.environments[name] } });
}

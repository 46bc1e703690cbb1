import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { parseAtEdge } from '../domain/validate.js';
import { secretScheme } from '../domain/connection-secret.js';
import { configSchema, environmentSchema, jobConfigSchema, type JobConfig } from './config-schema.js';
import { longestGapMs } from './schedule.js';

export const DEFAULT_CONFIG_PATH = 'vaultra.config.yaml';

/** A job as an environment runs it: its own fields over the environment's defaults, RPO resolved. */
export interface ScheduledJob extends JobConfig {
  readonly name: string;
  /** Explicit, or the schedule's longest gap plus the timeout. */
  readonly rpoMs: number;
  readonly timeoutMs: number;
}

export type Environment = Omit<z.infer<typeof environmentSchema>, 'jobs' | 'defaults'> & {
  readonly name: string;
  readonly jobs: readonly ScheduledJob[];
};

export interface VaultraConfig {
  readonly environments: ReadonlyMap<string, Environment>;
}

/** Reads and validates a config file; errors name the file, the field and the value. */
export async function loadConfig(path = DEFAULT_CONFIG_PATH): Promise<VaultraConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}; create it from the example in the README or pass --config`);
  }
  return parseConfig(text, path);
}

/** Parses config text (YAML, or JSON: YAML's subset). `origin` names it in errors. */
export function parseConfig(text: string, origin = DEFAULT_CONFIG_PATH): VaultraConfig {
  const lines = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter: lines });
  if (document.errors.length > 0) {
    const first = document.errors[0]!;
    const line = lines.linePos(first.pos[0]).line;
    throw new ConfigError(`${origin}${line ? `:${line}` : ''}: ${first.message.split('\n')[0]}`);
  }
  return resolveConfig(document.toJS(), origin);
}

/** Validates an already parsed config object (the functions get theirs bundled as JSON). */
export function resolveConfig(raw: unknown, origin = DEFAULT_CONFIG_PATH): VaultraConfig {
  const file = parseAtEdge(configSchema, raw, origin);
  const environments = new Map<string, Environment>();
  for (const [name, environment] of Object.entries(file.environments)) {
    const { defaults, jobs: rawJobs, ...rest } = environment;
    const jobs = Object.entries(rawJobs).map(([jobName, rawJob]) => {
      const label = `${origin}: environments.${name}.jobs.${jobName}`;
      const job = parseAtEdge(jobConfigSchema, { ...defaults, ...rawJob }, label);
      if (rest.cloud !== 'local' && secretScheme(job.source) !== `secret+${rest.cloud}`) {
        throw new ConfigError(`${label}.source: in a ${rest.cloud} environment the connection comes from a secret: give a secret+${rest.cloud}://… reference`);
      }
      const rpoMs = job.rpo ?? longestGapMs(job.schedule.cron, job.schedule.timeZone) + job.timeout;
      return { ...job, name: jobName, rpoMs, timeoutMs: job.timeout };
    });
    environments.set(name, { ...rest, name, jobs });
  }
  return { environments };
}

/** One environment by name, or a `ConfigError` listing the ones there are. */
export function environmentOf(config: VaultraConfig, name: string | undefined): Environment {
  const names = [...config.environments.keys()];
  if (!name) throw new ConfigError(`no environment chosen: pass -c env=<name> (one of ${names.join(', ')})`);
  const environment = config.environments.get(name);
  if (!environment) throw new ConfigError(`no environment ${JSON.stringify(name)} in the config: it has ${names.join(', ')}`);
  return environment;
}

/** One job of an environment, or a `ConfigError` listing its jobs. */
export function jobOf(environment: Environment, name: string): ScheduledJob {
  const job = environment.jobs.find((candidate) => candidate.name === name);
  if (!job) throw new ConfigError(`environment ${environment.name} has no job ${JSON.stringify(name)}: it has ${environment.jobs.map((j) => j.name).join(', ')}`);
  return job;
}

/**
 * The raw config of one environment as JSON, for bundling into the functions (they validate it
 * again with `resolveConfig` on a cold start). Validates the whole file first.
 */
export function bundledEnvironmentJson(text: string, name: string, origin = DEFAULT_CONFIG_PATH): string {
  environmentOf(parseConfig(text, origin), name);
  const raw = parseDocument(text).toJS() as { version: number; environments: Record<string, unknown> };
  return JSON.stringify({ version: raw.version, environments: { [name]: raw.environments[name] } });
}

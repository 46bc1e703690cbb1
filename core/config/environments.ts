import type * as z from 'zod';
import { ConfigError } from '../errors.js';
import { parseAtEdge } from '../domain/validate.js';
import { secretScheme } from '../domain/connection-secret.js';
import { configSchema, jobConfigSchema, type environmentSchema, type JobConfig } from './config-schema.js';
import { containerAppsRunnerProblem, containerAppsSizeProblem } from './container-apps-sizes.js';
import { longestGapMs } from './schedule.js';
import { stopContainersProblem } from './stop-containers.js';
import type { EngineId } from '../domain/engine-vocabulary.js';
import { CHANGE_LOG_OF_ENGINE, logPushLockName, MAX_LOG_JOB_NAME_LENGTH, resolveLogSchedule, type LogSchedule } from './log-schedule.js';

/**
 * The validated, resolved config: environments with their jobs, each job over its environment's
 * defaults with its RPO worked out. Reading YAML is config-file.ts's job; this module takes the
 * parsed object, so a function bundle that gets its config as JSON carries no YAML parser.
 */

const DEFAULT_ORIGIN = 'vaultra.config.yaml';

/** A job as an environment runs it: its own fields over the environment's defaults, RPO resolved. */
export interface ScheduledJob extends Omit<JobConfig, 'logs'> {
  readonly name: string;
  /** Explicit, or the schedule's longest gap plus the timeout. */
  readonly rpoMs: number;
  readonly timeoutMs: number;
  /** The job's log catch-up schedule, when it archives its server's change log (point-in-time recovery). */
  readonly logs?: LogSchedule;
}

export type Environment = Omit<z.infer<typeof environmentSchema>, 'jobs' | 'defaults'> & {
  readonly name: string;
  readonly jobs: readonly ScheduledJob[];
};

export interface VaultraConfig {
  readonly environments: ReadonlyMap<string, Environment>;
}

/** Checks config can be given that only outer rings can do. */
export interface ConfigChecks {
  /**
   * Reads a database URL the way its engine will, throwing a one-line `ConfigError` that starts
   * with `label` (the CLI passes the engines' `checkDatabaseUrl`). Engines are adapters, which
   * config may not import; without it, a local job's URL is first read when the job runs.
   * Cloud environments name secret references, which no check here can read anyway.
   */
  readonly checkSource?: (url: string, label: string) => void;
  /**
   * The engine a database URL names, by its scheme (the CLI passes the descriptors'
   * `engineIdForUrl`): a job with `logs` on an engine that keeps no change log (`sqlite:`, `dir:`)
   * is refused when the config is read. Secret references name no engine: the runner refuses those.
   */
  readonly engineOf?: (url: string) => EngineId;
}

/** Validates an already parsed config object (the functions get theirs bundled as JSON). */
export function resolveConfig(raw: unknown, origin = DEFAULT_ORIGIN, checks: ConfigChecks = {}): VaultraConfig {
  const file = parseAtEdge(configSchema, raw, origin);
  const environments = new Map<string, Environment>();
  for (const [name, environment] of Object.entries(file.environments)) {
    const { defaults, jobs: rawJobs, ...rest } = environment;
    const runnerProblem = rest.cloud === 'azure' ? containerAppsRunnerProblem(rest.runner) : undefined;
    if (runnerProblem) throw new ConfigError(`${origin}: environments.${name}.runner: ${runnerProblem}`);
    const jobs = Object.entries(rawJobs).map(([jobName, rawJob]) => {
      const label = `${origin}: environments.${name}.jobs.${jobName}`;
      const job = parseAtEdge(jobConfigSchema, { ...defaults, ...rawJob }, label);
      // The runner reads a secret of its own cloud, or a variable the platform injected into its
      // container from one (ECS secrets, Cloud Run secret env, Container Apps secret refs).
      const scheme = secretScheme(job.source);
      if (rest.cloud !== 'local' && scheme !== `secret+${rest.cloud}` && scheme !== 'env') {
        throw new ConfigError(`${label}.source: in a ${rest.cloud} environment the connection comes from a secret: give a secret+${rest.cloud}://… reference (or env://VAR for a variable the platform fills from one)`);
      }
      if (scheme === undefined) checks.checkSource?.(job.source, `${label}.source`);
      const stopProblem = job.stopContainers ? stopContainersProblem(job.source, rest.cloud, checks.engineOf) : undefined;
      if (stopProblem) throw new ConfigError(`${label}.stopContainers: ${stopProblem}`);
      // Container Apps refuses a size outside its table when the run starts, not at deploy time.
      const sizeProblem = rest.cloud === 'azure' ? containerAppsSizeProblem(job.runtime) : undefined;
      if (sizeProblem) throw new ConfigError(`${label}.runtime: ${sizeProblem}`);
      const rpoMs = job.rpo ?? longestGapMs(job.schedule.cron, job.schedule.timeZone) + job.timeout;
      const { logs, ...fields } = job;
      if (logs) checkLogSource(jobName, job.source, label, checks, rest.cloud === 'azure' ? logs.runtime : undefined);
      return { ...fields, name: jobName, rpoMs, timeoutMs: job.timeout, ...(logs ? { logs: resolveLogSchedule(logs) } : {}) };
    });
    checkLogLockNames(jobs, `${origin}: environments.${name}.jobs`);
    environments.set(name, { ...rest, name, jobs });
  }
  return { environments };
}

/** Refuses `logs` where no push can work: a name too long for its lock, an engine with no change log, a size Container Apps refuses. */
function checkLogSource(jobName: string, source: string, label: string, checks: ConfigChecks, azureRuntime: { cpu: number; memoryMiB: number } | undefined): void {
  if (jobName.length > MAX_LOG_JOB_NAME_LENGTH) {
    throw new ConfigError(`${label}.logs: a job with logs needs a name of at most ${MAX_LOG_JOB_NAME_LENGTH} characters (its log pushes' lock is ${JSON.stringify(logPushLockName('<job>'))}); ${JSON.stringify(jobName)} has ${jobName.length}`);
  }
  if (secretScheme(source) === undefined && checks.engineOf) {
    const engine = checks.engineOf(source);
    if (CHANGE_LOG_OF_ENGINE[engine] === undefined) {
      const engines = Object.entries(CHANGE_LOG_OF_ENGINE).filter(([, kind]) => kind !== undefined).map(([id]) => id).join(', ');
      throw new ConfigError(`${label}.logs: a ${engine} source keeps no change log to archive; point-in-time recovery works with ${engines}: remove logs from this job`);
    }
  }
  const sizeProblem = azureRuntime ? containerAppsSizeProblem(azureRuntime) : undefined;
  if (sizeProblem) throw new ConfigError(`${label}.logs.runtime: ${sizeProblem}`);
}

/** A job named like another job's log-push lock would share that lock. */
function checkLogLockNames(jobs: readonly ScheduledJob[], label: string): void {
  const names = new Set(jobs.map((job) => job.name));
  for (const job of jobs) {
    if (job.logs && names.has(logPushLockName(job.name))) {
      throw new ConfigError(`${label}.${logPushLockName(job.name)}: this name is taken by the log pushes of job ${job.name} (their lock): rename the job`);
    }
  }
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


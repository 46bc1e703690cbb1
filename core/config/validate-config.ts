import * as z from 'zod';
import { ConfigError, oneLine } from '../errors.js';
import { redact } from '../domain/redact.js';
import { secretScheme } from '../domain/connection-secret.js';
import { jobNameSchema } from '../domain/run.js';
import { urlCarriesPassword } from '../domain/shared-schemas.js';
import { environmentSchema, jobConfigSchema, SECRET_REFERENCE_MESSAGE, type JobConfig, type WebhookConfig } from './config-schema.js';
import { containerAppsRunnerProblem, containerAppsSizeProblem } from './container-apps-sizes.js';
import { formatDurationMs } from './durations.js';
import type { ConfigChecks } from './environments.js';
import { readYaml } from './read-yaml.js';
import { longestGapMs } from './schedule.js';
import { stopContainersProblem } from './stop-containers.js';
import { CHANGE_LOG_OF_ENGINE, logPushLockName, MAX_LOG_JOB_NAME_LENGTH } from './log-schedule.js';

/**
 * `vaultra config validate`: every problem of a config file at once, where `loadConfig` stops at
 * the first. The same schemas and the same cross-field rules as `resolveConfig`, run piece by
 * piece (the file's top level, each environment, each job over its defaults) so that one broken
 * environment does not hide the next; plus warnings for choices that are valid but risky.
 * Pure: the caller reads the file and gives the time (`longestGapMs` samples the year from it).
 */

/** One problem, at its path in the document (`environments.prod.jobs.shop.schedule.cron`). */
export interface ConfigProblem {
  readonly path: string;
  /** The value found there, redacted and cut to 80 characters; absent when the field is missing. */
  readonly value?: string;
  readonly message: string;
}

export interface ConfigWarning {
  readonly path: string;
  readonly message: string;
}

export interface ConfigReport {
  readonly errors: readonly ConfigProblem[];
  readonly warnings: readonly ConfigWarning[];
}

export interface ValidateOptions extends ConfigChecks {
  /** When the schedules' longest gaps are measured from. */
  readonly now: Date;
}

const topLevelSchema = z.strictObject({
  version: z.literal(1),
  environments: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'environment names are 1-31 chars of a-z, 0-9, "-"'), z.unknown()),
});

/** Validates config text (YAML or JSON), collecting every error and warning. */
export function validateConfigText(text: string, origin: string, options: ValidateOptions): ConfigReport {
  let raw: unknown;
  try {
    raw = readYaml(text, origin);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // The YAML itself is broken: there is no document to walk. The message carries the file and line.
    return { errors: [{ path: '', message: error.message }], warnings: [] };
  }
  return validateConfigObject(raw, options);
}

/** Validates a parsed config object, collecting every error and warning. */
export function validateConfigObject(raw: unknown, options: ValidateOptions): ConfigReport {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigWarning[] = [];
  const seen = new Set<string>();
  const addError = (problem: ConfigProblem) => {
    const key = `${problem.path}\0${problem.message}`;
    if (seen.has(key)) return;
    seen.add(key);
    errors.push(problem);
  };

  const top = topLevelSchema.safeParse(raw);
  if (!top.success) for (const problem of problemsOf(top.error, raw, [])) addError(problem);
  const environments = isPlainObject(raw) && isPlainObject(raw.environments) ? raw.environments : {};
  for (const [name, rawEnvironment] of Object.entries(environments)) {
    validateEnvironment(name, rawEnvironment, options, addError, warnings);
  }
  return { errors, warnings };
}

function validateEnvironment(name: string, rawEnvironment: unknown, options: ValidateOptions, addError: (problem: ConfigProblem) => void, warnings: ConfigWarning[]): void {
  const base = ['environments', name];
  const parsed = environmentSchema.safeParse(rawEnvironment);
  if (!parsed.success) for (const problem of problemsOf(parsed.error, rawEnvironment, base)) addError(problem);
  if (!isPlainObject(rawEnvironment)) return;
  const cloud = parsed.success ? parsed.data.cloud : typeof rawEnvironment.cloud === 'string' ? rawEnvironment.cloud : undefined;
  if (parsed.success && cloud === 'azure') {
    const runnerProblem = containerAppsRunnerProblem(parsed.data.runner);
    if (runnerProblem) addError({ path: pathOf([...base, 'runner']), message: runnerProblem });
  }
  // Jobs are checked over their defaults even when another part of the environment is broken.
  const defaults = isPlainObject(rawEnvironment.defaults) ? rawEnvironment.defaults : {};
  const rawJobs = isPlainObject(rawEnvironment.jobs) ? rawEnvironment.jobs : {};
  const jobs: { name: string; job: JobConfig }[] = [];
  for (const [jobName, rawJob] of Object.entries(rawJobs)) {
    if (!jobNameSchema.safeParse(jobName).success || !isPlainObject(rawJob)) continue; // reported by the environment's schema
    const jobBase = [...base, 'jobs', jobName];
    const merged = { ...defaults, ...rawJob };
    const result = jobConfigSchema.safeParse(merged);
    // The source is checked even when another field fails (a broken default must not hide it).
    if (typeof merged.source === 'string' && merged.source !== '') sourceErrors(merged.source, jobBase, cloud, options, addError);
    if (!result.success) {
      for (const issue of result.error.issues) {
        // A field the job takes from defaults is wrong in defaults: say so there (once for every job).
        const first = issue.path[0];
        const fromDefaults = typeof first === 'string' && !(first in rawJob) && first in defaults;
        for (const problem of problemsOf({ issues: [issue] }, fromDefaults ? defaults : merged, fromDefaults ? [...base, 'defaults'] : jobBase)) addError(problem);
      }
      continue;
    }
    const job = result.data;
    jobs.push({ name: jobName, job });
    crossFieldErrors(jobName, job, jobBase, cloud, options, addError);
    jobWarnings(job, jobBase, cloud, options.now, warnings);
  }
  const names = new Set(jobs.map(({ name: jobName }) => jobName));
  for (const { name: jobName, job } of jobs) {
    if (job.logs && names.has(logPushLockName(jobName))) {
      addError({ path: pathOf([...base, 'jobs', logPushLockName(jobName)]), message: `this name is taken by the log pushes of job ${jobName} (their lock): rename the job` });
    }
  }
  if (parsed.success) notificationProblems(parsed.data, new Set(Object.keys(rawJobs)), base, addError, warnings);
}

/** Per-job check URLs must name jobs of the environment; `email` does nothing for a local one. */
function notificationProblems(environment: { cloud: string; notifications: { email: string[]; webhooks: WebhookConfig[] } }, jobNames: ReadonlySet<string>, base: readonly string[], addError: (problem: ConfigProblem) => void, warnings: ConfigWarning[]): void {
  environment.notifications.webhooks.forEach((webhook, i) => {
    if (webhook.kind !== 'healthchecks') return;
    for (const job of Object.keys(webhook.jobs)) {
      if (!jobNames.has(job)) addError({ path: pathOf([...base, 'notifications', 'webhooks', String(i), 'jobs', job]), message: `no job ${job} in this environment: its check would never be pinged (jobs: ${[...jobNames].join(', ') || 'none'})` });
    }
  });
  if (environment.cloud === 'local' && environment.notifications.email.length > 0) {
    warnings.push({ path: pathOf([...base, 'notifications', 'email']), message: 'a local environment has no alert topic to subscribe these addresses to: send email with notifications.smtp' });
  }
}

/** The rules `resolveConfig` applies beyond the schema, each an error here instead of a throw. */
function sourceErrors(source: string, base: readonly string[], cloud: string | undefined, checks: ConfigChecks, addError: (problem: ConfigProblem) => void): void {
  const scheme = secretScheme(source);
  if (cloud !== undefined && cloud !== 'local' && scheme !== `secret+${cloud}` && scheme !== 'env') {
    addError({ path: pathOf([...base, 'source']), value: shown(source), message: `in a ${cloud} environment the connection comes from a secret: give a secret+${cloud}://… reference (or env://VAR for a variable the platform fills from one)` });
  }
  // A URL with a password is the schema's error already; the engines' check would repeat it.
  if (scheme === undefined && checks.checkSource && !urlCarriesPassword(source)) {
    const label = pathOf([...base, 'source']);
    const message = thrownMessage(() => checks.checkSource!(source, label));
    if (message) addError({ path: label, value: shown(source), message: message.startsWith(`${label}: `) ? message.slice(label.length + 2) : message });
  }
}

function crossFieldErrors(jobName: string, job: JobConfig, base: readonly string[], cloud: string | undefined, checks: ConfigChecks, addError: (problem: ConfigProblem) => void): void {
  const scheme = secretScheme(job.source);
  if (cloud === 'azure') {
    const sizeProblem = containerAppsSizeProblem(job.runtime);
    if (sizeProblem) addError({ path: pathOf([...base, 'runtime']), value: shown(job.runtime), message: sizeProblem });
  }
  const stopProblem = job.stopContainers && cloud !== undefined ? stopContainersProblem(job.source, cloud, checks.engineOf) : undefined;
  if (stopProblem) addError({ path: pathOf([...base, 'stopContainers']), message: stopProblem });
  if (!job.logs) return;
  const logsPath = pathOf([...base, 'logs']);
  if (jobName.length > MAX_LOG_JOB_NAME_LENGTH) {
    addError({ path: logsPath, message: `a job with logs needs a name of at most ${MAX_LOG_JOB_NAME_LENGTH} characters (its log pushes' lock is ${JSON.stringify(logPushLockName('<job>'))}); ${JSON.stringify(jobName)} has ${jobName.length}` });
  }
  if (scheme === undefined && checks.engineOf) {
    let engine: ReturnType<NonNullable<ConfigChecks['engineOf']>> | undefined;
    try {
      engine = checks.engineOf(job.source);
    } catch {
      engine = undefined; // an unreadable source is reported by checkSource
    }
    if (engine !== undefined && CHANGE_LOG_OF_ENGINE[engine] === undefined) {
      const engines = Object.entries(CHANGE_LOG_OF_ENGINE).filter(([, kind]) => kind !== undefined).map(([id]) => id).join(', ');
      addError({ path: logsPath, message: `a ${engine} source keeps no change log to archive; point-in-time recovery works with ${engines}: remove logs from this job` });
    }
  }
  if (cloud === 'azure' && job.logs.runtime) {
    const sizeProblem = containerAppsSizeProblem(job.logs.runtime);
    if (sizeProblem) addError({ path: `${logsPath}.runtime`, value: shown(job.logs.runtime), message: sizeProblem });
  }
}

/** Valid, but likely to hurt on the day a restore is needed. */
function jobWarnings(job: JobConfig, base: readonly string[], cloud: string | undefined, now: Date, warnings: ConfigWarning[]): void {
  if (job.encryption.kms && job.encryption.recipients.length === 0) {
    warnings.push({ path: pathOf([...base, 'encryption']), message: 'only the KMS key opens these backups: add an age recipient whose identity is kept outside the cloud account, so losing the key or the account does not lose the backups' });
  }
  const gapMs = longestGapMs(job.schedule.cron, job.schedule.timeZone, now);
  if (job.rpo === undefined) {
    warnings.push({ path: pathOf([...base, 'rpo']), message: `no rpo: the watchdog alerts only after the schedule's longest gap plus the timeout (${formatDurationMs(gapMs + job.timeout)}); set the RPO you promise` });
  } else if (job.rpo < gapMs) {
    warnings.push({ path: pathOf([...base, 'rpo']), message: `rpo ${formatDurationMs(job.rpo)} is shorter than the schedule's longest gap (${formatDurationMs(gapMs)} for ${JSON.stringify(job.schedule.cron)} in ${job.schedule.timeZone}): the job will be reported late on a normal schedule` });
  }
  const retention = job.retention;
  if (retention && retention.weekly === undefined && retention.monthly === undefined && retention.yearly === undefined) {
    warnings.push({ path: pathOf([...base, 'retention']), message: 'keeps nothing weekly, monthly or yearly: a problem noticed after the daily backups roll over has no backup left from before it' });
  }
  // Every cloud deployment starts drill tasks (docs/drills.md, "In the cloud"); a local environment has no scheduler.
  if (job.drill?.schedule && (cloud === undefined || cloud === 'local')) {
    warnings.push({ path: pathOf([...base, 'drill', 'schedule']), message: 'nothing runs drill schedules in a local environment: run vaultra drill from cron or CI' });
  }
}

/** Every zod issue as a problem at its document path, an unknown key at the key's own path. */
function problemsOf(error: { issues: readonly z.core.$ZodIssue[] }, root: unknown, base: readonly string[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push({ path: pathOf([...base, ...issue.path.map(String), key]), message: 'unknown field' });
      continue;
    }
    if (issue.code === 'invalid_key') {
      // A name that is not allowed: show the name, and what names may be.
      const name = issue.path.at(-1);
      const why = issue.issues.map((inner) => inner.message).join('; ') || issue.message;
      problems.push({ path: pathOf([...base, ...issue.path.map(String)]), value: shown(name), message: `not a valid name: ${why}` });
      continue;
    }
    // Where a secret reference belongs, what was written is likely the secret itself (a pasted webhook URL, a routing key): never echoed.
    const received = issue.message === SECRET_REFERENCE_MESSAGE ? undefined : valueAt(root, issue.path);
    problems.push({ path: pathOf([...base, ...issue.path.map(String)]), ...(received === undefined ? {} : { value: shown(received) }), message: issue.message });
  }
  return problems;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>)[key] : undefined), root);
}

function pathOf(segments: readonly string[]): string {
  return oneLine(segments.join('.'));
}

/** A value for a message: JSON, redacted, one line, at most 80 characters. */
function shown(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : String(value);
  }
  return oneLine(redact(text)).slice(0, 80);
}

function thrownMessage(check: () => void): string | undefined {
  try {
    check();
    return undefined;
  } catch (error) {
    return oneLine(error);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

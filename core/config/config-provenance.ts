import type { Environment, ScheduledJob } from './environments.js';
import { formatDurationMs } from './durations.js';
import { longestGapMs } from './schedule.js';

/**
 * `vaultra config show`: where each resolved field of a job came from. A job is its own fields
 * over its environment's `defaults` (a shallow merge: a job's `schedule` replaces the whole
 * default `schedule`), then the schema's built-in defaults fill what neither gave. Pure: the
 * caller gives the raw environment as read from the file and the time (for a computed RPO).
 */

export type FieldSource = 'job' | 'defaults' | 'built-in default' | 'computed';

export interface ResolvedField {
  /** The field's path inside the job: `schedule.timeZone`. */
  readonly field: string;
  /** As the file spells it: durations as `26h`, lists and objects as JSON. Secrets are references, never resolved. */
  readonly value: string;
  readonly source: FieldSource;
}

export interface ResolvedJob {
  readonly name: string;
  readonly fields: readonly ResolvedField[];
}

const DURATION_FIELDS = new Set(['rpo', 'timeout', 'chain.fullEvery', 'chain.differentialEvery', 'logs.every', 'logs.rpo', 'logs.timeout', 'drill.rto']);

/** Every leaf field of a resolved job, with its source. `rawEnvironment` is the environment as written in the file. */
export function jobProvenance(job: ScheduledJob, rawEnvironment: unknown, now: Date): ResolvedJob {
  const raw = isPlainObject(rawEnvironment) ? rawEnvironment : {};
  const defaults = isPlainObject(raw.defaults) ? raw.defaults : {};
  const rawJobs = isPlainObject(raw.jobs) ? raw.jobs : {};
  const rawJob = isPlainObject(rawJobs[job.name]) ? rawJobs[job.name] as Record<string, unknown> : {};
  const { name: _name, rpoMs, timeoutMs: _timeoutMs, logs, ...fields } = job;
  const resolved: Record<string, unknown> = { ...fields, ...(logs ? { logs: { every: logs.everyMs, rpo: logs.rpoMs, timeout: logs.timeoutMs, runtime: logs.runtime } } : {}) };
  const out: ResolvedField[] = [];
  for (const [path, value] of leaves(resolved, [])) {
    const top = path[0]!;
    const layer = top in rawJob ? { source: 'job' as const, raw: rawJob } : top in defaults ? { source: 'defaults' as const, raw: defaults } : undefined;
    const given = layer !== undefined && has(layer.raw, path);
    const field = path.join('.');
    out.push({ field, value: show(field, value), source: given ? layer.source : 'built-in default' });
  }
  if (job.rpo === undefined) {
    const gapMs = longestGapMs(job.schedule.cron, job.schedule.timeZone, now);
    out.push({ field: 'rpo', value: `${formatDurationMs(rpoMs)} (longest gap ${formatDurationMs(gapMs)} + timeout ${formatDurationMs(job.timeoutMs)})`, source: 'computed' });
  }
  const order = (field: string) => (field === 'source' ? 0 : field.startsWith('schedule') ? 1 : field === 'rpo' ? 2 : 3);
  return { name: job.name, fields: out.sort((a, b) => order(a.field) - order(b.field)) };
}

/** The jobs of an environment, or the one named. */
export function environmentProvenance(environment: Environment, rawEnvironment: unknown, now: Date, jobName?: string): ResolvedJob[] {
  return environment.jobs.filter((job) => jobName === undefined || job.name === jobName).map((job) => jobProvenance(job, rawEnvironment, now));
}

/** A setting the CLI reads from a flag, a `VAULTRA_*` variable, the file or a default: each layer and the one that wins. */
export interface LayeredSetting {
  readonly setting: string;
  readonly value: string | undefined;
  readonly source: 'cli' | 'env' | 'file' | 'default' | 'unset';
  /** Every layer that gives a value, highest precedence first. */
  readonly layers: readonly { readonly source: 'cli' | 'env' | 'file' | 'default'; readonly name: string; readonly value: string }[];
}

/** Picks the first layer that gives a value: CLI > VAULTRA_* > file > default. */
export function layeredSetting(setting: string, layers: readonly { source: 'cli' | 'env' | 'file' | 'default'; name: string; value: string | undefined }[]): LayeredSetting {
  const given = layers.filter((layer): layer is { source: 'cli' | 'env' | 'file' | 'default'; name: string; value: string } => layer.value !== undefined && layer.value !== '');
  const winner = given[0];
  return { setting, value: winner?.value, source: winner?.source ?? 'unset', layers: given };
}

function leaves(value: unknown, path: string[]): [string[], unknown][] {
  if (isPlainObject(value) && Object.keys(value).length > 0 && !DURATION_FIELDS.has(path.join('.'))) {
    return Object.entries(value).flatMap(([key, child]) => (child === undefined ? [] : leaves(child, [...path, key])));
  }
  return [[path, value]];
}

function has(raw: Record<string, unknown>, path: readonly string[]): boolean {
  let node: unknown = raw;
  for (const key of path) {
    // A string where an object resolves is its shorthand (`runtime: inline` for `runtime.platform`): given there.
    if (typeof node === 'string') return true;
    if (!isPlainObject(node) || !(key in node)) return false;
    node = node[key];
  }
  return true;
}

function show(field: string, value: unknown): string {
  if (DURATION_FIELDS.has(field) && typeof value === 'number') return formatDurationMs(value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

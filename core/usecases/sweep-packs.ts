import type { Catalog } from '../ports/catalog.js';
import type { RunnerHost } from '../ports/runner-host.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { sharedFolder } from '../domain/object-layout.js';
import { redact } from '../domain/redact.js';
import { jobNameSchema, type RunRecord } from '../domain/run.js';
import { ConfigError, oneLine, StorageError } from '../errors.js';
import { surveyJobPacks } from './job-packs.js';
import { abandonment, DEFAULT_RUN_TIMEOUT_MS } from './settle-runs.js';

/** What one sweep of a job's packs did. */
export interface PackSweepReport {
  readonly job: string;
  /** Packs stored in the job's shared area when the sweep listed it. */
  readonly stored: number;
  /** Packs the job's manifests reference (stored or not). 0 when the shared area holds no pack: then no manifest is read. */
  readonly referenced: number;
  /** Unreferenced packs removed. */
  readonly deleted: { readonly count: number; readonly bytes: number; readonly names: string[] };
  /** Unreferenced packs the store refused to delete because they are locked (Object Lock, immutability, a hold); retried next sweep. */
  readonly keptLocked: { readonly name: string; readonly until?: string }[];
  /** Unreferenced packs whose delete failed for another reason (one redacted line each); retried next sweep. */
  readonly failed: { readonly name: string; readonly error: string }[];
  /** Why nothing was deleted this time, when the sweep held back (a running backup, an unreadable manifest). */
  readonly skipped?: string;
}

export interface SweepPacksDependencies {
  readonly storage: StorageBackend;
  readonly catalog: Catalog;
  /** This machine, so a dead local run does not hold the sweep back forever. @default a host no run is on: runs are judged by their timeout */
  readonly host?: RunnerHost;
  /** The timeout of a run whose record names none. @default DEFAULT_RUN_TIMEOUT_MS */
  readonly defaultTimeoutMs?: number;
}

export interface SweepPacksRequest {
  readonly job: string;
  /** The sweep's notion of now (abandoned runs, late commits). @default new Date() */
  readonly now?: Date;
  readonly signal?: AbortSignal;
}

/**
 * How long before the sweep started a backup that committed unseen may have finished: clocks of
 * a runner and of whatever sweeps are not exactly the same.
 */
const CLOCK_SKEW_MS = 5 * 60_000;

/** A host no recorded run is on: every run is judged by its timeout alone. */
const NO_HOST: RunnerHost = { hostname: '', pid: -1, isAlive: () => true };

/**
 * Mark and sweep of one job's packs in one storage (docs/chunked-snapshots.md, "Retention and
 * deletion"):
 *
 * 1. list `<job>/shared/`, then read every manifest of the job and mark every shared object one
 *    lists (surveyJobPacks);
 * 2. THEN ask the catalog whether a backup of the job is pending or running (and not abandoned,
 *    by the rules of settle-runs.ts), or succeeded after the sweep started without its manifest
 *    being seen: then sweep nothing this time. A running backup may reference packs no manifest
 *    lists yet; one that starts after this check only writes packs the listing never saw.
 * 3. delete the listed `pack-*` objects no manifest lists.
 *
 * Never deletes on incomplete knowledge: a manifest that cannot be read or parsed means nothing is
 * deleted, and the report says which. A delete the store refuses because the pack is locked is
 * reported in `keptLocked`, any other failed delete in `failed`; neither fails the sweep, and
 * the next sweep retries them. Idempotent. Only `pack-*` objects under `<job>/shared/` are ever
 * deleted. Not yet: a grace period on a pack's age (the listing carries no dates).
 */
export async function sweepPacks(deps: SweepPacksDependencies, request: SweepPacksRequest): Promise<PackSweepReport> {
  const { storage } = deps;
  const { job, signal } = request;
  if (!jobNameSchema.safeParse(job).success) throw new ConfigError(`a pack sweep needs a job name, got ${JSON.stringify(job)}`);
  const startedAt = request.now ?? new Date();
  const report = (fields: Partial<PackSweepReport>): PackSweepReport => ({ job, stored: 0, referenced: 0, deleted: { count: 0, bytes: 0, names: [] }, keptLocked: [], failed: [], ...fields });

  // An empty shared area has nothing to sweep: jobs without chunked snapshots pay one listing.
  if (!(await holdsAnything(storage, `${sharedFolder(job)}/`, signal))) return report({});

  const survey = await surveyJobPacks(storage, job, signal);
  const counts = { stored: survey.stored.size, referenced: survey.referenced.size };
  if (survey.unreadable.length > 0) {
    const first = survey.unreadable[0]!;
    const more = survey.unreadable.length > 1 ? ` (and ${survey.unreadable.length - 1} more)` : '';
    return report({ ...counts, skipped: `manifest ${first.key} cannot be read${more}, so which packs are in use is not known: repair or remove it (${first.reason})` });
  }

  const busy = await backupInFlight(deps, job, new Set(survey.manifests.map((m) => m.runId)), startedAt, signal);
  if (busy) return report({ ...counts, skipped: `backup ${busy.runId} of ${job} is ${busy.status === 'succeeded' ? 'committed since the sweep began' : busy.status}: it may use packs no listed manifest names; the next sweep removes what is unused` });

  const deleted = { count: 0, bytes: 0, names: [] as string[] };
  const keptLocked: { name: string; until?: string }[] = [];
  const failed: { name: string; error: string }[] = [];
  for (const [name, sizeBytes] of survey.stored) {
    if (survey.referenced.has(name)) continue;
    signal?.throwIfAborted();
    try {
      await storage.delete(`${sharedFolder(job)}/${name}`, signal ? { signal } : {});
      deleted.count++;
      deleted.bytes += sizeBytes;
      deleted.names.push(name);
    } catch (error) {
      if (signal?.aborted) throw error;
      const locked = lockRefusal(error);
      if (locked) keptLocked.push({ name, ...locked });
      else failed.push({ name, error: redact(oneLine(error)) });
    }
  }
  return report({ ...counts, deleted, keptLocked, failed });
}

/**
 * A backup of `job` that may reference packs no listed manifest names: one still pending or
 * running (unless abandoned), or one recorded succeeded from around the sweep's start whose
 * manifest the listing did not see (it committed while the sweep listed). Runs recorded at any
 * location count (a multi-destination backup is recorded at one of them): holding back a sweep
 * costs only time.
 */
async function backupInFlight(deps: SweepPacksDependencies, job: string, seen: ReadonlySet<string>, startedAt: Date, signal?: AbortSignal): Promise<RunRecord | undefined> {
  const io = signal ? { signal } : {};
  const host = deps.host ?? NO_HOST;
  const timeoutMs = deps.defaultTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  // Any location: a backup to several destinations is recorded at one, and writes packs to each.
  const here = (run: RunRecord) => run.job === job && run.kind === 'backup';
  for (const status of ['running', 'pending'] as const) {
    const open = (await deps.catalog.list({ job, kind: 'backup', status }, io)).filter(here);
    const live = open.find((run) => !abandonment(run, host, startedAt, timeoutMs));
    if (live) return live;
  }
  // Every succeeded run, not only recent starts: a long backup may have started hours ago.
  const since = new Date(startedAt.getTime() - CLOCK_SKEW_MS).toISOString();
  const succeeded = (await deps.catalog.list({ job, kind: 'backup', status: 'succeeded' }, io)).filter(here);
  return succeeded.find((run) => !run.prunedAt && !seen.has(run.runId) && (run.finishedAt ?? run.startedAt) >= since);
}

/** Whether anything is listed under `prefix` (stops at the first object). */
async function holdsAnything(storage: StorageBackend, prefix: string, signal?: AbortSignal): Promise<boolean> {
  for await (const object of storage.list(prefix, signal ? { signal } : {})) if (object) return true;
  return false;
}

/**
 * Whether a failed delete is the store refusing to remove a locked object, and until when if it
 * said. The storage adapters say so in their StorageError's message (s3-storage.ts "under Object
 * Lock retention … until <ISO>", gcs-errors.ts "under a retention period or hold",
 * azure-blob-storage.ts "under an immutability policy or legal hold"); a `locked` property on
 * StorageError would be sturdier than reading these words.
 */
export function lockRefusal(error: unknown): { until?: string } | undefined {
  if (!(error instanceof StorageError)) return undefined;
  if (!/Object Lock retention|retention period or hold|immutability policy or legal hold/.test(error.message)) return undefined;
  const until = / until (\d{4}-\d{2}-\d{2}T[\d:.]+Z)/.exec(error.message)?.[1];
  return until ? { until } : {};
}

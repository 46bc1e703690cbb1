import type { RetentionKeep } from '../config/config-schema.js';
import type { Catalog } from '../ports/catalog.js';
import type { RunnerHost } from '../ports/runner-host.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { manifestKey, runFolder } from '../domain/object-layout.js';
import { planRetention } from '../domain/retention-plan.js';
import { redact } from '../domain/redact.js';
import { jobNameSchema, type RunRecord } from '../domain/run.js';
import { ConfigError, oneLine } from '../errors.js';
import { sweepPacks, type PackSweepReport } from './sweep-packs.js';
import { pruneLogs, type LogPruneReport } from './prune-logs.js';

export interface RetentionOutcome {
  /** Run ids kept, newest first. */
  readonly kept: string[];
  /** Run ids whose objects were removed and whose records are now marked `prunedAt`, newest first. */
  readonly pruned: string[];
  /** Runs the plan pruned but storage refused to delete (Object Lock, a retention hold, an outage); one redacted line each. */
  readonly failed: { readonly runId: string; readonly error: string }[];
  /**
   * The sweep of the job's chunked-snapshot packs that follows (see {@link sweepPacks}); absent
   * when the job has no packs in this storage. A sweep that could not run says why in `skipped`.
   */
  packs?: PackSweepReport;
  /** The log archive's retention that follows (point-in-time recovery): absent when the job has no log runs here. */
  logs?: LogPruneReport;
}

export interface ApplyRetentionRequest {
  readonly job: string;
  readonly keep: RetentionKeep;
  /** When the prune happens (`prunedAt`), and the planner's notion of now. @default new Date() */
  readonly now?: Date;
  readonly signal?: AbortSignal;
}

/**
 * Applies the job's retention policy (see {@link planRetention}) to its succeeded backups that
 * are not pruned yet. For each backup the plan prunes:
 *
 * 1. the manifest is deleted first, so the run stops being a backup at once (a folder without
 *    a manifest is never listed or restored) even if the rest fails half-way;
 * 2. then every other object under the run folder;
 * 3. then the catalog record is marked `prunedAt` (it stays, as history).
 *
 * A delete that storage refuses (S3 Object Lock still retaining, an outage) leaves that run
 * unmarked and reported in `failed`; the other runs go on. Because every step is idempotent,
 * the next application retries what failed and does nothing else: applying twice is safe.
 * Only objects under `<job>/…/<runId>/` of the runs listed for `job`, and unreferenced `pack-*` objects under
 * `<job>/shared/`, are ever deleted.
 *
 * Then the job's packs no kept manifest lists are swept (sweepPacks: held back while a backup of
 * the job runs, or while a manifest cannot be read); its report is `packs`, and its failures never
 * fail the retention.
 *
 * Several destinations: this prunes one storage backend; the catalog record is marked once that
 * one is done.
 */
export async function applyRetention(deps: { readonly storage: StorageBackend; readonly catalog: Catalog; readonly host?: RunnerHost }, request: ApplyRetentionRequest): Promise<RetentionOutcome> {
  const { storage, catalog } = deps;
  const { job, keep, signal } = request;
  const now = request.now ?? new Date();
  if (!jobNameSchema.safeParse(job).success) throw new ConfigError(`retention needs a job name, got ${JSON.stringify(job)}`);
  signal?.throwIfAborted();

  // No `limit`: the catalog returns every matching run (adapters page through their store).
  const listed = await catalog.list({ job, kind: 'backup', status: 'succeeded' }, signal ? { signal } : {});
  const candidates = new Map<string, RunRecord>();
  for (const run of listed) if (run.job === job && !run.prunedAt) candidates.set(run.runId, run);

  const plan = planRetention(
    [...candidates.values()].map((run) => ({ runId: run.runId, finishedAt: run.finishedAt ?? run.startedAt })),
    keep,
    now,
  );

  const outcome: RetentionOutcome = { kept: plan.keep.map((entry) => entry.runId), pruned: [], failed: [] };
  for (const runId of plan.prune) {
    signal?.throwIfAborted();
    try {
      await deleteRunObjects(storage, job, runId, signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      outcome.failed.push({ runId, error: redact(oneLine(error)) });
      continue;
    }
    try {
      await catalog.update({ ...candidates.get(runId)!, prunedAt: now.toISOString() });
    } catch (error) {
      // The objects are gone; the record is marked on the next application (deleting nothing twice costs nothing).
      outcome.failed.push({ runId, error: `its objects were removed, but marking its record failed: ${redact(oneLine(error))}` });
      continue;
    }
    outcome.pruned.push(runId);
  }
  const kept = plan.keep.map((entry) => candidates.get(entry.runId)!);
  const logs = await pruneLogs(deps, { job, kept, now, ...(signal ? { signal } : {}) });
  if (logs) outcome.logs = logs;
  const packs = await sweepAfterRetention(deps, job, now, signal);
  if (packs.stored > 0 || packs.skipped) outcome.packs = packs;
  return outcome;
}

/** The pack sweep, whose failure (storage down) is reported in its `skipped`, never thrown: the runs are pruned already. */
async function sweepAfterRetention(deps: { readonly storage: StorageBackend; readonly catalog: Catalog; readonly host?: RunnerHost }, job: string, now: Date, signal: AbortSignal | undefined): Promise<PackSweepReport> {
  try {
    return await sweepPacks(deps, { job, now, ...(signal ? { signal } : {}) });
  } catch (error) {
    if (signal?.aborted) throw error;
    return { job, stored: 0, referenced: 0, deleted: { count: 0, bytes: 0, names: [] }, keptLocked: [], failed: [], skipped: `the pack sweep failed: ${redact(oneLine(error))}` };
  }
}

/** Manifest first (the commit marker goes first, so a half-pruned run is never a backup), then the rest of the run folder. */
async function deleteRunObjects(storage: StorageBackend, job: string, runId: string, signal: AbortSignal | undefined): Promise<void> {
  const options = signal ? { signal } : {};
  const manifest = manifestKey(job, runId);
  await storage.delete(manifest, options);
  const rest: string[] = [];
  for await (const object of storage.list(`${runFolder(job, runId)}/`, options)) if (object.key !== manifest) rest.push(object.key);
  for (const key of rest) await storage.delete(key, options);
}

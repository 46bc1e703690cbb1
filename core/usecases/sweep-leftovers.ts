import type { Catalog } from '../ports/catalog.js';
import { canSweep, type Leftover, type StorageBackend } from '../ports/storage-backend.js';
import { MANIFEST_NAME, parseRunFolder } from '../domain/object-layout.js';
import { runIdTime, type RunRecord } from '../domain/run.js';
import { oneLine } from '../errors.js';
import { ABANDON_GRACE_MS, DEFAULT_RUN_TIMEOUT_MS } from './settle-runs.js';

export interface SweepDependencies {
  readonly storage: StorageBackend;
  readonly catalog: Catalog;
  readonly now: () => Date;
  /** How old something of a run the catalog does not know must be before it is removed. @default DEFAULT_RUN_TIMEOUT_MS */
  readonly defaultTimeoutMs?: number;
}

/** One thing the sweep removed (or failed to remove). */
export interface SweptItem {
  /** A store's leftover kind, or `object`: an object of a run folder that never got its manifest. */
  readonly kind: Leftover['kind'] | 'object';
  /** Relative to the storage root. */
  readonly key: string;
  readonly id?: string;
  readonly sizeBytes?: number;
  readonly runId?: string;
}

export interface SweepReport {
  readonly removed: SweptItem[];
  readonly failed: (SweptItem & { readonly error: string })[];
}

/**
 * Removes what no live run owns under `<job>/` (or the whole store): temp files, incomplete
 * uploads and uncommitted blocks (`LeftoverSweeper`), empty folders, and the objects of run
 * folders that never got a manifest (a run folder without one is never a backup).
 *
 * Ownership comes from the run folder a leftover lies in: a run recorded `running`/`pending`
 * owns it (settle abandoned runs first: `settleAbandonedRuns`); a failed or skipped run owns
 * nothing; a run the catalog does not know (another catalog may be recording it) owns its
 * folder until its timeout has passed since the time in its run id. Objects of succeeded runs
 * are retention's business and never touched. Something outside any run folder is removed
 * only once it is older than that timeout. Never throws for one item: failures are reported.
 */
export async function sweepLeftovers(deps: SweepDependencies, options: { job?: string; signal?: AbortSignal } = {}): Promise<SweepReport> {
  const prefix = options.job ? `${options.job}/` : '';
  const cutoffMs = deps.now().getTime() - (deps.defaultTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS) - ABANDON_GRACE_MS;
  const records = new Map<string, RunRecord | undefined>();
  const recordOf = async (job: string, runId: string) => {
    const id = `${job}/${runId}`;
    if (!records.has(id)) records.set(id, await deps.catalog.get(job, runId, options.signal ? { signal: options.signal } : {}));
    return records.get(id);
  };
  /** Whether the run of this folder may still be writing into it. */
  const mayBeLive = async (job: string, runId: string) => {
    const run = await recordOf(job, runId);
    if (run) return run.status === 'running' || run.status === 'pending';
    return runIdTime(runId).getTime() > cutoffMs;
  };

  const report: SweepReport = { removed: [], failed: [] };
  const remove = async (item: SweptItem, action: () => Promise<void>) => {
    try {
      await action();
      report.removed.push(item);
    } catch (error) {
      report.failed.push({ ...item, error: oneLine(error) });
    }
  };

  // Objects of run folders that never got their manifest, and whose run is over.
  const folders = new Map<string, { job: string; runId: string; keys: { key: string; sizeBytes: number }[]; committed: boolean }>();
  for await (const object of deps.storage.list(prefix, { signal: options.signal })) {
    const owner = parseRunFolder(object.key);
    if (!owner) continue;
    const folder = folders.get(owner.folder) ?? { job: owner.job, runId: owner.runId, keys: [], committed: false };
    folders.set(owner.folder, folder);
    if (object.key === `${owner.folder}/${MANIFEST_NAME}`) folder.committed = true;
    else folder.keys.push(object);
  }
  for (const folder of folders.values()) {
    if (folder.committed || (await mayBeLive(folder.job, folder.runId))) continue;
    const run = await recordOf(folder.job, folder.runId);
    if (run && run.status !== 'failed' && run.status !== 'skipped') continue;
    for (const object of folder.keys) {
      await remove({ kind: 'object', key: object.key, sizeBytes: object.sizeBytes, runId: folder.runId }, () => deps.storage.delete(object.key, { signal: options.signal }));
    }
  }

  if (!canSweep(deps.storage)) return report;
  const storage = deps.storage;
  const leftovers: Leftover[] = [];
  for await (const leftover of storage.listLeftovers(prefix, { signal: options.signal })) leftovers.push(leftover);
  for (const leftover of leftovers) {
    const owner = parseRunFolder(leftover.key);
    if (owner ? await mayBeLive(owner.job, owner.runId) : !isOld(leftover, cutoffMs)) continue;
    const item: SweptItem = {
      kind: leftover.kind,
      key: leftover.key,
      ...(leftover.id ? { id: leftover.id } : {}),
      ...(leftover.sizeBytes !== undefined ? { sizeBytes: leftover.sizeBytes } : {}),
      ...(owner ? { runId: owner.runId } : {}),
    };
    await remove(item, () => storage.removeLeftover(leftover, { signal: options.signal }));
  }
  return report;
}

/** Outside a run folder: an empty folder can always go (removal keeps it if it filled up); anything else once it is old. */
function isOld(leftover: Leftover, cutoffMs: number): boolean {
  if (leftover.kind === 'empty-folder') return true;
  return leftover.startedAt !== undefined && leftover.startedAt.getTime() < cutoffMs;
}

import type { Catalog } from '../ports/catalog.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { baseLogPositionOf, compareLogPositions, logKindSchema, type LogKind } from '../domain/log-archive.js';
import { manifestKey, runFolder } from '../domain/object-layout.js';
import type { RunRecord } from '../domain/run.js';
import { redact } from '../domain/redact.js';
import { oneLine } from '../errors.js';
import { readManifest } from './locate-backup.js';
import { recordedAt } from './recorded-at.js';

export interface LogPruneReport {
  /** Log runs removed: ending at or before the oldest kept base's position. */
  readonly pruned: number;
  readonly kept: number;
  readonly failed: { readonly runId: string; readonly error: string }[];
  /** Why nothing was pruned (a kept base's manifest unreadable, no base at all). */
  readonly skipped?: string;
}

/**
 * Retention for the log archive: keeps the log every kept base needs, no more. A log run whose
 * range ends at or before the oldest kept base's position (in the same log) can no longer be replayed
 * onto anything kept, and is removed like a pruned backup (its manifest first, then its object,
 * then its record marked `prunedAt`). When a kept base's manifest cannot be read, or no kept
 * backup is a base, nothing is pruned: the log is never removed on a guess.
 */
export async function pruneLogs(
  deps: { readonly storage: StorageBackend; readonly catalog: Catalog },
  request: { readonly job: string; readonly kept: readonly RunRecord[]; readonly now: Date; readonly signal?: AbortSignal },
): Promise<LogPruneReport | undefined> {
  const { storage, catalog } = deps;
  const io = request.signal ? { signal: request.signal } : {};
  const logs = (await catalog.list({ job: request.job, kind: 'log', status: 'succeeded' }, io)).filter((run) => run.log && !run.prunedAt && recordedAt(run, storage.location));
  if (logs.length === 0) return undefined;
  const oldest = new Map<LogKind, string>();
  for (const base of request.kept) {
    let details;
    try {
      details = (await readManifest(storage, base.manifestKey ?? manifestKey(base.job, base.runId), request.signal)).dump.details;
    } catch (error) {
      return { pruned: 0, kept: logs.length, failed: [], skipped: `the manifest of kept backup ${base.runId} could not be read (${redact(oneLine(error))}): no log pruned` };
    }
    const position = baseLogPositionOf(details);
    if (!position) continue;
    const before = oldest.get(position.kind);
    if (before === undefined || compareLogPositions(position.kind, position.start, before) < 0) oldest.set(position.kind, position.start);
  }
  if (oldest.size === 0) return { pruned: 0, kept: logs.length, failed: [], skipped: 'no kept backup is a base for the archived log: no log pruned' };

  const report = { pruned: 0, kept: 0, failed: [] as { runId: string; error: string }[] };
  for (const run of logs) {
    const kind = logKindSchema.parse(run.log!.kind);
    const limit = oldest.get(kind);
    // A range ending exactly at the base's position holds nothing the base lacks: replay starts after it.
    if (limit === undefined || compareLogPositions(kind, run.log!.end, limit) > 0) {
      report.kept++;
      continue;
    }
    try {
      await storage.delete(manifestKey(run.job, run.runId), io);
      for await (const object of storage.list(`${runFolder(run.job, run.runId)}/`, io)) await storage.delete(object.key, io);
      await catalog.update({ ...run, prunedAt: request.now.toISOString() }, io);
      report.pruned++;
    } catch (error) {
      if (request.signal?.aborted) throw error;
      report.failed.push({ runId: run.runId, error: redact(oneLine(error)) });
    }
  }
  return report;
}

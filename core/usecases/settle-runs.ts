import type { Catalog } from '../ports/catalog.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { RunnerHost } from '../ports/runner-host.js';
import { manifestKey } from '../domain/object-layout.js';
import type { RunKind, RunRecord } from '../domain/run.js';
import { formatDurationMs } from '../config/durations.js';
import { logPushLockName } from '../config/log-schedule.js';
import { IntegrityError, NotFoundError } from '../errors.js';
import { readManifest } from './locate-backup.js';
import { backupRecordOf } from './backup-record.js';
import { recordedAt } from './recorded-at.js';

export interface SettleDependencies {
  readonly catalog: Catalog;
  /** Where the runs wrote: only runs recorded for this location are settled, and a backup whose manifest is here succeeded. */
  readonly storage: StorageBackend;
  readonly host: RunnerHost;
  readonly now: () => Date;
  /** The timeout of a run whose record names none. @default DEFAULT_RUN_TIMEOUT_MS */
  readonly defaultTimeoutMs?: number;
}

export interface SettledRun {
  readonly job: string;
  readonly runId: string;
  readonly kind: RunKind;
  /** `succeeded` for a backup whose manifest was committed before its process died. */
  readonly status: 'failed' | 'succeeded';
  readonly reason: string;
}

/** A job's timeout when nothing says otherwise: the config's default (`timeout: 2h`). */
export const DEFAULT_RUN_TIMEOUT_MS = 2 * 3_600_000;

/**
 * How long past its timeout a run on another host may stay unfinished before it counts as
 * abandoned: a runner finishing just at its timeout, and clocks a little apart, are not crashes.
 */
export const ABANDON_GRACE_MS = 15 * 60_000;

/**
 * Settles abandoned runs: `running`/`pending` runs whose process is gone, or that are past their
 * timeout. On this host the process itself is asked (a live process is never abandoned, however
 * long it takes); a run of another host is judged by its timeout alone. A backup whose manifest
 * is in storage succeeded (its process died after the commit marker, e.g. while recording it)
 * and is recorded so from the manifest; every other abandoned run is recorded failed with the
 * reason, and its job lock released. Only runs recorded for `deps.storage` are looked at.
 *
 * Idempotent, and safe beside live runs. A backup whose manifest cannot be read now (storage
 * unreachable) is left for a later pass rather than recorded failed by mistake.
 */
export async function settleAbandonedRuns(deps: SettleDependencies, options: { job?: string; exceptRunId?: string; signal?: AbortSignal } = {}): Promise<SettledRun[]> {
  const now = deps.now();
  const io = options.signal ? { signal: options.signal } : {};
  const unfinished = [
    ...(await deps.catalog.list({ ...(options.job ? { job: options.job } : {}), status: 'running' }, io)),
    ...(await deps.catalog.list({ ...(options.job ? { job: options.job } : {}), status: 'pending' }, io)),
  ].filter((run) => run.runId !== options.exceptRunId && recordedFor(run, deps.storage));
  const settled: SettledRun[] = [];
  for (const run of unfinished) {
    const reason = abandonment(run, deps.host, now, deps.defaultTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS);
    if (!reason) continue;
    const committed = run.kind === 'backup' || run.kind === 'log' ? await committedBackup(deps.storage, run, options.signal) : undefined;
    if (committed === 'unknown') continue;
    if (committed) {
      await deps.catalog.update(committed, io);
      settled.push({ job: run.job, runId: run.runId, kind: run.kind, status: 'succeeded', reason: `${reason}, after its manifest was written: recorded from the manifest` });
    } else {
      await deps.catalog.update({
        ...run,
        status: 'failed',
        finishedAt: now.toISOString(),
        durationMs: Math.max(0, now.getTime() - Date.parse(run.startedAt)),
        error: { kind: 'abandoned', message: `abandoned: ${reason}` },
      }, io);
      settled.push({ job: run.job, runId: run.runId, kind: run.kind, status: 'failed', reason });
    }
    await deps.catalog.releaseLock(run.kind === 'log' ? logPushLockName(run.job) : run.job, run.runId, io);
  }
  return settled;
}

/** Why `run` is abandoned, or `undefined` while it may still be working. */
export function abandonment(run: RunRecord, host: RunnerHost, now: Date, defaultTimeoutMs: number): string | undefined {
  if (run.status !== 'running' && run.status !== 'pending') return undefined;
  const runner = run.runner;
  if (runner && runner.hostname === host.hostname) {
    // Our own id on our host is a dead process's: ours is excluded by the caller.
    if (runner.pid !== host.pid && host.isAlive(runner.pid)) return undefined;
    return `its process (pid ${runner.pid} on ${runner.hostname}) ended without recording its outcome`;
  }
  const timeoutMs = run.timeoutMs ?? defaultTimeoutMs;
  const ageMs = now.getTime() - Date.parse(run.startedAt);
  if (ageMs <= timeoutMs + ABANDON_GRACE_MS) return undefined;
  const where = runner ? ` (its process ran on ${runner.hostname}, pid ${runner.pid})` : '';
  return `still ${run.status} ${formatDurationMs(Math.floor(ageMs / 60_000) * 60_000)} after it started, past its timeout of ${formatDurationMs(timeoutMs)}${where}`;
}

/** Whether `run` was recorded for `storage`: its location is that storage, or a folder in it. */
function recordedFor(run: RunRecord, storage: StorageBackend): boolean {
  return run.location === undefined || recordedAt(run, storage.location);
}

/** The succeeded record of a backup whose manifest is in storage; `undefined` if there is none; `'unknown'` if storage could not say. */
async function committedBackup(storage: StorageBackend, run: RunRecord, signal?: AbortSignal): Promise<RunRecord | undefined | 'unknown'> {
  const key = manifestKey(run.job, run.runId);
  try {
    // readManifest refuses a manifest that is not this run folder's.
    return backupRecordOf(storage.location, key, await readManifest(storage, key, signal));
  } catch (error) {
    // A damaged manifest is no commit: the run failed. Anything else (storage down): ask again later.
    if (error instanceof NotFoundError || error instanceof IntegrityError) return undefined;
    return 'unknown';
  }
}

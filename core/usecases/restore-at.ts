import { isDeepStrictEqual } from 'node:util';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReplayRange, ReplayReport } from '../ports/log-archiver.js';
import { AbortedError, ConfigError, IntegrityError, oneLine, RestoreFailedError } from '../errors.js';
import { locateBackup, type LocatedBackup } from './locate-backup.js';
import { authenticateBackup } from './authenticate-backup.js';
import { checkObjectsPresent, explainReadFailure, openBackupStages } from './read-backup.js';
import { planPointInTime, type PointInTimePlan } from './plan-point-in-time.js';
import { recordedRun } from './record-run.js';
import { runRestore, type RestoreDependencies, type RestoreReport } from './restore.js';
import { rootCause } from './run-errors.js';

export interface PointInTimeRequest {
  readonly job: string;
  /** A time, `latest` (the newest the archive reaches), or `consistent` with `baseRunId` (a physical base on its own). */
  readonly at: Date | 'latest' | 'consistent';
  readonly baseRunId?: string;
  readonly target: string;
  readonly force?: boolean;
  /** Plan and check signatures and objects only: nothing is read past the manifests, no target touched. */
  readonly dryRun?: boolean;
  /** PostgreSQL: start a throwaway server on the restored data directory to carry out and check the recovery. */
  readonly startServer?: boolean;
  readonly jobs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesRead: number) => void;
}

export interface PointInTimeReport {
  readonly plan: PointInTimePlan;
  readonly dryRun: boolean;
  /** The base's restore (absent in a dry run). */
  readonly base?: RestoreReport;
  readonly replay?: ReplayReport;
}

/**
 * Restores `job` to a point in time (docs/point-in-time.md): plans the newest base and the log
 * ranges that reach the time (refusing, before anything else, a time the archive cannot reach),
 * checks the signature of every manifest it will use and that each log run's signed range is the
 * one the catalog proposed, checks every object is present, then restores the base and has the
 * engine replay the ranges up to the time. Recorded as one restore run.
 *
 * A failure after the base was restored says so: the target then holds the base (or a part of
 * the replay: a binary log replay commits as it goes), and should be restored again or dropped.
 */
export async function restoreToPointInTime(deps: RestoreDependencies, request: PointInTimeRequest): Promise<PointInTimeReport> {
  const engineId = deps.engineIdForUrl(request.target);
  const engine = deps.engineById(engineId);
  const logs = engine.logs;
  if (!logs) throw new ConfigError(`${engineId} keeps no change log Vaultra archives: restore a backup by its run id instead of --at`);
  const plan = await planPointInTime(deps, {
    job: request.job,
    kind: logs.kind,
    at: request.at,
    ...(request.baseRunId ? { baseRunId: request.baseRunId } : {}),
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const logRuns = await checkedLogRuns(deps, plan, request.signal);
  const base = await locateBackup(deps.storage, { ref: plan.base.runId, job: plan.job }, request.signal);
  if (base.manifest.source.engine !== engineId) throw new ConfigError(`job ${plan.job}'s base ${base.runId} is a ${base.manifest.source.engine} backup; it cannot be restored into a ${engineId} target`);
  if (request.dryRun) {
    await authenticateBackup(deps.storage, base, deps.trust, { action: 'restore', ...(request.signal ? { signal: request.signal } : {}) });
    await checkObjectsPresent(deps.storage, base, request.signal);
    return { plan, dryRun: true };
  }
  const { value } = await recordedRun(
    deps.catalog,
    { kind: 'restore', job: plan.job, engine: engineId, location: deps.storage.location },
    async () => {
      const restored = await runRestore(deps, {
        ref: base.runId,
        job: plan.job,
        target: request.target,
        record: false,
        ...(request.force ? { force: true } : {}),
        ...(request.jobs ? { jobs: request.jobs } : {}),
        ...(request.signal ? { signal: request.signal } : {}),
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
      });
      const ranges: ReplayRange[] = logRuns.map((located) => ({ range: located.manifest.log!, runId: located.runId, open: () => openLogPlaintext(deps, located, request.signal) }));
      try {
        const replay = await logs.replay(engine.parse(request.target), ranges, {
          until: request.at === 'consistent' ? 'consistent' : plan.at,
          from: plan.base.position,
          sourceDatabase: base.manifest.source.database,
          ...(request.startServer ? { startServer: true } : {}),
          ...(request.signal ? { signal: request.signal } : {}),
        });
        return { base: restored, replay };
      } catch (error) {
        // Integrity and interruption keep their kind (and exit code); anything else is a failed restore.
        const message = `base ${base.runId} was restored into ${engine.parse(request.target).describe()}, but replaying the log to ${plan.at.toISOString()} failed: ${oneLine(error)}; the target holds the base and part of the log: drop it, or restore again`;
        if (error instanceof IntegrityError) throw new IntegrityError(message, { cause: error });
        if (error instanceof AbortedError) throw new AbortedError(message, { cause: error });
        throw new RestoreFailedError(message, '', { cause: error });
      }
    },
    request.signal ? { signal: request.signal } : {},
  );
  return { plan, dryRun: false, ...value };
}

/**
 * Each log run of the plan, located by the storage (the truth), its manifest's signature checked,
 * its signed range equal to the one the catalog proposed (a catalog is not trusted with what a
 * restore applies), and its object present.
 */
async function checkedLogRuns(deps: RestoreDependencies, plan: PointInTimePlan, signal?: AbortSignal): Promise<LocatedBackup[]> {
  const located: LocatedBackup[] = [];
  for (const { runId, range } of plan.ranges) {
    const run = await locateBackup(deps.storage, { ref: runId, job: plan.job }, signal);
    await authenticateBackup(deps.storage, run, deps.trust, { action: 'restore', ...(signal ? { signal } : {}) });
    if (!run.manifest.log || !isDeepStrictEqual(run.manifest.log, range)) {
      throw new IntegrityError(`log run ${runId} of job ${plan.job}: its signed manifest's range differs from the catalog's: run vaultra catalog rebuild, then try again`);
    }
    await checkObjectsPresent(deps.storage, run, signal);
    located.push(run);
  }
  return located;
}

/** A log run's plaintext: read, checksum-verified, decrypted and decompressed, as one stream that fails with the root cause. */
async function openLogPlaintext(deps: RestoreDependencies, located: LocatedBackup, signal?: AbortSignal): Promise<Readable> {
  const stages = await openBackupStages(deps, located, signal ? { signal } : {});
  const plaintext = new PassThrough();
  pipeline(...stages, plaintext, signal ? { signal } : {}).catch(async (error: unknown) => {
    plaintext.destroy((await explainReadFailure(deps.storage, located, rootCause([{ status: 'rejected', reason: error }]), signal)) as Error);
  });
  return plaintext;
}

import { performance } from 'node:perf_hooks';
import type { Notifier } from '../ports/notifier.js';
import type { EngineId } from '../ports/database-engine.js';
import type { ScratchProvider, ScratchTarget } from '../ports/scratch-target.js';
import type { DrillCheckConfig } from '../config/drill-config.js';
import { newRunId, type DrillOutcome, type RunRecord } from '../domain/run.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { ConfigError, IntegrityError } from '../errors.js';
import { locateBackup, type BackupRef, type LocatedBackup } from './locate-backup.js';
import { authenticateBackup, type Authenticity } from './authenticate-backup.js';
import { checkObjectsPresent } from './read-backup.js';
import { runRestore, type RestoreDependencies } from './restore.js';
import { claimOrCreate } from './backup.js';
import { checksumChecks, contentChecks, schemaCheck, userChecks, type DrillCheck } from './drill-checks.js';
import { tableChecksumsOf } from '../domain/table-checksums.js';
import { drillFailedAlert, rtoBreachAlert } from './drill-alerts.js';
import { notifyAll, type NotifyOutcome } from './notify-all.js';
import { toRunError } from './run-errors.js';

export interface DrillDependencies extends RestoreDependencies {
  /** The scratch targets of an engine (the runner wires the registry); rejects with `ConfigError` for an engine it has none for. */
  readonly scratchFor: (engine: EngineId) => ScratchProvider;
  /** Where a failed drill, or one past its RTO budget, is reported. */
  readonly notifiers: readonly Notifier[];
  /** The environment alerts name. */
  readonly environment: string;
  readonly now?: Clock;
}

export interface DrillRequest extends BackupRef {
  /** A database on a server the user names, created and dropped by the drill; default: a throwaway server. */
  readonly scratchUrl?: string;
  readonly checks?: readonly DrillCheckConfig[];
  /** The job's RTO budget: a drill whose RTO passes it alerts (and still succeeds). */
  readonly rtoBudgetMs?: number;
  /** The run id a scheduler recorded as `pending` for this drill: claimed instead of a new one. */
  readonly runId?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (bytesRead: number) => void;
}

export interface DrillReport {
  readonly backup: LocatedBackup;
  readonly authenticity?: Authenticity;
  /** The drill's run in the catalog (kind `drill`), as recorded at its end. */
  readonly run: RunRecord;
  readonly outcome: DrillOutcome;
  readonly checks: readonly DrillCheck[];
  readonly bytesRaw?: number;
  /** Why the drill failed before or beside its checks (tampering, a failed restore, an interrupt). */
  readonly error?: unknown;
  readonly passed: boolean;
  /** What a scratch target's removal could not remove, in one line (should never be set). */
  readonly leftover?: string;
  readonly alerts: readonly { readonly title: string; readonly outcome: NotifyOutcome }[];
}

type Phase = 'fetch' | 'restore' | 'verify';

/**
 * A restore drill: the backup found and authenticated, restored into a scratch target that
 * exists only for the drill, and proven there — every entry of its contents list present with
 * the recorded count, the schema objects counted, the job's own checks run. Each phase is timed
 * (`performance.now()`: durations never depend on the wall clock) and the drill recorded as a
 * run of kind `drill`. The scratch target is always destroyed, whatever happened, before this
 * resolves; a drill that failed, or passed its RTO budget, alerts through `notifiers`.
 *
 * Resolves with the report even when the drill failed (`passed: false`, with `error` when it
 * failed before its checks ran), so the caller can print and file it; rejects only when no backup
 * was found or the catalog could not record the run.
 */
export async function runDrill(deps: DrillDependencies, request: DrillRequest): Promise<DrillReport> {
  const now = deps.now ?? systemClock;
  const phasesMs: Partial<Record<Phase, number>> = {};
  let phaseStart = performance.now();
  const endPhase = (phase: Phase) => {
    const at = performance.now();
    phasesMs[phase] = Math.round(at - phaseStart);
    phaseStart = at;
  };
  const backup = await locateBackup(deps.storage, request, request.signal);
  if (backup.manifest.log) throw new ConfigError(`run ${backup.runId} is a log run, not a backup: drill a backup (vaultra list shows them)`);
  const startedAt = now();
  let run: RunRecord = { runId: request.runId ?? newRunId(startedAt), job: backup.job, kind: 'drill', status: 'running', engine: backup.manifest.source.engine, startedAt: startedAt.toISOString(), location: deps.storage.location };
  run = await claimOrCreate(deps.catalog, run, request.signal);

  let authenticity: Authenticity | undefined;
  let scratch: ScratchTarget | undefined;
  let scratchMs: number | undefined;
  let bytesRaw: number | undefined;
  let leftover: string | undefined;
  let error: unknown;
  const checks: DrillCheck[] = [];
  try {
    authenticity = await authenticateBackup(deps.storage, backup, deps.trust, { action: 'restore', signal: request.signal });
    await checkObjectsPresent(deps.storage, backup, request.signal);
    endPhase('fetch');
    const provider = deps.scratchFor(backup.manifest.source.engine);
    scratch = await openScratch(provider, request);
    scratchMs = Math.round(performance.now() - phaseStart);
    phaseStart = performance.now();
    const restored = await runRestore(deps, { ref: backup.runId, job: backup.job, target: scratch.url, noOwner: true, record: false, signal: request.signal, onProgress: request.onProgress });
    bytesRaw = restored.bytesRaw;
    endPhase('restore');
    const { contents } = backup.manifest;
    checks.push(...contentChecks(contents, await scratch.probe.observe(contents, request.signal)));
    const checksums = tableChecksumsOf(backup.manifest.dump.details);
    if (checksums && scratch.probe.checksums) checks.push(...checksumChecks(checksums, await scratch.probe.checksums(Object.keys(checksums), request.signal)));
    checks.push(schemaCheck(await scratch.probe.inventory(request.signal)));
    checks.push(...(await userChecks(scratch.probe, request.checks ?? [], { backupStartedAt: backup.manifest.startedAt, backupRunId: backup.runId }, request.signal)));
    endPhase('verify');
  } catch (failure) {
    error = failure;
  } finally {
    leftover = await scratch?.destroy();
  }

  const failed = checks.filter((check) => !check.passed);
  if (error === undefined && failed.length > 0) {
    error = new IntegrityError(`${failed.length} of ${checks.length} drill checks failed: ${failed[0]!.name}: ${failed[0]!.detail}`);
  }
  const outcome: DrillOutcome = {
    backupRunId: backup.runId,
    rtoMs: (phasesMs.fetch ?? 0) + (phasesMs.restore ?? 0) + (phasesMs.verify ?? 0),
    phasesMs: { fetch: phasesMs.fetch ?? 0, ...(phasesMs.restore === undefined ? {} : { restore: phasesMs.restore }), ...(phasesMs.verify === undefined ? {} : { verify: phasesMs.verify }) },
    ...(scratchMs === undefined ? {} : { scratchMs }),
    ...(request.rtoBudgetMs ? { rtoBudgetMs: request.rtoBudgetMs } : {}),
    checks: checks.length,
    failedChecks: failed.length,
    ...(scratch ? { scratch: scratch.description } : {}),
  };
  const finishedAt = now();
  run = {
    ...run,
    status: error === undefined ? 'succeeded' : 'failed',
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.max(0, finishedAt.getTime() - startedAt.getTime()),
    ...(bytesRaw === undefined ? {} : { bytesRaw }),
    ...(error === undefined ? {} : { error: toRunError(error) }),
    drill: outcome,
  };
  await deps.catalog.update(run);

  const alerts = [];
  const alert = error !== undefined ? drillFailedAlert(deps.environment, run) : request.rtoBudgetMs && outcome.rtoMs > request.rtoBudgetMs ? rtoBreachAlert(deps.environment, run, outcome) : undefined;
  if (alert && deps.notifiers.length > 0) alerts.push({ title: alert.title, outcome: await notifyAll(deps.notifiers, alert) });
  return { backup, ...(authenticity ? { authenticity } : {}), run, outcome, checks, ...(bytesRaw === undefined ? {} : { bytesRaw }), ...(error === undefined ? {} : { error }), passed: error === undefined, ...(leftover ? { leftover } : {}), alerts };
}

function openScratch(provider: ScratchProvider, request: DrillRequest): Promise<ScratchTarget> {
  if (request.scratchUrl === undefined) return provider.start({ signal: request.signal });
  if (!provider.onServer) throw new ConfigError(`${provider.engine} backups are drilled into a scratch file or folder of their own: leave out --scratch`);
  return provider.onServer(request.scratchUrl, { signal: request.signal });
}

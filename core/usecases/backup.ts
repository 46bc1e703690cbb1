import { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { Catalog } from '../ports/catalog.js';
import type { Compressor } from '../ports/compressor.js';
import type { DatabaseEngine } from '../ports/database-engine.js';
import type { Encryptor } from '../ports/encryptor.js';
import type { ManifestSigner } from '../ports/manifest-signer.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { manifestSchema, type Manifest } from '../domain/manifest.js';
import { manifestKey, runFolder } from '../domain/object-layout.js';
import { signatureKeyOf } from '../domain/manifest-signature.js';
import { newRunId, type RunRecord } from '../domain/run.js';
import { storageUrlOf } from '../domain/storage-location.js';
import { Sha256Tap } from '../pipeline/byte-taps.js';
import { fanOut } from '../pipeline/fan-out.js';
import { rootCause, toRunError } from './run-errors.js';
import { sha256Hex, signManifest } from './sign-manifest.js';
import { AbortedError, CatalogWriteError, LeftBehindError, oneLine, RunConflictError, VaultraError } from '../errors.js';
import { VAULTRA_VERSION } from '../version.js';
import { repairedAnything, repairRuns, type RepairReport } from './repair-runs.js';
import type { RunnerHost } from '../ports/runner-host.js';
import { systemClock } from '../domain/clock.js';

export interface BackupDependencies {
  readonly engine: DatabaseEngine;
  /** Where the backup goes (the run record's location). */
  readonly storage: StorageBackend;
  /** Further destinations that get the same bytes from the same dump (`--to` repeated). */
  readonly alsoTo?: readonly StorageBackend[];
  readonly compressor: Compressor;
  readonly encryptor: Encryptor;
  /** Signs the manifest, so restores can tell this backup from one forged with the public recipients. */
  readonly signer: ManifestSigner;
  readonly catalog: Catalog;
  /** The clock. @default the system clock */
  readonly now?: () => Date;
  /**
   * The machine this runs on: lets the repair at the end of the run tell a dead run of this host
   * from a live one. Without it, earlier runs are settled by their timeout only.
   */
  readonly host?: RunnerHost;
}

export interface BackupRequest {
  readonly source: string;
  readonly job: string;
  readonly runId?: string;
  /** How long the run may take, recorded so a later repair can tell when it was abandoned. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Called with raw (dump) and stored byte counts as they grow, for progress displays. */
  readonly onProgress?: (progress: { bytesRaw: number; bytesStored: number }) => void;
}

export interface BackupResult {
  readonly run: RunRecord;
  readonly manifest?: Manifest;
  /** Set when the run failed; the run record says the same, for the catalog. */
  readonly error?: unknown;
  /** Things the engine noticed in a dump that still succeeded (also in the manifest's `dump.details`). */
  readonly warnings?: readonly string[];
  /** What the repair at the end of the run settled and removed, per destination (only those where it found something or failed). */
  readonly repairs?: readonly RepairReport[];
  /** Why a repair could not run to its end (it never fails the backup). */
  readonly repairErrors?: readonly string[];
}

/**
 * Takes one backup: dump → compress (counting) → encrypt → hash → store (in every
 * destination at once), then the manifest's signature, then the manifest (in every destination).
 *
 * A backup is successful only when the dump tool exited 0, every stage ended cleanly, every
 * byte is stored and the manifest — written last, the commit marker — is stored. On any
 * failure every stage is destroyed (killing the dump tool), the data object is deleted, no
 * manifest exists, and the run is recorded as failed with a one-line error. Earlier backups
 * are never touched. The signature (`manifest.json.sig`) is written before the manifest, so a
 * committed manifest always has its signature; a signature without a manifest is just one more
 * object of an incomplete run folder. With several destinations the run succeeds only when
 * every destination has every byte, its signature and its manifest; otherwise what was written
 * anywhere is removed again.
 * Never throws for a failed run: the result carries the error.
 *
 * A signal that aborts the run makes it `interrupted` (AbortedError), whatever the stage that
 * noticed first reported. When only recording the success fails, the backup stays (it is
 * complete and committed) and the error says how the catalog catches up. At the end, unless
 * interrupted or failed by its storage, earlier runs of the job are repaired in every
 * destination (`repairRuns`: abandoned runs settled, their leftovers removed).
 */
export async function runBackup(deps: BackupDependencies, request: BackupRequest): Promise<BackupResult> {
  const now = deps.now ?? systemClock;
  const startedAt = now();
  const runId = request.runId ?? newRunId(startedAt);
  let run: RunRecord = {
    runId,
    job: request.job,
    kind: 'backup',
    status: 'running',
    engine: deps.engine.id,
    startedAt: startedAt.toISOString(),
    location: storageUrlOf(deps.storage.location, runFolder(request.job, runId)),
    ...(deps.host ? { runner: { pid: deps.host.pid, hostname: deps.host.hostname } } : {}),
    ...(request.timeoutMs ? { timeoutMs: request.timeoutMs } : {}),
  };
  run = await claimOrCreate(deps.catalog, run);
  const result = await backUp(deps, request, run, now);
  // Interrupted: the user wants out. Storage (or the catalog) failing: cleaning up would fail too.
  if (request.signal?.aborted || (result.error instanceof VaultraError && result.error.kind === 'storage')) return result;
  return { ...result, ...(await repairAfter(deps, request.job, runId, request.signal)) };
}

async function backUp(deps: BackupDependencies, request: BackupRequest, started: RunRecord, now: () => Date): Promise<BackupResult> {
  let run = started;
  const { runId } = run;
  const folder = runFolder(request.job, runId);
  const startedAt = new Date(run.startedAt);
  let manifest: Manifest;
  let warnings: readonly string[] | undefined;

  const dataName = dataObjectName(deps.engine, deps.compressor, deps.encryptor);
  const dataKey = `${folder}/${dataName}`;
  const destinations = [deps.storage, ...(deps.alsoTo ?? [])];
  /** Destinations holding an object of this run, to remove if the run fails. */
  const written = new Set<StorageBackend>();
  const manifestsWritten = new Set<StorageBackend>();
  const signaturesWritten = new Set<StorageBackend>();
  const key = manifestKey(request.job, runId);
  try {
    const connection = deps.engine.parse(request.source);
    const source = await deps.engine.describe(connection, request.signal);
    const compression = await deps.compressor.open();
    const dump = await deps.engine.dump(connection, { signal: request.signal, directTo: compression.direct?.pipe }).catch((error: unknown) => {
      compression.output.destroy();
      throw error;
    });
    let fed: Promise<unknown>;
    if (dump.direct) {
      // The dump tool writes into the compressor's stdin itself: Node never touches the plaintext.
      dump.stream.resume();
      const verdict = finished(dump.stream).then(
        () => undefined,
        (error: Error) => error,
      );
      compression.direct!.producerDone(verdict, dump.pid);
      fed = verdict;
    } else {
      fed = pipeline(dump.stream, compression.input, { signal: request.signal });
    }
    // Whatever ends the compressed side early (storage, encryption, abort) also stops the dump.
    compression.output.once('close', () => dump.stream.destroy());
    const stored = new Sha256Tap();
    const report = () => request.onProgress?.({ bytesRaw: compression.plaintextBytes(), bytesStored: stored.bytes });
    const timer = request.onProgress ? setInterval(report, 250) : undefined;
    try {
      const fan = destinations.length > 1 ? fanOut(destinations.length) : undefined;
      const stages = fan
        ? pipeline(compression.output, deps.encryptor.encrypt(), stored, fan.input, { signal: request.signal })
        : pipeline(compression.output, deps.encryptor.encrypt(), stored, { signal: request.signal });
      const uploads = destinations.map((storage, i) =>
        storage.put(dataKey, fan ? fan.branches[i]! : stored, { signal: request.signal }).then(
          () => void written.add(storage),
          (error: unknown) => {
            // A backend that gives up may simply stop reading: tear the stages down, or the dump
            // blocks on a full pipe and the pipeline never settles.
            stored.destroy();
            throw error;
          },
        ),
      );
      const [piped, feeding, ...puts] = await Promise.allSettled([stages, fed, ...uploads]);
      if (piped.status === 'rejected' || feeding.status === 'rejected' || puts.some((put) => put.status === 'rejected')) {
        throw rootCause([feeding, piped, ...puts]);
      }
      report();
    } finally {
      clearInterval(timer);
    }

    const finishedAt = now();
    manifest = manifestSchema.parse({
      schema: 'vaultra.manifest/v1',
      runId,
      job: request.job,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      source: { engine: source.engine, database: source.database, serverVersion: source.serverVersion },
      dump: { tool: dump.tool.name, toolVersion: dump.tool.version, format: dump.format, consistency: dump.consistency, ...(dump.details ? { details: { ...dump.details } } : {}) },
      compression: { id: deps.compressor.id, level: deps.compressor.level, implementation: deps.compressor.implementation },
      encryption: { format: deps.encryptor.format, recipients: [...deps.encryptor.recipients] },
      plaintextBytes: compression.plaintextBytes(),
      objects: [{ name: dataName, role: 'data', sizeBytes: stored.bytes, sha256: stored.sha256 }],
      contents: [...source.contents],
      vaultraVersion: VAULTRA_VERSION,
    } satisfies Manifest);
    const manifestText = JSON.stringify(manifest, null, 2) + '\n';
    // Signed before anything is committed: a key service that refuses fails the run, never leaves
    // an unsigned backup behind. The signature goes first so every manifest has one.
    const signatureText = await signManifest(deps.signer, { job: request.job, runId, manifestKey: key, manifestSha256: sha256Hex(manifestText) }, request.signal);
    const signaturePuts = await Promise.allSettled(
      destinations.map((storage) => storage.put(signatureKeyOf(key), Readable.from([signatureText]), { signal: request.signal }).then(() => void signaturesWritten.add(storage))),
    );
    if (signaturePuts.some((put) => put.status === 'rejected')) throw rootCause(signaturePuts);
    // The commit marker: until this object exists, the run folder is not a backup.
    const manifestPuts = await Promise.allSettled(
      destinations.map((storage) => storage.put(key, Readable.from([manifestText]), { signal: request.signal }).then(() => void manifestsWritten.add(storage))),
    );
    if (manifestPuts.some((put) => put.status === 'rejected')) throw rootCause(manifestPuts);

    warnings = dump.warnings;
    run = {
      ...run,
      status: 'succeeded',
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      bytesRaw: compression.plaintextBytes(),
      bytesStored: stored.bytes,
      sha256: stored.sha256,
      manifestKey: key,
    };
  } catch (caught) {
    const error = request.signal?.aborted ? asInterrupted(caught) : caught;
    // Manifests first: a folder stops being a backup the moment its manifest is gone.
    await Promise.all([...manifestsWritten].map((storage) => storage.delete(key).catch(() => undefined)));
    await Promise.all([...signaturesWritten].map((storage) => storage.delete(signatureKeyOf(key)).catch(() => undefined)));
    await Promise.all([...written].map((storage) => storage.delete(dataKey).catch(() => undefined)));
    const finishedAt = now();
    const leftBehind = error instanceof LeftBehindError ? error.leftBehind.map(({ kind, location, id, cleanup }) => ({ kind, location, ...(id ? { id } : {}), cleanup })) : [];
    run = {
      ...run,
      status: 'failed',
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      error: toRunError(error),
      ...(leftBehind.length ? { leftBehind } : {}),
    };
    try {
      await deps.catalog.update(run);
    } catch (recordError) {
      return { run, error: new CatalogWriteError(`${oneLine(error)}; recording run ${runId} of job ${request.job} as failed also failed: ${oneLine(recordError)}`, { cause: recordError }) };
    }
    return { run, error };
  }
  // Only the record of the success is missing if this fails: the backup itself is complete and
  // committed, so it stays, and the next repair records it from its manifest.
  try {
    await deps.catalog.update(run);
  } catch (recordError) {
    const where = storageUrlOf(deps.storage.location, manifestKey(request.job, runId));
    const error = new CatalogWriteError(
      `backup ${runId} of job ${request.job} is complete (${where}) but the catalog could not record it: ${oneLine(recordError)}; once the catalog can be written, run 'vaultra catalog repair' (the next backup of the job does it too)`,
      { cause: recordError },
    );
    return { run, manifest, error, warnings };
  }
  return { run, manifest, warnings };
}

/**
 * The failure of a run whose signal aborted: stages killed by the abort report their own
 * deaths ("psql exit SIGTERM"), but the cause is the interruption. What was left behind stays said.
 */
function asInterrupted(error: unknown): unknown {
  if (error instanceof VaultraError && error.kind === 'aborted') return error;
  if (error instanceof LeftBehindError) return new LeftBehindError(new AbortedError('interrupted: the run was cancelled', { cause: error.failure }), error.leftBehind);
  return new AbortedError('interrupted: the run was cancelled', { cause: error });
}

/** Settles and sweeps earlier runs of `job` in every destination; never fails the backup. */
async function repairAfter(deps: BackupDependencies, job: string, runId: string, signal?: AbortSignal): Promise<Pick<BackupResult, 'repairs' | 'repairErrors'>> {
  const host = deps.host ?? { hostname: '', pid: 0, isAlive: () => true };
  const repairs: RepairReport[] = [];
  const repairErrors: string[] = [];
  for (const storage of [deps.storage, ...(deps.alsoTo ?? [])]) {
    try {
      const report = await repairRuns({ catalog: deps.catalog, storage, host, now: deps.now ?? systemClock }, { job, exceptRunId: runId, ...(signal ? { signal } : {}) });
      if (repairedAnything(report)) repairs.push(report);
    } catch (error) {
      repairErrors.push(`cleaning up after earlier runs of job ${job} in ${storage.location} failed: ${oneLine(error)}`);
    }
  }
  return { ...(repairs.length ? { repairs } : {}), ...(repairErrors.length ? { repairErrors } : {}) };
}

/** `data.pgdump.zst.age`: the name says how to open it without Vaultra. */
export function dataObjectName(engine: Pick<DatabaseEngine, 'artifactName'>, compressor: Compressor, encryptor: Encryptor): string {
  const format = engine.artifactName;
  const compression = { zstd: '.zst', gzip: '.gz', none: '' }[compressor.id];
  const encryption = encryptor.format === 'age-v1' ? '.age' : '';
  return `data.${format}${compression}${encryption}`;
}

/**
 * Starts the run's record. A scheduler that launched this runner has already recorded the run as
 * `pending` (that record is what makes a duplicate delivery start nothing): the runner claims it.
 * Any other existing record means this run id already ran: refuse, never run it twice.
 */
async function claimOrCreate(catalog: Catalog, run: RunRecord): Promise<RunRecord> {
  const existing = await catalog.get(run.job, run.runId);
  if (!existing) {
    await catalog.create(run);
    return run;
  }
  if (existing.status !== 'pending' || existing.kind !== 'backup') {
    throw new RunConflictError(`run ${run.runId} of job ${run.job} is already ${existing.status}: a run id is used once; omit --run-id for a new run`);
  }
  // The scheduler knows the job's timeout; keep it unless this command line says otherwise.
  const claimed = { ...run, ...(run.timeoutMs === undefined && existing.timeoutMs !== undefined ? { timeoutMs: existing.timeoutMs } : {}) };
  await catalog.update(claimed);
  return claimed;
}

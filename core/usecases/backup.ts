import type { Catalog } from '../ports/catalog.js';
import type { Compressor } from '../ports/compressor.js';
import type { DatabaseEngine } from '../ports/database-engine.js';
import type { Encryptor } from '../ports/encryptor.js';
import type { ManifestSigner } from '../ports/manifest-signer.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { BackupType, Manifest } from '../domain/manifest.js';
import { produceSnapshot, type ChunkingDependencies } from './chunked-snapshot.js';
import type { ChainRhythm } from './snapshot-base.js';
import { manifestKey, runFolder } from '../domain/object-layout.js';
import { newRunId, type RunRecord } from '../domain/run.js';
import { storageUrlOf } from '../domain/storage-location.js';
import { StorageArtifactWriter } from '../pipeline/artifact-writer.js';
import { toRunError } from './run-errors.js';
import { buildManifest } from './backup-manifest.js';
import { ManifestCommit } from './commit-backup.js';
import { pipeToArtifact } from './pipe-to-artifact.js';
import { startDump } from './start-dump.js';
import { AbortedError, CatalogWriteError, ConfigError, LeftBehindError, oneLine, RunConflictError, VaultraError } from '../errors.js';
import { repairedAnything, repairRuns, type RepairReport } from './repair-runs.js';
import type { RunnerHost } from '../ports/runner-host.js';
import { systemClock } from '../domain/clock.js';
import { noTracing, type RunTracer } from '../ports/run-tracer.js';
import { dbSystemOf } from '../domain/db-system.js';
import { PhaseTimings, phasesField } from './phase-timings.js';

export type BackupMethod = 'logical' | 'physical';

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
  /** What chunked snapshots need (codec, dedup key…): required for a request that is `chunked`. */
  readonly chunking?: ChunkingDependencies;
  /** Where the run's phases are traced. @default no tracing */
  readonly tracer?: RunTracer;
  /**
   * Where the run's phase durations are kept, recorded as its `phasesMs`. Pass one that already
   * timed what came before the use case (the runner resolving secrets and opening its tools) to
   * record those phases too. @default a new one on `now`
   */
  readonly timings?: PhaseTimings;
}

export interface BackupRequest {
  readonly source: string;
  readonly job: string;
  readonly runId?: string;
  /** How long the run may take, recorded so a later repair can tell when it was abandoned. */
  readonly timeoutMs?: number;
  /** @default 'full' */
  readonly type?: BackupType;
  /** `physical`: the engine's `physicalDump` (a point-in-time recovery base). @default 'logical' */
  readonly method?: BackupMethod;
  /** Store a chunked snapshot (docs/chunked-snapshots.md); always so for a differential or incremental. */
  readonly chunked?: boolean;
  /** Streams dumped at once, for an engine that dumps as streams (chunked snapshots). @default 1 */
  readonly jobs?: number;
  /** A scheduled chain's rhythm: the run's type is chosen from what is stored (chunked snapshots). */
  readonly chain?: ChainRhythm;
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
 * Takes one backup, the walk: start the dump (its source described meanwhile, start-dump.ts) →
 * compress (counting) → encrypt → the artifact writer (hash, store in every destination at once;
 * pipe-to-artifact.ts) → the manifest (backup-manifest.ts) → its signature, then the manifest, in
 * every destination (commit-backup.ts).
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
  if (request.method === 'physical' && !deps.engine.physicalDump) {
    throw new ConfigError(`${deps.engine.id} has no physical backup method: leave out --method physical (a physical base is PostgreSQL's pg_basebackup)`);
  }
  if (request.method === 'physical' && isChunked(request)) {
    throw new ConfigError('a physical base is one object, never a chunked snapshot: leave out --chunked and --type (or --method physical)');
  }
  const now = deps.now ?? systemClock;
  const timings = deps.timings ?? new PhaseTimings(now);
  // Every phase from here on is timed: the use case's own, the commit's and storeRun's.
  const tracer = timings.tracing(deps.tracer ?? noTracing);
  const timed: BackupDependencies = { ...deps, timings, tracer };
  let run = runningRecord(deps, request, 'backup', now());
  if (isChunked(request)) run = { ...run, type: request.type ?? 'full' };
  const claimed = run;
  run = await tracer.span('claim', { 'vaultra.run_id': claimed.runId }, () => claimOrCreate(deps.catalog, claimed, request.signal));
  const produce: ArtifactProducer = (writer, destinations, facts) =>
    isChunked(request) ? chunkedArtifact(timed, request, writer, destinations, facts, now) : singleObjectArtifact(timed, request, writer, facts, now);
  const result = await storeRun(timed, request, run, produce, now);
  // Interrupted: the user wants out. Storage (or the catalog) failing: cleaning up would fail too.
  if (request.signal?.aborted || (result.error instanceof VaultraError && result.error.kind === 'storage')) return result;
  return { ...result, ...(await tracer.span('repair', {}, () => repairAfter(deps, request.job, run.runId, request.signal))) };
}

/** The record a stored run (a backup, a log push) starts with, before it is claimed or created. */
export function runningRecord(
  deps: { readonly engine: Pick<DatabaseEngine, 'id'>; readonly storage: StorageBackend; readonly host?: RunnerHost },
  request: { readonly job: string; readonly runId?: string; readonly timeoutMs?: number },
  kind: 'backup' | 'log',
  startedAt: Date,
): RunRecord {
  const runId = request.runId ?? newRunId(startedAt);
  return {
    runId,
    job: request.job,
    kind,
    status: 'running',
    engine: deps.engine.id,
    startedAt: startedAt.toISOString(),
    location: storageUrlOf(deps.storage.location, runFolder(request.job, runId)),
    ...(deps.host ? { runner: { pid: deps.host.pid, hostname: deps.host.hostname } } : {}),
    ...(request.timeoutMs ? { timeoutMs: request.timeoutMs } : {}),
  };
}

/** Makes a run's objects (through `writer`, into `destinations`) and its manifest. */
export type ArtifactProducer = (writer: StorageArtifactWriter, destinations: readonly StorageBackend[], facts: { job: string; runId: string; startedAt: Date }) => Promise<ProducedArtifact>;

/** What a stored run needs besides its producer: where it goes, who signs, where it is recorded. */
export type StoredRunDependencies = Pick<BackupDependencies, 'storage' | 'alsoTo' | 'signer' | 'catalog' | 'tracer' | 'timings'>;

/**
 * A run that stores something (a backup, a log range), from its claimed record to its recorded
 * outcome: `produce` writes the objects and builds the manifest → its signature, then the
 * manifest, in every destination → the record. On any failure the commit is undone, the objects
 * discarded and the run recorded failed (see `runBackup`). Never throws for a failed run.
 */
export async function storeRun(
  deps: StoredRunDependencies,
  request: Pick<BackupRequest, 'job' | 'signal'>,
  started: RunRecord,
  produce: ArtifactProducer,
  now: () => Date,
): Promise<BackupResult> {
  let run = started;
  const { runId } = run;
  const folder = runFolder(request.job, runId);
  const startedAt = new Date(run.startedAt);
  let manifest: Manifest;
  let warnings: readonly string[] | undefined;

  const destinations = [deps.storage, ...(deps.alsoTo ?? [])];
  const key = manifestKey(request.job, runId);
  const writer = new StorageArtifactWriter(destinations, folder);
  const commit = new ManifestCommit(destinations, deps.signer, { job: request.job, runId, manifestKey: key }, deps.tracer);
  const tracer = deps.tracer ?? noTracing;
  try {
    const facts = { job: request.job, runId, startedAt };
    const produced = await produce(writer, destinations, facts);
    await commit.commit(produced.written.text, request.signal);

    manifest = produced.written.manifest;
    warnings = produced.warnings;
    const { finishedAt } = produced;
    run = {
      ...run,
      status: 'succeeded',
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      bytesRaw: manifest.plaintextBytes,
      bytesStored: produced.bytesStored,
      sha256: produced.sha256,
      manifestKey: key,
      ...(manifest.type && manifest.snapshot ? { type: manifest.type } : {}),
      ...(manifest.baseRunId ? { baseRunId: manifest.baseRunId } : {}),
      ...(manifest.log ? { log: manifest.log } : {}),
      ...phasesField(deps.timings),
    };
  } catch (caught) {
    const error = request.signal?.aborted ? asInterrupted(caught) : caught;
    // The commit first: a folder stops being a backup the moment its manifest is gone. What the
    // run cannot delete (a write-only identity) is recorded for whoever removes it later.
    const notRemoved = [...(await commit.undo()), ...(await writer.discard())];
    const finishedAt = now();
    const leftBehind = [...(error instanceof LeftBehindError ? error.leftBehind.map(({ kind, location, id, cleanup }) => ({ kind, location, ...(id ? { id } : {}), cleanup })) : []), ...notRemoved];
    run = {
      ...run,
      status: 'failed',
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      error: toRunError(error),
      ...(leftBehind.length ? { leftBehind } : {}),
      ...phasesField(deps.timings),
    };
    try {
      const failed = run;
      await tracer.span('catalog', { 'vaultra.run.status': failed.status }, () => deps.catalog.update(failed));
    } catch (recordError) {
      return { run, error: new CatalogWriteError(`${oneLine(error)}; recording run ${runId} of job ${request.job} as failed also failed: ${oneLine(recordError)}`, { cause: recordError }) };
    }
    return { run, error };
  }
  // Only the record of the success is missing if this fails: the backup itself is complete and
  // committed, so it stays, and the next repair records it from its manifest.
  try {
    const succeeded = run;
    await tracer.span('catalog', { 'vaultra.run.status': succeeded.status }, () => deps.catalog.update(succeeded));
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

/** What producing the artifact gave: the manifest to commit, and the run record's figures. */
export interface ProducedArtifact {
  readonly written: { readonly manifest: Manifest; readonly text: string };
  readonly finishedAt: Date;
  /** Bytes this run stored. */
  readonly bytesStored: number;
  /** The data object's SHA-256; a chunked snapshot's index's. */
  readonly sha256: string;
  readonly warnings?: readonly string[];
}

function isChunked(request: BackupRequest): boolean {
  return request.chunked === true || request.chain !== undefined || (request.type !== undefined && request.type !== 'full');
}

/** The single-object artifact: the whole compressed, encrypted dump as one `data` object. */
async function singleObjectArtifact(deps: BackupDependencies, request: BackupRequest, writer: StorageArtifactWriter, facts: { job: string; runId: string; startedAt: Date }, now: () => Date): Promise<ProducedArtifact> {
  const tracer = deps.tracer ?? noTracing;
  const connection = deps.engine.parse(request.source);
  const started = await tracer.span('start dump', { 'db.system': dbSystemOf(deps.engine.id), 'vaultra.source': connection.describe(), 'vaultra.backup.method': request.method ?? 'logical' }, () =>
    startDump(deps.engine, deps.compressor, connection, request.signal, request.method),
  );
  const data = { name: dataObjectName(deps.engine, deps.compressor, deps.encryptor, request.method), role: 'data' } as const;
  const destinations = [deps.storage, ...(deps.alsoTo ?? [])];
  const piped = await tracer.span('dump, compress, encrypt, upload', { 'vaultra.compression': deps.compressor.id, 'vaultra.encryption': deps.encryptor.format, 'vaultra.destinations': destinations.length }, async (span) => {
    const streamed = await pipeToArtifact(started, deps.encryptor, writer, data, request);
    span.setAttributes({ 'vaultra.bytes.raw': streamed.plaintextBytes, 'vaultra.bytes.stored': streamed.object.sizeBytes, 'db.namespace': streamed.source.database });
    for (const storage of destinations) span.addEvent('stored', { 'vaultra.destination': storage.location, 'vaultra.bytes.stored': streamed.object.sizeBytes });
    return streamed;
  });
  const finishedAt = now();
  const written = await tracer.span('manifest', {}, async () => buildManifest({
    ...facts,
    finishedAt,
    source: piped.source,
    dump: started.dump,
    compressor: deps.compressor,
    encryptor: deps.encryptor,
    plaintextBytes: piped.plaintextBytes,
    objects: [piped.object],
  }));
  return { written, finishedAt, bytesStored: piped.object.sizeBytes, sha256: piped.object.sha256, ...(started.dump.warnings ? { warnings: started.dump.warnings } : {}) };
}

/** A chunked snapshot (chunked-snapshot.ts): its index and packs, deduplicated against its base. */
async function chunkedArtifact(
  deps: BackupDependencies,
  request: BackupRequest,
  writer: StorageArtifactWriter,
  destinations: readonly StorageBackend[],
  facts: { job: string; runId: string; startedAt: Date },
  now: () => Date,
): Promise<ProducedArtifact> {
  const { chunking } = deps;
  if (!chunking) throw new ConfigError('a chunked snapshot needs a chunk codec and a dedup key, which this runner was not given');
  const tracer = deps.tracer ?? noTracing;
  const produced = await tracer.span('chunked snapshot', { 'db.system': dbSystemOf(deps.engine.id), 'vaultra.backup.type': request.type ?? 'full', 'vaultra.destinations': destinations.length }, () => produceSnapshot(
    { engine: deps.engine, source: deps.engine.parse(request.source), destinations, writer, encryptor: deps.encryptor, chunking },
    { job: request.job, type: request.type ?? 'full', now: facts.startedAt, jobs: request.jobs ?? 1, ...(request.chain ? { chain: request.chain } : {}), ...(request.signal ? { signal: request.signal } : {}), ...(request.onProgress ? { onProgress: request.onProgress } : {}) },
  ));
  const finishedAt = now();
  const written = buildManifest({
    ...facts,
    finishedAt,
    source: produced.source,
    dump: produced.dump,
    compressor: chunking.codec,
    encryptor: deps.encryptor,
    plaintextBytes: produced.plaintextBytes,
    objects: produced.objects,
    type: produced.type,
    ...(produced.baseRunId ? { baseRunId: produced.baseRunId } : {}),
    snapshot: produced.snapshot,
  });
  return { written, finishedAt, bytesStored: produced.snapshot.newStoredBytes + produced.index.sizeBytes, sha256: produced.index.sha256, warnings: produced.warnings };
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
export function dataObjectName(engine: Pick<DatabaseEngine, 'descriptor'>, compressor: Compressor, encryptor: Encryptor, method?: BackupMethod): string {
  // A physical base is a tar of the server's data directory, whatever the engine's dump is.
  const format = method === 'physical' ? 'basebackup.tar' : engine.descriptor.artifactName;
  const compression = { zstd: '.zst', gzip: '.gz', none: '' }[compressor.id];
  const encryption = encryptor.format === 'age-v1' ? '.age' : '';
  return `data.${format}${compression}${encryption}`;
}

/**
 * Starts the run's record. A scheduler that launched this runner has already recorded the run as
 * `pending` (that record is what makes a duplicate delivery start nothing): the runner claims it.
 * Any other existing record means this run id already ran: refuse, never run it twice.
 */
export async function claimOrCreate(catalog: Catalog, run: RunRecord, signal?: AbortSignal): Promise<RunRecord> {
  // Cancelled before it claimed anything: nothing to record. Its outcome, once claimed, is always recorded.
  const io = signal ? { signal } : {};
  const existing = await catalog.get(run.job, run.runId, io);
  if (!existing) {
    await catalog.create(run, io);
    return run;
  }
  if (existing.status !== 'pending' || existing.kind !== run.kind) {
    throw new RunConflictError(`run ${run.runId} of job ${run.job} is already ${existing.status}: a run id is used once; omit --run-id for a new run`);
  }
  // The scheduler knows the job's timeout; keep it unless this command line says otherwise.
  const claimed = { ...run, ...(run.timeoutMs === undefined && existing.timeoutMs !== undefined ? { timeoutMs: existing.timeoutMs } : {}) };
  await catalog.update(claimed, io);
  return claimed;
}

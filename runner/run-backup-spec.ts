import { runBackup, type BackupResult } from '../core/usecases/backup.js';
import type { RunTracer, TraceSpan } from '../core/ports/run-tracer.js';
import { dbSystemOf } from '../core/domain/db-system.js';
import { recordRunMetrics, runTracer, traceFields } from './telemetry.js';
import { recordedRun } from '../core/usecases/record-run.js';
import { createCompressor } from '../core/adapters/compression/compressors.js';
import { engineById, engineIdForUrl } from '../core/adapters/engines/engines.js';
import { openStorage } from '../core/adapters/storage/storage-registry.js';
import type { BackupSpec } from '../core/domain/backup-spec.js';
import { encryptorFor } from './keys.js';
import { signerFor, trustPolicyFor } from './signing-keys.js';
import { dumpProgress, Progress } from './progress.js';
import { dedupKeyFor } from './dedup-key.js';
import { backupAdapters } from '../core/adapters/backup-adapters.js';
import { ageHeaderLength } from '../core/adapters/encryption/age-random-access.js';
import type { ChunkingDependencies } from '../core/usecases/chunked-snapshot.js';
import type { SnapshotSummary } from '../core/domain/manifest.js';
import type { Encryptor } from '../core/ports/encryptor.js';
import type { Catalog } from '../core/ports/catalog.js';
import type { RunRecord } from '../core/domain/run.js';
import type { Compressor } from '../core/ports/compressor.js';
import type { ManifestSigner, PublicKeySource } from '../core/ports/manifest-signer.js';
import type { SignerPublicKey } from '../core/domain/signer-keys.js';
import { redact } from '../core/domain/redact.js';
import { newRunId } from '../core/domain/run.js';
import { systemClock } from '../core/domain/clock.js';
import { PhaseTimings } from '../core/usecases/phase-timings.js';
import { LocalRunLogWriter } from '../core/adapters/run-log/local-run-log-writer.js';
import { phasesNotedIn, RunOutputLog } from './run-output-log.js';
import { oneLine } from '../core/errors.js';
import { formatBytes, formatDumpDetails, formatDuration } from './format.js';
import { aroundVolumeContainers } from './stop-containers.js';
import { errorLine, exitCodeFor } from './exit-codes.js';
import { repairLines, repairSummary } from './repair-output.js';
import { openStore, printFields, printJson, resolveConnection, thisHost } from './commands/shared.js';

/** How the result of a run is shown, and where its catalog is (neither is part of what the run does). */
export interface SpecRunOutput {
  readonly json?: boolean;
  readonly progress: boolean;
  /** `--catalog`; default: the catalog beside the first destination. */
  readonly catalog?: string;
}

/**
 * Runs one backup spec: the one function `vaultra backup` (flags or `--spec`) and `vaultra run`
 * call. Here, and only here, the spec's references become things: the source reference is
 * resolved to a connection, the engine, storages, keys and signer are opened, and `runBackup`
 * gets them. The outcome is printed and set as `process.exitCode`; a problem before the run
 * starts (a missing tool, an unusable key) is recorded as a failed attempt and thrown.
 * `resolvedSource` is the connection `spec.source` resolves to, when the caller has it already.
 * Returns the run as recorded, succeeded or failed.
 */
export function runBackupSpec(spec: BackupSpec, output: SpecRunOutput, signal: AbortSignal | undefined, resolvedSource?: string): Promise<RunRecord> {
  // The run's id, chosen now: its log is named after it before the run is recorded.
  const identified = { ...spec, runId: spec.runId ?? newRunId() };
  return runTracer().span('backup', { 'vaultra.job': spec.job, 'vaultra.run_id': identified.runId, 'vaultra.backup.type': spec.type }, async (span) => {
    const log = new RunOutputLog({ stderr: process.stderr, ...(output.json ? {} : { stdout: process.stdout }), now: systemClock });
    try {
      return await backupSpecRun(identified, output, signal, resolvedSource, span, log);
    } catch (error) {
      // The CLI prints this line once the run has ended (cli.ts): the log gets it now, as its last.
      log.note(errorLine(error));
      throw error;
    } finally {
      log.stop();
    }
  });
}

async function backupSpecRun(spec: BackupSpec & { readonly runId: string }, output: SpecRunOutput, signal: AbortSignal | undefined, resolvedSource: string | undefined, span: TraceSpan, log: RunOutputLog): Promise<RunRecord> {
  // Every phase is noted in the run's log and timed for its record, the runner's own first.
  const noted = phasesNotedIn(log, runTracer(), systemClock);
  const timings = new PhaseTimings(systemClock);
  const tracer = timings.tracing(noted);
  // The CLI resolved the source already when it named the job after the database: once is enough.
  const source = resolvedSource ?? (await tracer.span('resolve secrets', {}, () => resolveConnection(spec.source, signal)));
  // Around the whole run, output included: the result is printed before a restart that fails is reported.
  return aroundVolumeContainers(source, spec.stopContainers, () => backupWithTools(spec, output, signal, source, span, log, { noted, timings, tracer }), signal);
}

async function backupWithTools(
  spec: BackupSpec & { readonly runId: string },
  output: SpecRunOutput,
  signal: AbortSignal | undefined,
  source: string,
  span: TraceSpan,
  log: RunOutputLog,
  { noted, timings, tracer }: { noted: RunTracer; timings: PhaseTimings; tracer: RunTracer },
): Promise<RunRecord> {
  const engine = engineById(engineIdForUrl(source), spec.engine);
  const { storage, catalog, alsoTo, compressor, encryptor, signer, chunking, localCatalogDir } = await tracer.span('open tools', {}, async () => {
    const store = await openStore(spec.destinations[0]!, output.catalog);
    const copies = await Promise.all(spec.destinations.slice(1).map((url) => openStorage(url)));
    const tools = await openRunTools(spec, { kind: 'backup', catalog: store.catalog, engine: engine.id, location: store.storage.location }, (opened, notice) =>
      spec.chunked || spec.chain || spec.type !== 'full' ? chunkingFor(spec, opened.encryptor, opened.signer, notice, signal) : Promise.resolve(undefined),
    );
    return { ...store, alsoTo: copies, ...tools, chunking: tools.more };
  });
  if (localCatalogDir) log.attach(new LocalRunLogWriter(localCatalogDir, { job: spec.job, runId: spec.runId }, systemClock));
  else log.discard();

  const progress = new Progress('backup', output.progress && !output.json);
  const result = await runBackup(
    { engine, storage, alsoTo, compressor, encryptor, signer, catalog, host: thisHost, tracer: noted, timings, ...(chunking ? { chunking } : {}) },
    {
      source,
      job: spec.job,
      type: spec.type,
      ...(spec.chunked ? { chunked: true } : {}),
      ...(spec.method ? { method: spec.method } : {}),
      ...(spec.jobs ? { jobs: spec.jobs } : {}),
      ...(spec.chain ? { chain: spec.chain } : {}),
      runId: spec.runId,
      ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }),
      signal,
      onProgress: (counts) => {
        const { bytes, detail } = dumpProgress(counts);
        progress.update(bytes, detail);
      },
    },
  );
  progress.stop();
  traceOutcome(span, result, { dbSystem: dbSystemOf(engine.id), destinations: [storage, ...alsoTo].map((destination) => destination.location) });
  // Earlier runs this backup settled and cleaned up after: said on stderr, after the result
  // (before the error line of a failed run, which stays the last line).
  const reportRepairs = () => {
    for (const report of result.repairs ?? []) {
      process.stderr.write(`vaultra: repaired earlier runs of job ${spec.job} in ${report.location}: ${repairSummary(report)}\n`);
      for (const line of repairLines(report)) process.stderr.write(`vaultra:   ${line}\n`);
    }
    for (const problem of result.repairErrors ?? []) process.stderr.write(`vaultra: warning: ${problem}\n`);
  };

  const { run, manifest } = result;
  const summary = {
    runId: run.runId,
    job: run.job,
    status: run.status,
    engine: run.engine,
    bytesRaw: run.bytesRaw ?? 0,
    bytesStored: run.bytesStored ?? 0,
    sha256: run.sha256 ?? null,
    type: manifest?.type ?? 'full',
    ...(manifest?.baseRunId ? { baseRunId: manifest.baseRunId } : {}),
    ...(manifest?.snapshot ? { snapshot: snapshotFigures(manifest.snapshot, run.bytesStored ?? 0) } : {}),
    location: run.location,
    durationMs: run.durationMs,
    ...(run.phasesMs ? { phasesMs: run.phasesMs } : {}),
    ...(manifest ? { serverVersion: manifest.source.serverVersion, compression: manifest.compression, encryption: manifest.encryption, signedBy: signer.keyId } : {}),
    ...(run.error ? { error: run.error } : {}),
    ...(run.leftBehind ? { leftBehind: run.leftBehind } : {}),
    ...(result.repairs ? { repaired: result.repairs } : {}),
    ...traceFields(),
  };
  if (output.json) {
    printJson(summary);
    // The JSON is for programs, and not copied into the log: the log says the outcome in words.
    log.note(`${spec.type === 'full' ? 'backup' : `${spec.type} backup`} ${run.runId} of job ${run.job} ${run.status}`);
  }
  if (result.error !== undefined) {
    reportRepairs();
    process.stderr.write(errorLine(result.error) + '\n');
    process.exitCode = exitCodeFor(result.error);
    return run;
  }
  for (const warning of result.warnings ?? []) process.stderr.write(`vaultra: warning: ${warning}\n`);
  if (!output.json) {
    printFields(`backup ${run.runId} of job ${run.job} succeeded`, [
      ['engine', `${manifest!.source.engine} ${manifest!.source.serverVersion} (${manifest!.dump.tool} ${manifest!.dump.toolVersion})`],
      ['type', manifest!.snapshot ? `${manifest!.type} (chunked${manifest!.baseRunId ? `, base ${manifest!.baseRunId}` : ''})` : undefined],
      ['size', `${formatBytes(run.bytesRaw!)} dumped → ${formatBytes(run.bytesStored!)} stored (${manifest!.compression.id}, ${manifest!.encryption.format})`],
      ['dedup', manifest!.snapshot ? dedupLine(manifest!.snapshot) : undefined],
      [manifest!.snapshot ? 'index sha256' : 'sha256', run.sha256],
      ['signed by', signer.keyId],
      ['location', run.location],
      ['details', formatDumpDetails(manifest!.dump.details)],
      ['took', formatDuration(run.durationMs!)],
    ]);
  }
  reportRepairs();
  return run;
}

/**
 * A stored run's outcome on its span (run id, status, bytes; failed with its one-line error) and
 * in its metrics. `destinations` are the run's storage locations, the first the record's.
 * A cancelled run counts as failed (its `error.type` says `AbortedError`).
 */
export function traceOutcome(span: TraceSpan, result: BackupResult, { dbSystem, destinations }: { readonly dbSystem: string; readonly destinations: readonly string[] }): void {
  const { run } = result;
  span.setAttributes({ 'vaultra.run_id': run.runId, 'vaultra.run.status': run.status, 'db.system': dbSystem, 'vaultra.bytes.raw': run.bytesRaw, 'vaultra.bytes.stored': run.bytesStored });
  if (result.error !== undefined) span.fail(result.error);
  recordRunMetrics({
    kind: run.kind === 'log' ? 'log' : 'backup',
    job: run.job,
    dbSystem,
    status: run.status === 'succeeded' ? 'succeeded' : 'failed',
    durationMs: run.durationMs ?? 0,
    ...(result.error !== undefined ? { errorType: result.error instanceof Error ? result.error.name : 'Error' } : {}),
    ...(run.bytesRaw !== undefined ? { bytesRaw: run.bytesRaw } : {}),
    ...(run.bytesStored !== undefined ? { storedPerDestination: destinations.map((destination) => ({ destination, bytes: run.bytesStored! })) } : {}),
  });
}

/**
 * The keys, signer and compressor a stored run needs (and `more`, from them), opened before it
 * starts. Keys first: reading a passphrase variable removes it from the environment, and every
 * process started after that (zstd --version included) inherits none of it. A missing compressor
 * or an unusable key stops the run before it starts: still a failed attempt of its job, recorded
 * so the catalog shows it like every other failure, then thrown.
 */
export async function openRunTools<More>(
  spec: BackupSpec,
  record: { readonly kind: 'backup' | 'log'; readonly catalog: Catalog; readonly engine: string; readonly location: string },
  more: (tools: { encryptor: Encryptor; signer: ManifestSigner }, notice: (line: string) => void) => Promise<More>,
): Promise<{ compressor: Compressor; encryptor: Encryptor; signer: ManifestSigner; more: More }> {
  try {
    const notice = (line: string) => process.stderr.write(`vaultra: ${line}\n`);
    const encryptor = await encryptorFor(spec.encryption, notice);
    const signer = await signerFor(spec.signingKey, notice);
    const compressor = await createCompressor(spec.compression.id, spec.compression.level);
    return { compressor, encryptor, signer, more: await more({ encryptor, signer }, notice) };
  } catch (error) {
    const { kind, catalog, engine, location } = record;
    await recordedRun(catalog, { kind, job: spec.job, engine, location }, () => Promise.reject(error)).catch(() => undefined);
    throw error;
  }
}

/** A chunked snapshot's figures for `--json`: what it references, what it added, the ratio. */
function snapshotFigures(snapshot: SnapshotSummary, bytesStored: number) {
  return {
    streams: snapshot.streams,
    chunks: snapshot.chunks,
    newChunks: snapshot.newChunks,
    referencedStoredBytes: snapshot.storedBytes,
    newStoredBytes: snapshot.newStoredBytes,
    dedupRatio: bytesStored > 0 ? Math.round((snapshot.storedBytes / bytesStored) * 100) / 100 : null,
  };
}

function dedupLine(snapshot: SnapshotSummary): string {
  const share = snapshot.storedBytes > 0 ? ((100 * snapshot.newStoredBytes) / snapshot.storedBytes).toFixed(1) : '0.0';
  return `${snapshot.newChunks} of ${snapshot.chunks} chunks new: ${formatBytes(snapshot.newStoredBytes)} added to the ${formatBytes(snapshot.storedBytes)} of chunks the snapshot references (${share} %)`;
}

/** What a chunked snapshot needs: the chunk codec, the dedup key, the age header finder, and whose signatures make a base genuine. */
async function chunkingFor(spec: BackupSpec, encryptor: Encryptor, signer: ManifestSigner, notice: (line: string) => void, signal: AbortSignal | undefined): Promise<ChunkingDependencies> {
  const trust = await trustPolicyFor({}, signal);
  const own = await ownPublicKey(signer, notice, signal);
  return {
    codec: backupAdapters.chunkCodec(spec.compression.id, spec.compression.level),
    dedupKey: await dedupKeyFor(spec.dedupKey, notice),
    ...(encryptor.format === 'age-v1' ? { headerLength: ageHeaderLength } : {}),
    trust: own ? { ...trust, signers: [...trust.signers, { publicKey: own, label: signer.keyId, keyIds: [signer.keyId] }] } : trust,
  };
}

/**
 * The public key of the key this run signs with, so that its own earlier runs count as trusted
 * bases: a key file's is at hand, a key service's is fetched once. Without it (no permission to
 * read it), a differential or incremental finds no trusted base and says so, rather than fail.
 */
async function ownPublicKey(signer: ManifestSigner, notice: (line: string) => void, signal: AbortSignal | undefined): Promise<SignerPublicKey | undefined> {
  const candidate = (signer as Partial<{ publicKey: SignerPublicKey | PublicKeySource['publicKey'] }>).publicKey;
  if (candidate === undefined) return undefined;
  if (typeof candidate !== 'function') return candidate;
  try {
    return await candidate.call(signer, signal);
  } catch (error) {
    notice(`warning: cannot read the public key of ${signer.keyId} (${redact(oneLine(error))}): earlier runs it signed count as bases only if another trusted key signed them`);
    return undefined;
  }
}

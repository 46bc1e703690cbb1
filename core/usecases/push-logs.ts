import { pipeline } from 'node:stream/promises';
import type { Compressor } from '../ports/compressor.js';
import type { SourceDescription } from '../ports/database-engine.js';
import type { Encryptor } from '../ports/encryptor.js';
import type { LogArchiver, LogRead, LogReadOptions } from '../ports/log-archiver.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { compareLogPositions, LOG_OBJECT_PREFIX, type LogKind, type LogRange } from '../domain/log-archive.js';
import { systemClock } from '../domain/clock.js';
import { ConfigError, RunConflictError } from '../errors.js';
import { DEFAULT_LOG_PUSH_TIMEOUT_MS, logPushLockName } from '../config/log-schedule.js';
import type { StorageArtifactWriter } from '../pipeline/artifact-writer.js';
import { buildManifest } from './backup-manifest.js';
import { claimOrCreate, runningRecord, storeRun, type BackupDependencies, type BackupResult, type ProducedArtifact } from './backup.js';
import { pipeToArtifact } from './pipe-to-artifact.js';
import { newestBasePosition } from './log-chain.js';
import { recordedAt } from './recorded-at.js';
import type { StartedDump } from './start-dump.js';

/** What a backup needs, less what only a backup uses (chunking). */
export type LogPushDependencies = Omit<BackupDependencies, 'chunking'>;

export interface LogPushRequest {
  /** The server whose log is read from where the archive ends (catch-up mode). */
  readonly source?: string;
  /**
   * Instead of reading the server: what the server handed over itself (PostgreSQL's
   * `archive_command = 'vaultra wal push %p'`, one WAL segment at a time).
   */
  readonly handedOver?: (options: LogReadOptions) => Promise<LogRead>;
  readonly job: string;
  readonly runId?: string;
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { bytesRaw: number; bytesStored: number }) => void;
}

/**
 * One log catch-up run (`vaultra logs push`): reads the server's change log from where the job's
 * archive ends (the furthest end of its log runs, else the newest base backup's position, else
 * the server's current position) to the server's current end, and stores it like a backup —
 * compressed, encrypted, its manifest (with the range) signed and written last — as a run of kind
 * `log`. The same guarantees as a backup: the run succeeds only when every byte is stored and the
 * manifest written; on failure nothing of it stays and the next push reads the same log again.
 * Never throws for a failed run: the result carries the error.
 */
export async function pushLogs(deps: LogPushDependencies, request: LogPushRequest): Promise<BackupResult> {
  const logs = deps.engine.logs;
  if (!logs) throw new ConfigError(`${deps.engine.id} keeps no change log Vaultra can archive: point-in-time recovery works for PostgreSQL, MariaDB/MySQL and MongoDB replica sets`);
  if ((request.source === undefined) === (request.handedOver === undefined)) throw new ConfigError('a log push reads a server (its source) or what the server handed over, one of the two');
  const source = request.source === undefined ? undefined : deps.engine.parse(request.source);
  const now = deps.now ?? systemClock;
  let run = runningRecord(deps, request, 'log', now());
  const { runId } = run;
  // The pushes' own lock (not the job's: a push must not wait for the nightly backup): a
  // scheduler that launched this push holds it already, under this run id.
  const lock = logPushLockName(request.job);
  const io = request.signal ? { signal: request.signal } : {};
  if (!(await deps.catalog.acquireLock(lock, runId, (request.timeoutMs ?? DEFAULT_LOG_PUSH_TIMEOUT_MS) + LOCK_GRACE_MS, io))) {
    throw new RunConflictError(`another log push of job ${request.job} is running (lock ${lock}): two pushes would store the same log; try again once it ended`);
  }
  try {
    run = await claimOrCreate(deps.catalog, run, request.signal);
  } catch (error) {
    await deps.catalog.releaseLock(lock, runId).catch(() => undefined);
    throw error;
  }
  const produce = async (writer: StorageArtifactWriter, _destinations: readonly StorageBackend[], facts: { job: string; runId: string; startedAt: Date }): Promise<ProducedArtifact> => {
    const options = { now, ...(request.signal ? { signal: request.signal } : {}) };
    const read = source ? await logs.read(source, await archiveEnd(deps, logs, request), options) : await request.handedOver!(options);
    try {
      return await storeLogRead(deps, logs.kind, read, writer, { ...facts, database: source ? deps.engine.nameOf(source) : request.job }, request, now);
    } finally {
      await read.close();
    }
  };
  try {
    return await storeRun(deps, request, run, produce, now);
  } finally {
    await deps.catalog.releaseLock(lock, runId).catch(() => undefined);
  }
}

/** How long past its timeout a push's lock outlives a push that died holding it. */
const LOCK_GRACE_MS = 15 * 60_000;

/**
 * Where this push starts: the furthest end any succeeded log run of the job reached (not the
 * newest run's: two pushes that overlapped may have ended in either order), else the newest base
 * backup's position, else nothing (the engine starts at the server's current position).
 */
async function archiveEnd(deps: LogPushDependencies, logs: LogArchiver, request: LogPushRequest): Promise<string | undefined> {
  const io = request.signal ? { signal: request.signal } : {};
  const pushed = (await deps.catalog.list({ job: request.job, kind: 'log', status: 'succeeded' }, io)).filter((run) => run.log?.kind === logs.kind && recordedAt(run, deps.storage.location));
  let furthest: string | undefined;
  for (const { log } of pushed) if (furthest === undefined || compareLogPositions(logs.kind, log!.end, furthest) > 0) furthest = log!.end;
  if (furthest !== undefined) return furthest;
  return (await newestBasePosition(deps, request.job, logs.kind, request.signal))?.start;
}

/** The log read → compressed → encrypted → stored, and the manifest carrying its range. */
async function storeLogRead(
  deps: LogPushDependencies,
  kind: LogKind,
  read: LogRead,
  writer: StorageArtifactWriter,
  facts: { job: string; runId: string; startedAt: Date; database: string },
  request: LogPushRequest,
  now: () => Date,
): Promise<ProducedArtifact> {
  const compression = await deps.compressor.open();
  const fed = pipeline(read.stream, compression.input, request.signal ? { signal: request.signal } : {});
  compression.output.once('close', () => read.stream.destroy());
  const description: SourceDescription = { engine: deps.engine.id, database: facts.database, serverVersion: read.serverVersion ?? 'unknown', contents: [] };
  const started: StartedDump = {
    dump: { stream: read.stream, direct: false, tool: read.tool, format: read.format, consistency: 'the server log, in order' },
    compression,
    fed,
    described: Promise.resolve(description),
  };
  const data = { name: logObjectName(read.format, deps.compressor, deps.encryptor), role: 'data' } as const;
  const piped = await pipeToArtifact(started, deps.encryptor, writer, data, request);
  const range: LogRange = { kind, format: read.format, ...(await read.range()) };
  const finishedAt = now();
  const written = buildManifest({
    job: facts.job,
    runId: facts.runId,
    startedAt: facts.startedAt,
    finishedAt,
    source: piped.source,
    dump: { tool: read.tool, format: read.format, consistency: `${kind} from ${range.start} to ${range.end}` },
    compressor: deps.compressor,
    encryptor: deps.encryptor,
    plaintextBytes: piped.plaintextBytes,
    objects: [piped.object],
    log: range,
  });
  return { written, finishedAt, bytesStored: piped.object.sizeBytes, sha256: piped.object.sha256, ...(range.gapFrom ? { warnings: [gapWarning(range)] } : {}) };
}

/** `log.binlog-tar.zst.age`: a log run's one object, named so it cannot be taken for a backup's `data.…`. */
export function logObjectName(format: string, compressor: Pick<Compressor, 'id'>, encryptor: Pick<Encryptor, 'format'>): string {
  const layout = format.replace(/\/v\d+$/, '').replace(/[^a-z0-9-]/gi, '-');
  const compression = { zstd: '.zst', gzip: '.gz', none: '' }[compressor.id];
  return `${LOG_OBJECT_PREFIX}${layout}${compression}${encryptor.format === 'age-v1' ? '.age' : ''}`;
}

export function gapWarning(range: Pick<LogRange, 'gapFrom' | 'start'>): string {
  return `the server no longer had its log from ${range.gapFrom} (purged before it was archived): the archive has a gap up to ${range.start}; restores to a time in it are refused; take a full backup to start a new reachable chain`;
}

import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactObject, BackupType, SnapshotSummary } from '../domain/manifest.js';
import { CHUNKER_PARAMS, type ChunkLocation, type SnapshotStream } from '../domain/snapshot-format.js';
import { sharedFolder } from '../domain/object-layout.js';
import type { ArtifactWriter } from '../ports/artifact.js';
import type { ChunkCodec } from '../ports/compressor.js';
import type { Connection, DatabaseEngine, SourceDescription, ToolVersion } from '../ports/database-engine.js';
import type { Encryptor, HeaderLength } from '../ports/encryptor.js';
import { canExtendRetention, type StorageBackend } from '../ports/storage-backend.js';
import { chunkingSink } from '../pipeline/chunking/fastcdc.js';
import { chunkIdOf, dedupKeyId } from '../pipeline/chunking/chunk-id.js';
import { ChunkTable } from '../pipeline/chunking/chunk-table.js';
import { PackWriter } from '../pipeline/chunking/pack-writer.js';
import { IndexWriter } from '../pipeline/chunking/index-writer.js';
import { scanSnapshotIndex } from '../pipeline/chunking/index-reader.js';
import { IntegrityError, oneLine, StorageError, VaultraError } from '../errors.js';
import type { TrustPolicy } from './authenticate-backup.js';
import { chainRunType, findSnapshotBase, type ChainRhythm } from './snapshot-base.js';
import { rootCause } from './run-errors.js';
import type { LocatedBackup } from './locate-backup.js';
import { inParallel } from '../pipeline/in-parallel.js';

/** What a chunked snapshot needs beyond an ordinary backup's adapters. */
export interface ChunkingDependencies {
  /** Compresses each chunk on its own (the manifest's compression). */
  readonly codec: ChunkCodec;
  /** The job's dedup key: chunk ids are HMACs under it. */
  readonly dedupKey: Buffer;
  /** Where an encrypted pack's header ends: the manifest pins each pack's header (docs/chunked-snapshots.md). */
  readonly headerLength?: HeaderLength;
  /** Whose signatures make a base genuine: a base that is not is no base (the run becomes a full). */
  readonly trust: TrustPolicy;
}

export interface SnapshotRequest {
  readonly job: string;
  readonly type: BackupType;
  /** A scheduled chain: the type is chosen from what is stored (snapshot-base.ts `chainRunType`). */
  readonly chain?: ChainRhythm;
  /** The run's start, for the chain's rhythm. */
  readonly now: Date;
  /** Streams dumped at once (engines that dump as streams). */
  readonly jobs: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: { bytesRaw: number; bytesStored: number }) => void;
}

/** What a chunked snapshot stored, for its manifest and run record. */
export interface ProducedSnapshot {
  readonly source: SourceDescription;
  readonly dump: { readonly tool: ToolVersion; readonly format: string; readonly consistency: string; readonly details?: Readonly<Record<string, string>> };
  readonly warnings: readonly string[];
  /** The type the run has: `full` when it asked for another but found no base. */
  readonly type: BackupType;
  readonly baseRunId?: string;
  readonly snapshot: SnapshotSummary;
  readonly index: ArtifactObject;
  /** The index, then every pack the snapshot references. */
  readonly objects: readonly ArtifactObject[];
  readonly plaintextBytes: number;
}

interface StreamSource {
  readonly layout: SnapshotSummary['layout'];
  readonly streams: readonly SnapshotStream[];
  readonly tool: ToolVersion;
  readonly format: string;
  readonly consistency: string;
  open(stream: SnapshotStream, signal: AbortSignal): Promise<Readable>;
  finish(): Promise<{ readonly details?: Readonly<Record<string, string>>; readonly warnings?: readonly string[] }>;
  abort(): Promise<void>;
}

/**
 * Takes a chunked snapshot (docs/chunked-snapshots.md): the engine's plaintext stream(s) are cut
 * into content-defined chunks, each chunk is named by its HMAC under the dedup key, and only
 * chunks that neither the base nor this run stored yet are compressed into new packs. The index
 * is written as the chunks come. Before returning, every pack reused from the base is checked to
 * be in every destination, so a prune racing this run fails it rather than leaving it
 * referencing a pack that is gone, and, where the store locks what it writes, locked at least as
 * long as this run's own objects.
 *
 * On failure every producer is stopped and the new packs are left for the run's writer to
 * discard (they are discardable: nobody references them before this run's manifest exists).
 */
export async function produceSnapshot(
  context: {
    readonly engine: DatabaseEngine;
    readonly source: Connection;
    readonly destinations: readonly StorageBackend[];
    readonly writer: ArtifactWriter;
    readonly encryptor: Encryptor;
    readonly chunking: ChunkingDependencies;
  },
  request: SnapshotRequest,
): Promise<ProducedSnapshot> {
  const { engine, source, destinations, writer, encryptor, chunking } = context;
  const keyId = dedupKeyId(chunking.dedupKey);
  const warnings: string[] = [];
  let type = request.chain ? await chainRunType(destinations[0]!, { job: request.job, type: request.type, rhythm: request.chain, now: request.now, ...(request.signal ? { signal: request.signal } : {}) }) : request.type;
  let base: LocatedBackup | undefined;
  if (type !== 'full') {
    const found = await findSnapshotBase(destinations[0]!, { job: request.job, type, keyId, trust: chunking.trust, ...(request.signal ? { signal: request.signal } : {}) });
    if (found.base) base = found.base;
    else {
      warnings.push(`${found.why}: this ${type} run is a chunked full instead`);
      type = 'full';
    }
  }

  const known = new ChunkTable();
  const basePacks = new Map<string, ArtifactObject>();
  if (base) {
    for (const object of base.manifest.objects) if (object.role === 'pack') basePacks.set(object.name, object);
    const index = base.manifest.objects.find((object) => object.role === 'index')!;
    await scanSnapshotIndex(
      destinations[0]!,
      base.manifestKey,
      index,
      (chunk) => {
        // A chunk the base's signed manifest does not account for is no chunk to build on.
        if (!basePacks.has(chunk.pack)) throw new IntegrityError(`the index of base run ${base!.runId} names pack ${chunk.pack}, which its manifest does not list: run a full backup (--type full --chunked) to start a new chain`);
        known.set(Buffer.from(chunk.id, 'hex'), chunk);
      },
      request.signal,
    );
  }

  // Stops every producer at the first failure, whichever stream had it.
  const stop = new AbortController();
  const onAbort = () => stop.abort(request.signal?.reason);
  request.signal?.addEventListener('abort', onAbort, { once: true });
  const described = engine.describe(source, stop.signal);
  described.catch(() => stop.abort());

  let streams: StreamSource | undefined;
  const packs = new PackWriter({ writer, encryptor, codec: chunking.codec, ...(chunking.headerLength ? { headerLength: chunking.headerLength } : {}), signal: stop.signal });
  let index: IndexWriter | undefined;
  const counts = { bytesRaw: 0, chunks: 0, newChunks: 0, newStoredBytes: 0, storedBytes: 0 };
  const referenced = new Set<string>();
  const report = () => request.onProgress?.({ bytesRaw: counts.bytesRaw, bytesStored: packs.bytesStored() });
  const timer = request.onProgress ? setInterval(report, 250) : undefined;
  try {
    streams = await openStreams(engine, source, request.jobs, stop.signal);
    const indexWriter = new IndexWriter(writer, streams.streams, stop.signal);
    index = indexWriter;
    const chunkOf = (stream: number) => async (raw: Buffer) => {
      const id = chunkIdOf(chunking.dedupKey, raw);
      let location: ChunkLocation | undefined = known.get(id);
      if (!location) {
        const added = await packs.add(raw);
        known.set(id, added);
        counts.newChunks++;
        counts.newStoredBytes += added.storedLength;
        location = added;
      }
      referenced.add(location.pack);
      counts.chunks++;
      counts.bytesRaw += raw.length;
      counts.storedBytes += location.storedLength;
      await indexWriter.chunk({ stream, id: id.toString('hex'), ...location });
    };
    const opened = streams;
    await inParallel(opened.streams, request.jobs, async (stream, number) => {
      const bytes = await opened.open(stream, stop.signal);
      await pipeline(bytes, chunkingSink(CHUNKER_PARAMS, chunkOf(number)), { signal: stop.signal });
    }).catch((error: unknown) => {
      stop.abort();
      throw error;
    });
    const [describedSource, finished, newPacks, indexObject] = await Promise.allSettled([described, opened.finish(), packs.close(), indexWriter.close()]);
    if (describedSource.status === 'rejected') throw describedSource.reason;
    if (finished.status === 'rejected' || newPacks.status === 'rejected' || indexObject.status === 'rejected') throw rootCause([finished, newPacks, indexObject]);
    warnings.push(...(finished.value.warnings ?? []));
    report();

    const written = new Map(newPacks.value.map((pack) => [pack.name, pack]));
    const reused = [...referenced].filter((name) => !written.has(name)).map((name) => basePacks.get(name)!);
    await checkReusedPacks(destinations, request.job, reused, base?.runId, request.signal);
    await extendReusedPackRetention(destinations, request.job, reused, request.signal);
    return {
      source: describedSource.value,
      dump: { tool: opened.tool, format: opened.format, consistency: opened.consistency, ...(finished.value.details ? { details: finished.value.details } : {}) },
      warnings,
      type,
      ...(base ? { baseRunId: base.runId } : {}),
      index: indexObject.value,
      objects: [indexObject.value, ...[...referenced].map((name) => written.get(name) ?? basePacks.get(name)!)],
      plaintextBytes: counts.bytesRaw,
      snapshot: {
        format: 'vaultra.chunked/v1',
        layout: opened.layout,
        chunker: { algorithm: CHUNKER_PARAMS.algorithm, minBytes: CHUNKER_PARAMS.minBytes, avgBytes: CHUNKER_PARAMS.avgBytes, maxBytes: CHUNKER_PARAMS.maxBytes },
        chunkIds: { algorithm: 'hmac-sha256', keyId },
        streams: opened.streams.length,
        chunks: counts.chunks,
        newChunks: counts.newChunks,
        newStoredBytes: counts.newStoredBytes,
        storedBytes: counts.storedBytes,
        chunkCompression: chunking.codec.implementation,
      },
    };
  } catch (error) {
    stop.abort();
    const failure = error instanceof Error ? error : new Error(String(error));
    packs.abort(failure);
    index?.abort(failure);
    await streams?.abort();
    // Uploads still finishing would land after the run's writer removed what it stored.
    await Promise.allSettled([packs.settled(), index?.settled()]);
    // A describe that failed stopped the streams: its error is the cause, not their aborts.
    const describeFailure = await described.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    throw describeFailure ?? error;
  } finally {
    clearInterval(timer);
    request.signal?.removeEventListener('abort', onAbort);
  }
}

/** The engine's streams, or its ordinary dump as the one stream `dump`. */
async function openStreams(engine: DatabaseEngine, source: Connection, jobs: number, signal: AbortSignal): Promise<StreamSource> {
  if (engine.dumpStreams) {
    const dump = await engine.dumpStreams(source, { jobs, signal });
    return { layout: 'multi-stream', ...pick(dump), open: (stream, abort) => dump.open(stream, abort), finish: () => dump.finish(), abort: () => dump.abort() };
  }
  const dump = await engine.dump(source, { signal });
  return {
    layout: 'single-stream',
    streams: [{ name: 'dump', role: 'dump' }],
    tool: dump.tool,
    format: dump.format,
    consistency: dump.consistency,
    open: () => Promise.resolve(dump.stream),
    // Read once the dump has ended: an engine may learn some only from the tool's exit.
    finish: () => Promise.resolve({ ...(dump.details ? { details: dump.details } : {}), ...(dump.warnings ? { warnings: dump.warnings } : {}) }),
    abort: () => Promise.resolve(void dump.stream.destroy()),
  };
}

function pick(dump: { readonly streams: readonly SnapshotStream[]; readonly tool: ToolVersion; readonly format: string; readonly consistency: string }) {
  return { streams: dump.streams, tool: dump.tool, format: dump.format, consistency: dump.consistency };
}


/**
 * Every pack the snapshot reuses must still be in every destination at its size: a prune that
 * removed one while this run was deduplicating against it, or a destination the chain never
 * wrote to, fails the run here, before a manifest could reference what is not there.
 */
async function checkReusedPacks(destinations: readonly StorageBackend[], job: string, reused: readonly ArtifactObject[], baseRunId: string | undefined, signal?: AbortSignal): Promise<void> {
  if (reused.length === 0) return;
  for (const storage of destinations) {
    const sizes = new Map<string, number>();
    for await (const object of storage.list(`${sharedFolder(job)}/`, signal ? { signal } : {})) sizes.set(object.key.slice(object.key.lastIndexOf('/') + 1), object.sizeBytes);
    for (const pack of reused) {
      const size = sizes.get(pack.name);
      if (size === pack.sizeBytes) continue;
      throw new IntegrityError(
        `pack ${pack.name}, which this backup reuses from run ${baseRunId}, is ${size === undefined ? 'missing' : `${size} bytes, not ${pack.sizeBytes},`} in ${storage.location}: a prune removed it while this backup ran, or the destination is new to job ${job}; run the backup again (--type full starts a new chain)`,
      );
    }
  }
}

/** Reused packs whose lock is extended at once, per destination. */
const RETENTION_EXTENSIONS_AT_ONCE = 8;

/**
 * A reused pack was locked (Object Lock, object retention, an immutability policy) from the run
 * that wrote it: it must stay locked as long as this snapshot, which needs it, or it could be
 * deleted while this snapshot is still promised to be kept. Any failure fails the run.
 */
async function extendReusedPackRetention(destinations: readonly StorageBackend[], job: string, reused: readonly ArtifactObject[], signal?: AbortSignal): Promise<void> {
  for (const storage of destinations) {
    if (!canExtendRetention(storage)) continue;
    await inParallel(
      reused,
      RETENTION_EXTENSIONS_AT_ONCE,
      async (pack) => {
        try {
          await storage.extendRetention(`${sharedFolder(job)}/${pack.name}`, signal ? { signal } : {});
        } catch (error) {
          if (signal?.aborted) throw error;
          const retryable = error instanceof VaultraError && error.retryable;
          throw new StorageError(`could not extend the lock of pack ${pack.name}, which this backup reuses, in ${storage.location} (${oneLine(error)}): fix the store's permissions or Object Lock settings and run the backup again`, retryable, { cause: error });
        }
      },
      signal,
    );
  }
}

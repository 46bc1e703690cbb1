import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactObject, Manifest } from '../domain/manifest.js';
import { objectKeyOf } from '../domain/object-layout.js';
import type { ChunkRef, SnapshotStream } from '../domain/snapshot-format.js';
import type { BackupAdapters } from '../ports/backup-adapters.js';
import type { Connection, DatabaseEngine, RestoreOptions } from '../ports/database-engine.js';
import type { RandomAccessDecryptor } from '../ports/encryptor.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import { ConfigError, IntegrityError } from '../errors.js';
import { readChunks, type ChunkSource } from '../pipeline/chunking/chunk-reader.js';
import { readSnapshotIndex, type SnapshotIndex } from '../pipeline/chunking/index-reader.js';
import { ExactSizeVerifier } from '../pipeline/byte-taps.js';
import type { BackupAt } from './read-backup.js';
import { guarded } from './read-backup.js';
import { rootCause } from './run-errors.js';

/** What reading a chunked snapshot needs: where it is, a decryptor that reads ranges, the chunk codecs. */
export interface ChunkedReadDependencies extends Pick<BackupAdapters, 'chunkCodec'> {
  readonly storage: StorageBackend;
  readonly randomAccess?: RandomAccessDecryptor;
  /** The job's dedup key, when at hand: each chunk's id is then checked too. */
  readonly dedupKey?: Buffer;
}

/** Whether a manifest is a chunked snapshot's (read with this module) rather than a single object's. */
export function isChunkedSnapshot(manifest: Manifest): boolean {
  return manifest.snapshot !== undefined;
}

/** A chunked snapshot opened for reading: its index read and checked, and a way to read any stream. */
export interface OpenedSnapshot {
  readonly index: SnapshotIndex;
  /** The plaintext of one stream: every chunk checked on the way (see readChunks). */
  read(stream: number, options?: { readonly signal?: AbortSignal; readonly onBytes?: (bytes: number) => void }): Readable;
  /** Some of a stream's chunks (a verify's sample), checked the same way. */
  readSome(chunks: readonly ChunkRef[], signal?: AbortSignal): Readable;
}

/**
 * Reads a chunked snapshot's index (its SHA-256 against the manifest) and checks that its chunks
 * add up to the manifest's plaintext size and lie in packs the manifest lists, before anything
 * else is read or touched.
 */
export async function openSnapshot(deps: ChunkedReadDependencies, backup: BackupAt, signal?: AbortSignal): Promise<OpenedSnapshot> {
  const { manifest } = backup;
  if (!deps.randomAccess) throw new ConfigError(`backup ${manifest.runId} is a chunked snapshot, which this reader cannot open (no range decryptor given)`);
  const indexObject = manifest.objects.find((object) => object.role === 'index');
  if (!indexObject) throw new IntegrityError(`manifest of run ${manifest.runId} has a snapshot but no index object: the manifest was altered`);
  const index = await readSnapshotIndex(deps.storage, backup.manifestKey, indexObject, signal);
  const packs = new Map<string, ArtifactObject>(manifest.objects.filter((object) => object.role === 'pack').map((object) => [object.name, object]));
  let total = 0;
  for (const chunks of index.chunks) {
    for (const chunk of chunks) {
      total += chunk.rawLength;
      if (!packs.has(chunk.pack)) throw new IntegrityError(`${indexObject.name} names pack ${chunk.pack}, which the manifest of run ${manifest.runId} does not list: the snapshot is damaged`);
    }
  }
  if (total !== manifest.plaintextBytes) {
    throw new IntegrityError(`the chunks of ${indexObject.name} add up to ${total} bytes, the manifest says ${manifest.plaintextBytes} (plaintextBytes): the manifest or the index was altered`);
  }
  const source: ChunkSource = {
    storage: deps.storage,
    packKey: (name) => objectKeyOf(backup.manifestKey, { name, scope: 'shared' }),
    packs,
    decryptor: deps.randomAccess,
    encryption: manifest.encryption,
    codec: deps.chunkCodec(manifest.compression.id, manifest.compression.level),
    ...(deps.dedupKey ? { dedupKey: deps.dedupKey } : {}),
  };
  return {
    index,
    readSome: (chunks, signal) => readChunks(source, chunks, signal ? { signal } : {}),
    read: (stream, options = {}) => {
      const chunks = index.chunks[stream]!;
      const plaintext = readChunks(source, chunks, options.signal ? { signal: options.signal } : {});
      if (!options.onBytes) return plaintext;
      // Counted as the bytes pass, never by a 'data' listener: that would set the stream flowing
      // and drop what it emits before its consumer attaches.
      let bytes = 0;
      const onBytes = options.onBytes;
      const counted = new Transform({
        highWaterMark: 1024 * 1024,
        transform(data: Buffer, _encoding, callback) {
          onBytes((bytes += data.length));
          callback(null, data);
        },
      });
      plaintext.on('error', (error) => counted.destroy(error));
      return plaintext.pipe(counted);
    },
  };
}

/**
 * Restores a chunked snapshot into `target`: the single stream of an engine that dumps as one
 * goes into its ordinary restore; an engine's own streams go into its streamed restore, which
 * reads the streams it needs (a selective restore reads only the chosen tables' chunks). The
 * target changes only through the engine's sink, which is aborted on any failure.
 */
export async function restoreSnapshot(
  deps: ChunkedReadDependencies,
  backup: BackupAt,
  engine: DatabaseEngine,
  target: Connection,
  options: RestoreOptions & { readonly jobs?: number; readonly onBytes?: (bytes: number) => void },
): Promise<{ bytesRaw: number; replaced: readonly string[]; notes: readonly string[] }> {
  const { manifest } = backup;
  const snapshot = await openSnapshot(deps, backup, options.signal);
  let bytesRaw = 0;
  /** A counter per stream, adding into the restore's total (streams are read in parallel). */
  const onBytes = () => {
    let last = 0;
    return (bytes: number) => {
      bytesRaw += bytes - last;
      last = bytes;
      options.onBytes?.(bytesRaw);
    };
  };
  if (manifest.snapshot!.layout === 'single-stream') {
    const sink = guarded(await engine.openRestore(target, { ...options, sourceDatabase: manifest.source.database }));
    const [piped] = await Promise.allSettled([
      pipeline(snapshot.read(0, { ...(options.signal ? { signal: options.signal } : {}), onBytes: onBytes() }), new ExactSizeVerifier(manifest.plaintextBytes, (problem) => `the snapshot's stream ${problem} its manifest says`), sink.stream, options.signal ? { signal: options.signal } : {}),
    ]);
    if (piped.status === 'rejected') {
      await sink.abort();
      throw rootCause([piped]);
    }
    await sink.commit();
    return { bytesRaw, replaced: sink.replaces, notes: sink.notes ?? [] };
  }
  if (!engine.openStreamsRestore) throw new ConfigError(`backup ${manifest.runId} holds ${manifest.source.engine} streams (${manifest.dump.format}), which this Vaultra's ${engine.id} engine cannot restore`);
  const sink = await engine.openStreamsRestore(target, snapshot.index.streams, { ...options, sourceDatabase: manifest.source.database, format: manifest.dump.format });
  const numbers = new Map<SnapshotStream, number>(snapshot.index.streams.map((stream, number) => [stream, number]));
  try {
    await sink.load(
      (stream) => {
        const number = numbers.get(stream) ?? snapshot.index.streams.findIndex((candidate) => candidate.name === stream.name);
        if (number < 0) throw new IntegrityError(`the engine asked for stream ${stream.name}, which the snapshot does not hold`);
        return snapshot.read(number, { ...(options.signal ? { signal: options.signal } : {}), onBytes: onBytes() });
      },
      { jobs: options.jobs ?? 1, ...(options.signal ? { signal: options.signal } : {}) },
    );
  } catch (error) {
    await sink.abort();
    throw error;
  }
  await sink.commit();
  return { bytesRaw, replaced: sink.replaces, notes: sink.notes ?? [] };
}

/**
 * Verifies a chunked snapshot: every chunk of every stream read, authenticated, decompressed and
 * length-checked (ids too when the dedup key is at hand); a single stream also goes through the
 * engine's structural check. With `samplePercent`, only the chunks of that share of the packs
 * (chosen at random) are read: every object's presence and size is still checked by the caller.
 */
export async function verifySnapshot(
  deps: ChunkedReadDependencies,
  backup: BackupAt,
  engine: DatabaseEngine,
  options: { readonly signal?: AbortSignal; readonly onBytes?: (bytes: number) => void; readonly samplePercent?: number },
): Promise<{ bytesRaw: number; structure: string }> {
  const { manifest } = backup;
  const snapshot = await openSnapshot(deps, backup, options.signal);
  const chunkCount = snapshot.index.chunks.reduce((sum, chunks) => sum + chunks.length, 0);
  const signalOption = options.signal ? { signal: options.signal } : {};
  if (options.samplePercent !== undefined && options.samplePercent < 100) {
    const packs = [...new Set(snapshot.index.chunks.flat().map((chunk) => chunk.pack))];
    const chosen = new Set(packs.filter(() => Math.random() * 100 < options.samplePercent!));
    // A sample that read nothing would verify nothing: at least one pack, chosen at random.
    if (chosen.size === 0 && packs.length > 0) chosen.add(packs[Math.floor(Math.random() * packs.length)]!);
    let bytesRaw = 0;
    let read = 0;
    for (const chunks of snapshot.index.chunks) {
      const sampled: ChunkRef[] = chunks.filter((chunk) => chosen.has(chunk.pack));
      if (sampled.length === 0) continue;
      read += sampled.length;
      bytesRaw += await drain(snapshot.readSome(sampled, options.signal), options.signal);
    }
    return { bytesRaw, structure: `sample: read and authenticated ${read} of ${chunkCount} chunks, in ${chosen.size} of ${packs.length} packs (${options.samplePercent} %)` };
  }
  if (manifest.snapshot!.layout === 'single-stream') {
    const sink = guarded(await engine.openValidation({ ...signalOption, contents: manifest.contents, sourceDatabase: manifest.source.database, ...(manifest.dump.details ? { details: manifest.dump.details } : {}) }));
    const [piped] = await Promise.allSettled([pipeline(snapshot.read(0, { ...signalOption, ...(options.onBytes ? { onBytes: options.onBytes } : {}) }), sink.stream, signalOption)]);
    if (piped.status === 'rejected') {
      await sink.abort();
      throw rootCause([piped]);
    }
    return { bytesRaw: manifest.plaintextBytes, structure: `${await sink.result()}; every one of ${chunkCount} chunks authenticated` };
  }
  let bytesRaw = 0;
  for (const stream of snapshot.index.streams.keys()) {
    bytesRaw += await drain(snapshot.read(stream, { ...signalOption, onBytes: (bytes) => options.onBytes?.(bytesRaw + bytes) }), options.signal);
  }
  return { bytesRaw, structure: `every one of ${chunkCount} chunks of ${snapshot.index.streams.length} streams read and authenticated` };
}

/** Reads `stream` to its end, keeping nothing: the bytes it had. */
async function drain(stream: Readable, signal?: AbortSignal): Promise<number> {
  let bytes = 0;
  await pipeline(stream, new Writable({ write: (data: Buffer, _encoding, callback) => void ((bytes += data.length), callback()) }), signal ? { signal } : {});
  return bytes;
}

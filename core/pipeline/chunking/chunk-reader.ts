/**
 * The read side of a chunked snapshot (docs/chunked-snapshots.md, "Reading a chunk"): a stream's
 * chunk list in, its plaintext out. Chunks next to each other in a pack are read with one ranged
 * request; several requests run ahead while the bytes are emitted strictly in order.
 */
import { Readable } from 'node:stream';
import type { ChunkRef } from '../../domain/snapshot-format.js';
import { AbortedError, IntegrityError } from '../../errors.js';
import type { ChunkCodec } from '../../ports/compressor.js';
import { chunkIdOf } from './chunk-id.js';
import { PackCache, readPack, type PackCacheSource } from './pack-cache.js';
import { coalesceReads, type CoalescedRead } from './range-plan.js';

/** Where a snapshot's packs are and how to open them (PackCacheSource), and how its chunks are stored. */
export interface ChunkSource extends PackCacheSource {
  readonly codec: ChunkCodec;
  /** When given, each chunk's id (`chunkIdOf`) is checked too. */
  readonly dedupKey?: Buffer;
}

export interface ReadChunksOptions {
  readonly signal?: AbortSignal;
  /** Ranged reads in flight or waiting to be emitted. @default 4 */
  readonly concurrency?: number;
  /** Stored plaintext bytes per ranged read (adjacent chunks are read together up to this). @default 4 MiB: a restore holds at most 4 × 4 MiB of stored bytes (and their plaintext) per stream */
  readonly maxRangeBytes?: number;
  /** Packs kept open (header fetched, file key unwrapped). @default 64 */
  readonly openPacks?: number;
}

const MiB = 1024 * 1024;

/**
 * The concatenated raw bytes of `chunks`, in order. Each chunk is authenticated (age), decompressed
 * to exactly its raw length and, with a dedup key, checked against its id; the stream fails with
 * `IntegrityError` (or `NotFoundError` for a pack missing from storage) at the first chunk that is
 * not what the index says, before emitting any of its bytes. Memory: about
 * `concurrency × maxRangeBytes`, plus one chunk being decompressed.
 *
 * @example
 * await pipeline(readChunks(source, chunksOfStream(index, 3), { signal }), restoreSink, { signal });
 */
export function readChunks(source: ChunkSource, chunks: Iterable<ChunkRef> | AsyncIterable<ChunkRef>, options: ReadChunksOptions = {}): Readable {
  const concurrency = options.concurrency ?? 4;
  const maxRangeBytes = options.maxRangeBytes ?? 4 * MiB;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number of at least 1, got ${concurrency}`);
  if (!Number.isInteger(maxRangeBytes) || maxRangeBytes < 1) throw new RangeError(`maxRangeBytes must be a whole number of at least 1, got ${maxRangeBytes}`);
  return new ChunkStream(source, coalesceReads(chunks, maxRangeBytes), concurrency, new PackCache(source, options.openPacks ?? 64), options.signal);
}

/** One ranged read in the window: its decrypted plaintext once fetched, and how many of its chunks were emitted. */
interface Slot {
  readonly read: CoalescedRead;
  plaintext?: { readonly bytes: Buffer; readonly start: number };
  emitted: number;
}

class ChunkStream extends Readable {
  readonly #source: ChunkSource;
  readonly #reads: AsyncGenerator<CoalescedRead, void, undefined>;
  readonly #concurrency: number;
  readonly #packs: PackCache;
  /** Aborts every request in flight when the stream is destroyed (or the caller's signal aborts). */
  readonly #controller = new AbortController();
  readonly #window: Slot[] = [];
  #planning = false;
  #planned = false;
  #wanted = false;
  #ended = false;
  readonly #detach: () => void;

  constructor(source: ChunkSource, reads: AsyncGenerator<CoalescedRead, void, undefined>, concurrency: number, packs: PackCache, signal: AbortSignal | undefined) {
    // Chunks are up to 256 KiB raw: a small buffer keeps memory to about one chunk beyond the window.
    super({ highWaterMark: 1 * MiB });
    this.#source = source;
    this.#reads = reads;
    this.#concurrency = concurrency;
    this.#packs = packs;
    const onAbort = () => this.destroy(new AbortedError('reading the snapshot\'s chunks was cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    this.#detach = () => signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) queueMicrotask(onAbort);
  }

  override _read(): void {
    this.#wanted = true;
    this.#emitReady();
    this.#plan();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#controller.abort();
    this.#detach();
    this.#window.length = 0;
    // Stops the chunk list's source (an index being read) too; its own failure is not this stream's.
    this.#reads.return(undefined).catch(() => undefined);
    callback(error);
  }

  /** Pulls reads from the plan into the window, one pull at a time, while there is room. */
  #plan(): void {
    if (this.#planning || this.#planned || this.destroyed) return;
    this.#planning = true;
    void (async () => {
      try {
        while (!this.destroyed && this.#window.length < this.#concurrency) {
          const next = await this.#reads.next();
          if (this.destroyed) return;
          if (next.done) {
            this.#planned = true;
            break;
          }
          const slot: Slot = { read: next.value, emitted: 0 };
          this.#window.push(slot);
          this.#fetch(slot);
        }
      } catch (error) {
        this.destroy(error as Error);
        return;
      } finally {
        this.#planning = false;
      }
      this.#emitReady();
    })();
  }

  #fetch(slot: Slot): void {
    fetchPlaintext(this.#source, this.#packs, slot.read, this.#controller.signal).then(
      (plaintext) => {
        slot.plaintext = plaintext;
        if (this.#window[0] === slot) this.#emitReady();
      },
      (error: unknown) => {
        if (!this.destroyed) this.destroy(error instanceof Error ? error : new Error(String(error)));
      },
    );
  }

  /** Emits the chunks of the reads at the head of the window that have arrived, while the consumer wants more. */
  #emitReady(): void {
    while (!this.destroyed && this.#wanted) {
      const slot = this.#window[0];
      if (!slot?.plaintext) break;
      const { chunks } = slot.read;
      if (slot.emitted === chunks.length) {
        this.#window.shift();
        this.#plan();
        continue;
      }
      const chunk = chunks[slot.emitted]!;
      let raw: Buffer;
      try {
        raw = decodeChunk(this.#source, chunk, slot.plaintext);
      } catch (error) {
        this.destroy(error as Error);
        return;
      }
      slot.emitted++;
      // An empty chunk never occurs (the chunker cuts at least 1 byte), and push(empty) would stall the stream.
      if (raw.length > 0 && !this.push(raw)) this.#wanted = false;
    }
    if (!this.destroyed && !this.#ended && this.#planned && this.#window.length === 0) {
      this.#ended = true;
      this.#detach();
      this.push(null);
    }
  }
}

/** The decrypted plaintext of one coalesced read: whole age segments, starting at `start` in the pack's plaintext. */
async function fetchPlaintext(source: ChunkSource, packs: PackCache, read: CoalescedRead, signal: AbortSignal): Promise<{ bytes: Buffer; start: number }> {
  const pack = await packs.open(read.pack, signal);
  try {
    const range = pack.file.cipherRange(read.start, read.end, pack.object.sizeBytes);
    const stored = await readPack(source.storage, pack.key, pack.name, range.start, range.end, signal);
    return { bytes: pack.file.decryptRange(range, stored, pack.object.sizeBytes), start: range.plaintextStart };
  } catch (error) {
    if (error instanceof IntegrityError) throw new IntegrityError(`pack ${read.pack}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** One chunk's raw bytes, checked: its length, and its id when the dedup key is at hand. */
function decodeChunk(source: ChunkSource, chunk: ChunkRef, plaintext: { readonly bytes: Buffer; readonly start: number }): Buffer {
  const at = chunk.offset - plaintext.start;
  const stored = plaintext.bytes.subarray(at, at + chunk.storedLength);
  const where = `chunk ${chunk.id.slice(0, 16)}… at ${chunk.offset} of pack ${chunk.pack}`;
  let raw: Buffer;
  try {
    raw = source.codec.decompress(stored, chunk.rawLength);
  } catch (error) {
    throw new IntegrityError(`${where} does not decompress to its ${chunk.rawLength} bytes (${(error as Error).message}): the index or the pack was altered`, { cause: error });
  }
  if (raw.length !== chunk.rawLength) throw new IntegrityError(`${where} decompresses to ${raw.length} bytes, the index says ${chunk.rawLength}: the index or the pack was altered`);
  if (source.dedupKey && !chunkIdOf(source.dedupKey, raw).equals(Buffer.from(chunk.id, 'hex'))) {
    throw new IntegrityError(`${where} is not the chunk the index names (its id does not match): the index or the pack was altered`);
  }
  return raw;
}

import { Writable } from 'node:stream';
import type { ChunkerParams } from '../../domain/snapshot-format.js';

/**
 * FastCDC content-defined chunking (Xia et al., "The Design of Fast Content-Defined Chunking for
 * Data Deduplication Based Storage Systems", IEEE TPDS 2020): a gear rolling hash, no hashing of the
 * first `minBytes` of a chunk, and *normalized chunking* — a harder mask (2 more bits) before the
 * average size and an easier one (2 fewer bits) after it, so chunk sizes cluster around the average.
 *
 * One deviation from the paper: the hash is 32 bits, not 64. JavaScript has no fast 64-bit
 * integers (BigInt costs ~50× per byte), while int32 arithmetic stays in registers. The gear table
 * is the high half of a 64-bit table drawn from a fixed seed, and the masks take the hash's high
 * bits below bit 31, which depend on the last ~30 bytes: a window wide enough for dump text.
 * Changing the seed or the masks changes every cut, so deduplication against runs written before
 * the change would fall to nothing (restores are unaffected: the index lists every chunk).
 */

/** splitmix64 from a fixed seed: any fixed pseudo-random table works; this one is easy to reproduce elsewhere. */
function gearTable(seed: bigint): Int32Array {
  const table = new Int32Array(256);
  const mask64 = (1n << 64n) - 1n;
  let state = seed;
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b97f4a7c15n) & mask64;
    let z = state;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & mask64;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & mask64;
    z = z ^ (z >> 31n);
    table[i] = Number(BigInt.asIntN(32, z >> 32n));
  }
  return table;
}

const GEAR = gearTable(0x7661756c74726100n); // "vaultra\0"

/** A mask of `bits` one-bits ending at bit 30 (bit 31 is left out: it is the sign of an int32). */
function highMask(bits: number): number {
  return ((2 ** bits - 1) * 2 ** (31 - bits)) | 0;
}

/**
 * Cuts a byte stream into content-defined chunks. Boundaries depend only on the bytes: the same
 * input gives the same chunks however it is split into `push` calls. Every chunk is `minBytes` to
 * `maxBytes` long except the last, which may be shorter.
 *
 * `push` takes ownership of `data` (chunks may be views into it, emitted later): the caller must
 * not reuse the buffer. Chunks that lie within one pushed buffer are views, never copies.
 */
export class FastCdcChunker {
  private readonly minBytes: number;
  private readonly avgBytes: number;
  private readonly maxBytes: number;
  private readonly maskSmall: number;
  private readonly maskLarge: number;
  /** Pieces of the current chunk from earlier pushes. */
  private pending: Buffer[] = [];
  /** Bytes of the current chunk seen so far (pending and scanned bytes of the current push). */
  private length = 0;
  private hash = 0;

  constructor(params: ChunkerParams) {
    const { minBytes, avgBytes, maxBytes } = params;
    if (!(Number.isInteger(minBytes) && minBytes >= 64 && avgBytes > minBytes && maxBytes > avgBytes && Number.isInteger(maxBytes))) {
      throw new RangeError(`FastCDC needs 64 <= minBytes < avgBytes < maxBytes, got ${minBytes}/${avgBytes}/${maxBytes}`);
    }
    const bits = Math.round(Math.log2(avgBytes));
    if (bits < 8 || bits > 27) throw new RangeError(`FastCDC avgBytes must be 256 B to 128 MiB, got ${avgBytes}`);
    this.minBytes = minBytes;
    this.avgBytes = avgBytes;
    this.maxBytes = maxBytes;
    // Normalization level 2, as the paper recommends.
    this.maskSmall = highMask(bits + 2);
    this.maskLarge = highMask(bits - 2);
  }

  push(data: Buffer, emit: (chunk: Buffer) => void): void {
    const end = data.length;
    let start = 0; // where the current chunk's bytes begin in `data`
    let at = 0; // next byte to look at
    while (at < end) {
      const cut = this.scan(data, at, end);
      if (cut < 0) break;
      emit(this.take(data, start, cut));
      start = at = cut;
    }
    if (start < end) this.pending.push(data.subarray(start));
  }

  /** Emits what is left as the last chunk (nothing when the input ended on a boundary). */
  end(emit: (chunk: Buffer) => void): void {
    if (this.length === 0) return;
    const last = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.length);
    this.reset();
    emit(last);
  }

  /**
   * Scans `data[at, end)` as the continuation of the current chunk: the index in `data` just past
   * the chunk's last byte, or -1 when the chunk goes on past `end` (the state is kept for the next push).
   */
  private scan(data: Buffer, at: number, end: number): number {
    let length = this.length;
    let i = at;
    if (length < this.minBytes) {
      // The first minBytes of a chunk are never a boundary: skip them without hashing.
      const skip = Math.min(this.minBytes - length, end - i);
      i += skip;
      length += skip;
      if (length < this.minBytes) {
        this.length = length;
        return -1;
      }
    }
    const gear = GEAR;
    let hash = this.hash;
    if (length < this.avgBytes) {
      const stop = Math.min(end, i + (this.avgBytes - length));
      const mask = this.maskSmall;
      const from = i;
      for (; i < stop; i++) {
        hash = ((hash << 1) + gear[data[i]!]!) | 0;
        if ((hash & mask) === 0) return i + 1;
      }
      length += i - from;
    }
    if (length >= this.avgBytes) {
      const stop = Math.min(end, i + (this.maxBytes - length));
      const mask = this.maskLarge;
      const from = i;
      for (; i < stop; i++) {
        hash = ((hash << 1) + gear[data[i]!]!) | 0;
        if ((hash & mask) === 0) return i + 1;
      }
      length += i - from;
      if (length >= this.maxBytes) return i;
    }
    this.length = length;
    this.hash = hash;
    return -1;
  }

  /** The chunk ending at `cut`: a view when it lies in `data` alone, else the pieces joined. */
  private take(data: Buffer, start: number, cut: number): Buffer {
    let chunk: Buffer;
    if (this.pending.length === 0) {
      chunk = data.subarray(start, cut);
    } else {
      this.pending.push(data.subarray(start, cut));
      chunk = Buffer.concat(this.pending);
    }
    this.reset();
    return chunk;
  }

  private reset(): void {
    this.pending = [];
    this.length = 0;
    this.hash = 0;
  }
}

/**
 * A Writable that chunks what is written to it and hands each chunk, in order, to `onChunk`,
 * waiting for a promise it returns before taking more (backpressure reaches the writer). The last
 * chunk goes out when the stream ends; an error thrown or rejected by `onChunk` fails the stream.
 */
export function chunkingSink(params: ChunkerParams, onChunk: (chunk: Buffer) => void | Promise<void>): Writable {
  const chunker = new FastCdcChunker(params);
  let ready: Buffer[] = [];
  const collect = (chunk: Buffer): void => void ready.push(chunk);
  const deliver = async (): Promise<void> => {
    const chunks = ready;
    ready = [];
    for (const chunk of chunks) {
      const pending = onChunk(chunk);
      if (pending) await pending;
    }
  };
  const settle = (callback: (error?: Error | null) => void): void => {
    deliver().then(() => callback(), callback);
  };
  return new Writable({
    highWaterMark: 1024 * 1024,
    write(data: Buffer, _encoding, callback) {
      chunker.push(data, collect);
      if (ready.length === 0) return callback();
      settle(callback);
    },
    final(callback) {
      chunker.end(collect);
      settle(callback);
    },
  });
}

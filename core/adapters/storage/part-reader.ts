/**
 * Cutting a byte stream into upload parts of scheduled sizes, with bounded memory: each part is
 * one buffer from a small pool (filled by copying the stream's chunks in, no concatenation), and
 * the next part is read only when the uploader asks for it, so an uploader that keeps at most
 * `n` parts in flight holds at most `n + 1` part buffers. Store-neutral (S3 parts, Azure blocks,
 * GCS resumable chunks).
 */
import type { Readable } from 'node:stream';

/** Reuses part buffers of the current size, so a long upload does not churn the allocator. */
export class PartBufferPool {
  private readonly free: Buffer[] = [];

  /** A buffer of exactly `sizeBytes`, its contents undefined. */
  acquire(sizeBytes: number): Buffer {
    const index = this.free.findIndex((buffer) => buffer.length === sizeBytes);
    if (index >= 0) return this.free.splice(index, 1)[0]!;
    // Part sizes only grow: buffers of a smaller size will never be asked for again.
    this.free.length = 0;
    return Buffer.allocUnsafeSlow(sizeBytes);
  }

  /** Gives a buffer back once nothing (an in-flight request) reads it any more. */
  release(buffer: Buffer): void {
    this.free.push(buffer);
  }
}

export interface Part {
  /** 1-based. */
  readonly partNumber: number;
  /** The part's bytes: a view of `buffer`, shorter than the scheduled size only for the last part. */
  readonly bytes: Buffer;
  /** The pooled buffer to release when the part is stored. */
  readonly buffer: Buffer;
}

/**
 * Parts of `body`, in order. A part is yielded when it is full, and the remainder (possibly
 * empty, for an empty body) when the body ends; so a part shorter than scheduled is the last.
 * Strings and typed arrays from object-mode streams are accepted. Rejects with the body's own
 * error if the body fails.
 */
export async function* readParts(body: Readable | AsyncIterable<unknown>, sizeOf: (partNumber: number) => number, pool: PartBufferPool): AsyncGenerator<Part, void, undefined> {
  let partNumber = 1;
  let buffer = pool.acquire(sizeOf(partNumber));
  let filled = 0;
  for await (const raw of body) {
    let chunk = toBuffer(raw);
    while (chunk.length > 0) {
      const take = Math.min(chunk.length, buffer.length - filled);
      chunk.copy(buffer, filled, 0, take);
      filled += take;
      chunk = chunk.subarray(take);
      if (filled === buffer.length) {
        yield { partNumber, bytes: buffer, buffer };
        partNumber += 1;
        buffer = pool.acquire(sizeOf(partNumber));
        filled = 0;
      }
    }
  }
  if (filled > 0 || partNumber === 1) yield { partNumber, bytes: buffer.subarray(0, filled), buffer };
  else pool.release(buffer);
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`a storage body must yield bytes, got ${typeof chunk}`);
}

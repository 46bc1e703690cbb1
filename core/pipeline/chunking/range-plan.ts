import type { ChunkRef } from '../../domain/snapshot-format.js';

/** Chunks read with one ranged read: they lie in one pack, in `[start, end)` of its plaintext. */
export interface CoalescedRead {
  readonly pack: string;
  readonly start: number;
  readonly end: number;
  /** In the order they are emitted; each lies inside `[start, end)`. */
  readonly chunks: readonly ChunkRef[];
}

/**
 * Bytes a read may skip over to take the next chunk of the same pack. An incremental references
 * its base's chunks in order with holes where changed chunks were: reading a hole (age decrypts
 * 64 KiB segments anyway) costs less than another request and another segment to decrypt.
 */
export const DEFAULT_GAP_BYTES = 128 * 1024;

/**
 * Groups a stream's chunks, in order, into ranged reads: a chunk joins the read before it when it
 * is in the same pack and starts inside that read's range, or at most `gapBytes` after its end
 * (the next chunk of a run written in one go, the same chunk again, or the next one an
 * incremental kept), and the range stays within `maxRangeBytes`. A chunk larger than that is read
 * on its own. Lazy: it pulls one chunk ahead.
 */
export async function* coalesceReads(chunks: Iterable<ChunkRef> | AsyncIterable<ChunkRef>, maxRangeBytes: number, gapBytes = DEFAULT_GAP_BYTES): AsyncGenerator<CoalescedRead, void, undefined> {
  let current: { pack: string; start: number; end: number; chunks: ChunkRef[] } | undefined;
  for await (const chunk of chunks) {
    const chunkEnd = chunk.offset + chunk.storedLength;
    if (current && chunk.pack === current.pack && chunk.offset >= current.start && chunk.offset <= current.end + gapBytes && Math.max(current.end, chunkEnd) - current.start <= maxRangeBytes) {
      current.chunks.push(chunk);
      current.end = Math.max(current.end, chunkEnd);
      continue;
    }
    if (current) yield current;
    current = { pack: chunk.pack, start: chunk.offset, end: chunkEnd, chunks: [chunk] };
  }
  if (current) yield current;
}

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
 * Groups a stream's chunks, in order, into ranged reads: a chunk joins the read before it when it
 * is in the same pack and starts inside or right at the end of that read's range (the next chunk
 * of a run written in one go, or the same chunk again), and the range stays within
 * `maxRangeBytes`. A chunk larger than that is read on its own. Lazy: it pulls one chunk ahead.
 */
export async function* coalesceReads(chunks: Iterable<ChunkRef> | AsyncIterable<ChunkRef>, maxRangeBytes: number): AsyncGenerator<CoalescedRead, void, undefined> {
  let current: { pack: string; start: number; end: number; chunks: ChunkRef[] } | undefined;
  for await (const chunk of chunks) {
    const chunkEnd = chunk.offset + chunk.storedLength;
    if (current && chunk.pack === current.pack && chunk.offset >= current.start && chunk.offset <= current.end && Math.max(current.end, chunkEnd) - current.start <= maxRangeBytes) {
      current.chunks.push(chunk);
      current.end = Math.max(current.end, chunkEnd);
      continue;
    }
    if (current) yield current;
    current = { pack: chunk.pack, start: chunk.offset, end: chunkEnd, chunks: [chunk] };
  }
  if (current) yield current;
}

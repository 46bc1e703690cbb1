import { describe, expect, it } from 'vitest';
import type { ChunkRef } from '../../core/domain/snapshot-format.js';
import { coalesceReads, type CoalescedRead } from '../../core/pipeline/chunking/range-plan.js';

const P1 = `pack-${'1'.repeat(32)}.age`;
const P2 = `pack-${'2'.repeat(32)}.age`;
const ref = (pack: string, offset: number, storedLength: number): ChunkRef => ({ stream: 0, id: '0'.repeat(64), pack, offset, storedLength, rawLength: storedLength * 2 });

async function plan(chunks: ChunkRef[], maxRangeBytes: number, gapBytes?: number): Promise<Array<Omit<CoalescedRead, 'chunks'> & { chunks: number }>> {
  const reads = [];
  for await (const read of coalesceReads(chunks, maxRangeBytes, gapBytes)) reads.push({ pack: read.pack, start: read.start, end: read.end, chunks: read.chunks.length });
  return reads;
}

describe('coalesceReads', () => {
  it('joins chunks laid end to end in one pack, up to the range limit', async () => {
    const chunks = [ref(P1, 0, 10), ref(P1, 10, 10), ref(P1, 20, 10), ref(P1, 30, 10)];
    expect(await plan(chunks, 1000)).toEqual([{ pack: P1, start: 0, end: 40, chunks: 4 }]);
    expect(await plan(chunks, 25)).toEqual([
      { pack: P1, start: 0, end: 20, chunks: 2 },
      { pack: P1, start: 20, end: 40, chunks: 2 },
    ]);
  });

  it('starts a new read at another pack, a gap wider than allowed, or a step back', async () => {
    const chunks = [ref(P1, 0, 10), ref(P2, 10, 10), ref(P2, 30, 5), ref(P2, 0, 5)];
    expect(await plan(chunks, 1000, 5)).toEqual([
      { pack: P1, start: 0, end: 10, chunks: 1 },
      { pack: P2, start: 10, end: 20, chunks: 1 },
      { pack: P2, start: 30, end: 35, chunks: 1 },
      { pack: P2, start: 0, end: 5, chunks: 1 },
    ]);
  });

  it("reads across a small gap (a changed chunk an incremental no longer uses), by default up to 128 KiB", async () => {
    expect(await plan([ref(P1, 0, 10), ref(P1, 30, 5)], 1000)).toEqual([{ pack: P1, start: 0, end: 35, chunks: 2 }]);
    expect(await plan([ref(P1, 0, 10), ref(P1, 10 + 128 * 1024 + 1, 5)], 1024 * 1024)).toHaveLength(2);
  });

  it('reads a chunk repeated in place once, and a chunk larger than the limit on its own', async () => {
    expect(await plan([ref(P1, 0, 10), ref(P1, 0, 10), ref(P1, 10, 10)], 1000)).toEqual([{ pack: P1, start: 0, end: 20, chunks: 3 }]);
    expect(await plan([ref(P1, 0, 10), ref(P1, 10, 500), ref(P1, 510, 10)], 100)).toEqual([
      { pack: P1, start: 0, end: 10, chunks: 1 },
      { pack: P1, start: 10, end: 510, chunks: 1 },
      { pack: P1, start: 510, end: 520, chunks: 1 },
    ]);
  });

  it('plans nothing for no chunks', async () => {
    expect(await plan([], 100)).toEqual([]);
  });
});

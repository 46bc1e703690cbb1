import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { CHUNKER_PARAMS } from '../../core/domain/snapshot-format.js';
import { chunkingSink, FastCdcChunker } from '../../core/pipeline/chunking/fastcdc.js';
import { dumpText } from '../support/dump-text.js';

const MiB = 1024 * 1024;

/** A seeded generator, so a failing split can be replayed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

/** Cuts `data` into pieces of random sizes (1 byte to 300 KiB, small ones often). */
function randomSplit(data: Buffer, random: () => number): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; ) {
    const size = random() < 0.2 ? 1 + Math.floor(random() * 64) : 1 + Math.floor(random() * 300 * 1024);
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

function chunk(pieces: readonly Buffer[]): Buffer[] {
  const chunker = new FastCdcChunker(CHUNKER_PARAMS);
  const chunks: Buffer[] = [];
  for (const piece of pieces) chunker.push(piece, (c) => chunks.push(c));
  chunker.end((c) => chunks.push(c));
  return chunks;
}

const lengths = (chunks: readonly Buffer[]) => chunks.map((c) => c.length);

describe('FastCdcChunker', () => {
  const data = dumpText(8 * MiB, 3);

  it('cuts the same chunks however the input is split into pushes', () => {
    // Prepare
    const whole = chunk([data]);
    // Act / Assess
    for (const seed of [1, 2, 3, 4, 5]) {
      const split = chunk(randomSplit(data, seeded(seed)));
      expect(lengths(split), `split seed ${seed}`).toEqual(lengths(whole));
      expect(Buffer.concat(split).equals(data)).toBe(true);
    }
  });

  it('keeps every chunk but the last within min and max, and averages near the target', () => {
    const chunks = chunk([data]);
    for (const c of chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(CHUNKER_PARAMS.minBytes);
      expect(c.length).toBeLessThanOrEqual(CHUNKER_PARAMS.maxBytes);
    }
    const average = data.length / chunks.length;
    expect(average).toBeGreaterThan(CHUNKER_PARAMS.avgBytes * 0.8);
    expect(average).toBeLessThan(CHUNKER_PARAMS.avgBytes * 1.6);
  });

  it('cuts bytes without any boundary at maxBytes', () => {
    const zeros = Buffer.alloc(CHUNKER_PARAMS.maxBytes * 3 + 10);
    expect(lengths(chunk([zeros]))).toEqual([CHUNKER_PARAMS.maxBytes, CHUNKER_PARAMS.maxBytes, CHUNKER_PARAMS.maxBytes, 10]);
  });

  it('changes only the chunks around a few bytes inserted in the middle (deduplication)', () => {
    // Prepare
    const middle = 4 * MiB + 12345;
    const edited = Buffer.concat([data.subarray(0, middle), Buffer.from('INSERTED 17 bytes'), data.subarray(middle)]);
    // Act
    const before = new Set(chunk([data]).map((c) => c.toString('latin1')));
    const after = chunk(randomSplit(edited, seeded(9)));
    // Assess
    const changed = after.filter((c) => !before.has(c.toString('latin1')));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(3);
  });

  it('gives views into the pushed buffer for chunks inside it, copies only for chunks that span pushes', () => {
    const chunker = new FastCdcChunker(CHUNKER_PARAMS);
    const chunks: Buffer[] = [];
    chunker.push(data, (c) => chunks.push(c));
    chunker.end((c) => chunks.push(c));
    expect(chunks.slice(0, -1).every((c) => c.buffer === data.buffer)).toBe(true);
  });

  it('emits nothing for an empty input, and a short input as one chunk', () => {
    expect(chunk([])).toEqual([]);
    expect(lengths(chunk([Buffer.from('abc'), Buffer.from('de')]))).toEqual([5]);
  });

  it('refuses sizes that are out of order', () => {
    expect(() => new FastCdcChunker({ minBytes: 4096, avgBytes: 2048, maxBytes: 8192 })).toThrow(RangeError);
  });
});

describe('chunkingSink', () => {
  it('hands chunks over in order, the last at end, waiting for each to be taken', async () => {
    // Prepare
    const data = dumpText(2 * MiB, 5);
    const received: Buffer[] = [];
    let busy = false;
    const sink = chunkingSink(CHUNKER_PARAMS, async (c) => {
      expect(busy).toBe(false);
      busy = true;
      await new Promise((resolve) => setTimeout(resolve, 1));
      received.push(c);
      busy = false;
    });
    // Act
    await pipeline(Readable.from(randomSplit(data, seeded(11))), sink);
    // Assess
    expect(lengths(received)).toEqual(lengths(chunk([data])));
    expect(Buffer.concat(received).equals(data)).toBe(true);
  });

  it('fails the stream with the error onChunk throws or rejects with', async () => {
    const data = dumpText(MiB, 6);
    const failing = chunkingSink(CHUNKER_PARAMS, () => Promise.reject(new Error('pack upload failed')));
    await expect(pipeline(Readable.from([data]), failing)).rejects.toThrow('pack upload failed');
    const throwing = chunkingSink(CHUNKER_PARAMS, () => {
      throw new Error('sync failure');
    });
    await expect(pipeline(Readable.from([data]), throwing)).rejects.toThrow('sync failure');
  });

  it('is a Writable', () => {
    expect(chunkingSink(CHUNKER_PARAMS, () => undefined)).toBeInstanceOf(Writable);
  });
});

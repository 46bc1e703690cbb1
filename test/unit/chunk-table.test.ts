import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChunkTable } from '../../core/pipeline/chunking/chunk-table.js';

const key = Buffer.alloc(32, 7);
const idOf = (n: number) => createHmac('sha256', key).update(String(n)).digest();
const locationOf = (n: number) => ({ pack: `pack-${(n % 37).toString(16).padStart(32, '0')}.age`, offset: n * 1000, storedLength: 1000 + (n % 500), rawLength: 32768 + n });

describe('ChunkTable', () => {
  it('finds every id it was given, with its location, and none it was not', () => {
    // Prepare
    const table = new ChunkTable(10);
    // Act
    for (let n = 0; n < 50_000; n++) table.set(idOf(n), locationOf(n));
    // Assess
    expect(table.size).toBe(50_000);
    for (let n = 0; n < 50_000; n += 7) expect(table.get(idOf(n))).toEqual(locationOf(n));
    for (let n = 50_000; n < 51_000; n++) {
      expect(table.has(idOf(n))).toBe(false);
      expect(table.get(idOf(n))).toBeUndefined();
    }
  });

  it('moves an id set twice instead of adding it again', () => {
    const table = new ChunkTable();
    table.set(idOf(1), locationOf(1));
    table.set(Buffer.from(idOf(1)), locationOf(2));
    expect(table.size).toBe(1);
    expect(table.get(idOf(1))).toEqual(locationOf(2));
  });

  it('works with ids that are not uniformly random', () => {
    const table = new ChunkTable();
    const idFor = (n: number) => {
      const id = Buffer.alloc(32);
      id.writeUInt32BE(n, 12);
      return id;
    };
    for (let n = 0; n < 5000; n++) table.set(idFor(n), locationOf(n));
    for (let n = 0; n < 5000; n++) expect(table.get(idFor(n))?.offset).toBe(n * 1000);
  });

  it('refuses ids that are not 32 bytes and values over 32 bits', () => {
    const table = new ChunkTable();
    expect(() => table.has(Buffer.alloc(31))).toThrow(RangeError);
    expect(() => table.set(idOf(1), { ...locationOf(1), offset: 2 ** 32 })).toThrow(RangeError);
  });

  it('holds 330,000 chunks (a 10 GB dump at 32 KiB) in under 25 MB', () => {
    // Prepare
    const ids = Array.from({ length: 330_000 }, (_, n) => idOf(n));
    const before = process.memoryUsage().arrayBuffers;
    const table = new ChunkTable();
    // Act
    ids.forEach((id, n) => table.set(id, locationOf(n)));
    // Assess
    // arrayBuffers also counts the arrays growth left for the collector: memoryBytes is what stays.
    const measured = process.memoryUsage().arrayBuffers - before;
    console.log(`ChunkTable: 330,000 entries, memoryBytes ${(table.memoryBytes() / 1e6).toFixed(1)} MB, arrayBuffers grew ${(measured / 1e6).toFixed(1)} MB`);
    expect(table.memoryBytes()).toBeLessThan(25e6);
    const sized = new ChunkTable(330_000);
    ids.forEach((id, n) => sized.set(id, locationOf(n)));
    console.log(`ChunkTable sized up front: memoryBytes ${(sized.memoryBytes() / 1e6).toFixed(1)} MB`);
    expect(sized.memoryBytes()).toBeLessThan(20e6);
  });
});

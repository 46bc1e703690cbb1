import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import { NotFoundError, StorageError } from '../../core/errors.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function keys(storage: StorageBackend, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for await (const object of storage.list(prefix)) found.push(object.key);
  return found.sort();
}

/** A body that yields some bytes, then fails: an upstream stage breaking mid-write. */
function failingBody(bytes: number): Readable {
  return Readable.from(
    (async function* () {
      yield randomBytes(bytes);
      throw new Error('upstream stage failed');
    })(),
  );
}

export interface StorageContractOptions {
  /**
   * A backend whose location does not exist (a bucket, container or folder never created).
   * Every real adapter gives one; only in-memory fakes, which have no such thing, may not.
   */
  readonly missingLocation?: () => Promise<StorageBackend>;
}

/**
 * What every StorageBackend must do. Each adapter's test calls this with a factory that
 * returns a fresh, empty backend. (restic's rule: no adapter may skip it.)
 */
export function storageBackendContract(name: string, fresh: () => Promise<StorageBackend>, options: StorageContractOptions = {}): void {
  describe(`${name} (StorageBackend contract)`, () => {
    it('stores and reads back an object byte for byte, streaming', async () => {
      const storage = await fresh();
      const data = randomBytes(3 * 1024 * 1024 + 7);
      const { sizeBytes } = await storage.put('job/2026/01/01/run/data.bin', Readable.from([data.subarray(0, 1000), data.subarray(1000)]));
      expect(sizeBytes).toBe(data.length);
      expect((await readAll(await storage.get('job/2026/01/01/run/data.bin'))).equals(data)).toBe(true);
    });

    it('stores a body of string chunks (how manifests are written) and an empty body', async () => {
      const storage = await fresh();
      const text = '{\n  "schema": "vaultra.manifest/v1", "name": "Zoë 🎉"\n}\n';
      const { sizeBytes } = await storage.put('job/2026/01/01/run/manifest.json', Readable.from([text]));
      expect(sizeBytes).toBe(Buffer.byteLength(text));
      expect((await readAll(await storage.get('job/2026/01/01/run/manifest.json'))).toString('utf8')).toBe(text);
      await storage.put('job/2026/01/01/run/empty', Readable.from([]));
      expect((await readAll(await storage.get('job/2026/01/01/run/empty'))).length).toBe(0);
    });

    it('lists by prefix with sizes', async () => {
      const storage = await fresh();
      await storage.put('a/1/x', Readable.from([Buffer.from('xx')]));
      await storage.put('a/2/y', Readable.from([Buffer.from('yyy')]));
      await storage.put('b/1/z', Readable.from([Buffer.from('z')]));
      expect(await keys(storage, 'a/')).toEqual(['a/1/x', 'a/2/y']);
      expect(await keys(storage)).toEqual(['a/1/x', 'a/2/y', 'b/1/z']);
      const sizes: Record<string, number> = {};
      for await (const object of storage.list('a/')) sizes[object.key] = object.sizeBytes;
      expect(sizes).toEqual({ 'a/1/x': 2, 'a/2/y': 3 });
    });

    it('leaves nothing behind when the body fails mid-write', async () => {
      const storage = await fresh();
      await expect(storage.put('job/run/data.bin', failingBody(2 * 1024 * 1024))).rejects.toThrow();
      expect(await keys(storage)).toEqual([]);
      await expect(storage.get('job/run/data.bin')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('keeps the previous object whole when an overwrite fails', async () => {
      const storage = await fresh();
      await storage.put('k', Readable.from([Buffer.from('old')]));
      await expect(storage.put('k', failingBody(100_000))).rejects.toThrow();
      expect((await readAll(await storage.get('k'))).toString()).toBe('old');
    });

    it('stops and cleans up when the signal aborts', async () => {
      const storage = await fresh();
      const controller = new AbortController();
      const endless = new Readable({ read() { this.push(randomBytes(64 * 1024)); } });
      const put = storage.put('k', endless, { signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await expect(put).rejects.toThrow();
      expect(await keys(storage)).toEqual([]);
    });

    it('lists an empty location or a prefix with nothing under it as nothing', async () => {
      const storage = await fresh();
      expect(await keys(storage)).toEqual([]);
      await storage.put('a/1/x', Readable.from([Buffer.from('x')]));
      expect(await keys(storage, 'b/')).toEqual([]);
      expect(await keys(storage, 'a/1/x/')).toEqual([]);
    });

    if (options.missingLocation) {
      const missing = options.missingLocation;
      it('refuses to list a location that does not exist: a StorageError naming it, never an empty listing', async () => {
        const storage = await missing();
        const listing = keys(storage);
        await expect(listing).rejects.toBeInstanceOf(StorageError);
        await expect(listing).rejects.toMatchObject({ retryable: false });
        await expect(keys(storage, 'job/')).rejects.toThrow(/does not exist/);
      });
    }

    it('reads byte ranges: at the start, in the middle, at the end, empty, and the whole object', async () => {
      const storage = await fresh();
      const data = randomBytes(300_000 + 13);
      await storage.put('job/shared/pack-1', Readable.from([data]));
      for (const [start, end] of [
        [0, 1],
        [0, 65_536],
        [123_456, 200_001],
        [data.length - 7, data.length],
        [data.length, data.length],
        [0, data.length],
      ] as const) {
        const bytes = await storage.readRange('job/shared/pack-1', start, end);
        expect(bytes.length, `range ${start}-${end}`).toBe(end - start);
        expect(bytes.equals(data.subarray(start, end)), `range ${start}-${end}`).toBe(true);
      }
    });

    it('refuses a range of a missing object (NotFoundError) and one past the end (StorageError, not retryable)', async () => {
      const storage = await fresh();
      await storage.put('k', Readable.from([Buffer.from('0123456789')]));
      await expect(storage.readRange('nope', 0, 5)).rejects.toBeInstanceOf(NotFoundError);
      for (const [start, end] of [
        [5, 11],
        [10, 11],
        [20, 30],
        [11, 11],
      ] as const) {
        const reading = storage.readRange('k', start, end);
        await expect(reading, `range ${start}-${end}`).rejects.toBeInstanceOf(StorageError);
        await expect(reading, `range ${start}-${end}`).rejects.toMatchObject({ retryable: false });
      }
      await expect(storage.readRange('k', 5, 4)).rejects.toBeInstanceOf(RangeError);
    });

    it('reports a missing object as NotFoundError', async () => {
      const storage = await fresh();
      await expect(storage.get('nope')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('deletes idempotently', async () => {
      const storage = await fresh();
      await storage.put('k', Readable.from([Buffer.from('v')]));
      await storage.delete('k');
      await storage.delete('k');
      expect(await keys(storage)).toEqual([]);
    });

    it('has a printable location without credentials', async () => {
      const storage = await fresh();
      expect(storage.location).toMatch(/^[a-z0-9+]+:\/\//);
      expect(storage.location).not.toMatch(/:[^/]*@/);
    });
  });
}

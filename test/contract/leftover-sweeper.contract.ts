import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Leftover, LeftoverSweeper, StorageBackend } from '../../core/ports/storage-backend.js';

type Sweepable = StorageBackend & LeftoverSweeper;

/**
 * Leaves what a process killed in the middle of `put(key)` leaves in this store (a temp file,
 * an incomplete multipart upload, uncommitted blocks), the way the adapter itself writes it.
 */
export type StrandWrite = (storage: Sweepable, key: string) => Promise<void>;

async function leftovers(storage: Sweepable, prefix = ''): Promise<Leftover[]> {
  const found: Leftover[] = [];
  for await (const leftover of storage.listLeftovers(prefix)) found.push(leftover);
  return found.sort((a, b) => a.key.localeCompare(b.key));
}

async function keys(storage: StorageBackend, prefix = ''): Promise<string[]> {
  const found: string[] = [];
  for await (const object of storage.list(prefix)) found.push(object.key);
  return found.sort();
}

/**
 * What every store that lists its own leftovers must do: a write a killed process left is
 * listed (under its key, never by `list`), honours the prefix, is removed by `removeLeftover`
 * (idempotently), and a put that fails cleanly leaves none. Empty folders are a file-store
 * matter and are ignored here.
 */
export function leftoverSweeperContract(name: string, fresh: () => Promise<Sweepable>, strand: StrandWrite): void {
  describe(`${name} (LeftoverSweeper contract)`, () => {
    const writes = (all: Leftover[]) => all.filter((leftover) => leftover.kind !== 'empty-folder');

    it('lists a write a killed process left, under its key, never as an object; removes it, idempotently', async () => {
      const storage = await fresh();
      await storage.put('job/2026/12/06/done/data.bin', Readable.from([Buffer.from('complete')]));
      await strand(storage, 'job/2026/12/06/killed/data.bin');
      expect(await keys(storage)).toEqual(['job/2026/12/06/done/data.bin']);
      const [left, ...more] = writes(await leftovers(storage));
      expect(more).toEqual([]);
      expect(left).toMatchObject({ key: 'job/2026/12/06/killed/data.bin' });
      expect(['temp-file', 'multipart-upload', 'uncommitted-blocks']).toContain(left!.kind);
      await storage.removeLeftover(left!);
      expect(writes(await leftovers(storage))).toEqual([]);
      await storage.removeLeftover(left!);
      expect(await keys(storage), 'complete objects are untouched').toEqual(['job/2026/12/06/done/data.bin']);
    });

    it('lists only leftovers under the prefix', async () => {
      const storage = await fresh();
      await strand(storage, 'a/2026/12/06/r1/data.bin');
      await strand(storage, 'b/2026/12/06/r2/data.bin');
      expect(writes(await leftovers(storage, 'a/')).map((leftover) => leftover.key)).toEqual(['a/2026/12/06/r1/data.bin']);
      expect(writes(await leftovers(storage)).map((leftover) => leftover.key)).toEqual(['a/2026/12/06/r1/data.bin', 'b/2026/12/06/r2/data.bin']);
    });

    it('a put whose body fails leaves no leftover to sweep', async () => {
      const storage = await fresh();
      const failing = Readable.from(
        (async function* () {
          yield randomBytes(2 * 1024 * 1024);
          throw new Error('upstream stage failed');
        })(),
      );
      await expect(storage.put('job/2026/12/06/failed/data.bin', failing)).rejects.toThrow();
      expect(writes(await leftovers(storage))).toEqual([]);
    });
  });
}

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { manifestKey, runFolder } from '../../core/domain/object-layout.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { StorageError } from '../../core/errors.js';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import { applyRetention } from '../../core/usecases/apply-retention.js';
import { FaultyStorageBackend } from '../fakes/faulty-storage.js';

const DAY = 86_400_000;
const NOW = new Date('2026-11-22T08:00:00Z');
const DATA_OBJECTS = ['data.pgdump.zst.age', 'globals.sql.zst.age'];

describe('applyRetention with file:// storage and the local catalog', () => {
  let dir: string;
  let storage: FileStorageBackend;
  let catalog: LocalCatalog;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-retention-'));
    storage = new FileStorageBackend(join(dir, 'store'));
    catalog = new LocalCatalog(join(dir, 'catalog'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A run as the backup use case leaves it: data objects, then (if it succeeded) the manifest, and its record. */
  async function seedRun(job: string, finishedIso: string, status: 'succeeded' | 'failed' = 'succeeded'): Promise<RunRecord> {
    const startedAt = new Date(Date.parse(finishedIso) - 10 * 60_000);
    const runId = newRunId(startedAt);
    const folder = runFolder(job, runId);
    for (const name of DATA_OBJECTS) await storage.put(`${folder}/${name}`, Readable.from([Buffer.from(`${name} of ${runId}`)]));
    if (status === 'succeeded') await storage.put(manifestKey(job, runId), Readable.from([Buffer.from(JSON.stringify({ runId }))]));
    const run: RunRecord = {
      runId,
      job,
      kind: 'backup',
      status,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date(finishedIso).toISOString(),
      location: `${storage.location}/${folder}`,
      ...(status === 'succeeded' ? { manifestKey: manifestKey(job, runId) } : { error: { kind: 'dump', message: 'pg_dump exited 1' } }),
    };
    await catalog.create(run);
    return run;
  }

  /** Ten daily backups of `shop` (oldest first), a failed run among them, and five of `shop-eu`, whose name starts like it. */
  async function seedHistory(): Promise<{ shop: RunRecord[]; failed: RunRecord; other: RunRecord[] }> {
    const shop: RunRecord[] = [];
    for (let i = 10; i >= 1; i--) shop.push(await seedRun('shop', new Date(NOW.getTime() - i * DAY).toISOString()));
    const failed = await seedRun('shop', new Date(NOW.getTime() - 8.5 * DAY).toISOString(), 'failed');
    const other: RunRecord[] = [];
    for (let i = 5; i >= 1; i--) other.push(await seedRun('shop-eu', new Date(NOW.getTime() - i * DAY).toISOString()));
    return { shop, failed, other };
  }

  async function keysUnder(backend: StorageBackend, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    for await (const object of backend.list(prefix)) keys.push(object.key);
    return keys.sort();
  }

  const folderKeys = (run: RunRecord): string[] => [...DATA_OBJECTS.map((name) => `${runFolder(run.job, run.runId)}/${name}`), manifestKey(run.job, run.runId)].sort();
  const newestFirst = (runs: RunRecord[]): string[] => runs.map((r) => r.runId).reverse();
  /** Every application ends with the pack sweep's listing of `shop/shared/` (sweep-packs.test.ts); with no packs there, it does nothing more. */
  const notPackSweep = (call: { method: string; key: string }): boolean => !(call.method === 'list' && call.key === 'shop/shared/');

  it('removes the pruned run folders, keeps the rest, marks the records, and leaves other jobs and failed runs alone', async () => {
    const { shop, failed, other } = await seedHistory();
    const otherKeysBefore = await keysUnder(storage, 'shop-eu/');
    const otherRecordsBefore = await catalog.list({ job: 'shop-eu' });

    const outcome = await applyRetention({ storage, catalog }, { job: 'shop', keep: { last: 3 }, now: NOW });

    expect(outcome).toEqual({ kept: newestFirst(shop.slice(-3)), pruned: newestFirst(shop.slice(0, 7)), failed: [] });
    for (const run of shop.slice(0, 7)) {
      expect(await keysUnder(storage, `${runFolder('shop', run.runId)}/`)).toEqual([]);
      expect((await catalog.get('shop', run.runId))?.prunedAt).toBe(NOW.toISOString());
    }
    for (const run of shop.slice(-3)) {
      expect(await keysUnder(storage, `${runFolder('shop', run.runId)}/`)).toEqual(folderKeys(run));
      expect(await catalog.get('shop', run.runId)).toEqual(run);
    }
    // The failed run is no backup: retention neither counts nor deletes it.
    expect(await keysUnder(storage, `${runFolder('shop', failed.runId)}/`)).toHaveLength(DATA_OBJECTS.length);
    expect(await catalog.get('shop', failed.runId)).toEqual(failed);
    expect(await keysUnder(storage, 'shop-eu/')).toEqual(otherKeysBefore);
    expect(await catalog.list({ job: 'shop-eu' })).toEqual(otherRecordsBefore);
    expect(otherKeysBefore).toHaveLength(other.length * 3);
  });

  it('deletes the manifest of a run first, then its data, and touches nothing outside the pruned folders', async () => {
    const { shop } = await seedHistory();
    const watched = new FaultyStorageBackend(storage);

    await applyRetention({ storage: watched, catalog }, { job: 'shop', keep: { last: 8 }, now: NOW });

    const deletes = watched.calls.filter((call) => call.method === 'delete').map((call) => call.key);
    const prunedFolders = shop.slice(0, 2).map((run) => `${runFolder('shop', run.runId)}/`);
    expect(deletes.every((key) => prunedFolders.some((folder) => key.startsWith(folder)))).toBe(true);
    for (const run of shop.slice(0, 2)) {
      const own = deletes.filter((key) => key.startsWith(runFolder('shop', run.runId)));
      expect(own[0]).toBe(manifestKey('shop', run.runId));
      expect([...own].sort()).toEqual(folderKeys(run));
    }
  });

  it('a run whose delete storage refuses is reported, stays unmarked and listed; the next application finishes it; then nothing happens', async () => {
    const { shop } = await seedHistory();
    const locked = shop[2]!;
    const faulty = new FaultyStorageBackend(storage).failDeleteOfKey((key) => key.startsWith(`${runFolder('shop', locked.runId)}/`), {
      error: (key) => new StorageError(`deleting ${key} failed: AccessDenied (object locked until 2027-01-01)`, false),
    });

    const first = await applyRetention({ storage: faulty, catalog }, { job: 'shop', keep: { last: 3 }, now: NOW });
    expect(first.pruned).toEqual(newestFirst(shop.slice(0, 7)).filter((id) => id !== locked.runId));
    expect(first.failed).toEqual([{ runId: locked.runId, error: expect.stringContaining('object locked') }]);
    expect(await keysUnder(storage, `${runFolder('shop', locked.runId)}/`)).toEqual(folderKeys(locked));
    expect(await catalog.get('shop', locked.runId)).toEqual(locked);
    const unpruned = (await catalog.list({ job: 'shop', kind: 'backup', status: 'succeeded' })).filter((run) => !run.prunedAt);
    expect(unpruned.map((run) => run.runId)).toContain(locked.runId);

    // Still locked: the same report, and the runs already pruned are not visited again.
    const callsBefore = faulty.calls.length;
    const second = await applyRetention({ storage: faulty, catalog }, { job: 'shop', keep: { last: 3 }, now: NOW });
    expect(second).toEqual({ kept: newestFirst(shop.slice(-3)), pruned: [], failed: first.failed });
    expect(faulty.calls.slice(callsBefore).filter(notPackSweep).every((call) => call.key.startsWith(runFolder('shop', locked.runId)))).toBe(true);

    faulty.heal();
    const later = new Date(NOW.getTime() + 60_000);
    const third = await applyRetention({ storage: faulty, catalog }, { job: 'shop', keep: { last: 3 }, now: later });
    expect(third).toEqual({ kept: newestFirst(shop.slice(-3)), pruned: [locked.runId], failed: [] });
    expect(await keysUnder(storage, `${runFolder('shop', locked.runId)}/`)).toEqual([]);
    expect((await catalog.get('shop', locked.runId))?.prunedAt).toBe(later.toISOString());

    const callsBeforeNoOp = faulty.calls.length;
    const catalogBefore = await catalog.list({ job: 'shop' });
    const fourth = await applyRetention({ storage: faulty, catalog }, { job: 'shop', keep: { last: 3 }, now: later });
    expect(fourth).toEqual({ kept: newestFirst(shop.slice(-3)), pruned: [], failed: [] });
    expect(faulty.calls.slice(callsBeforeNoOp).filter(notPackSweep)).toEqual([]);
    expect(await catalog.list({ job: 'shop' })).toEqual(catalogBefore);
  });

  it('a run whose data delete fails after its manifest went is no backup any more, and is finished on the next application', async () => {
    const { shop } = await seedHistory();
    const victim = shop[0]!;
    const faulty = new FaultyStorageBackend(storage).failDeleteOfKey((key) => key === `${runFolder('shop', victim.runId)}/${DATA_OBJECTS[0]}`, { times: 1 });

    const first = await applyRetention({ storage: faulty, catalog }, { job: 'shop', keep: { last: 9 }, now: NOW });
    expect(first.failed.map((f) => f.runId)).toEqual([victim.runId]);
    const left = await keysUnder(storage, `${runFolder('shop', victim.runId)}/`);
    expect(left).not.toContain(manifestKey('shop', victim.runId));
    expect(left).toContain(`${runFolder('shop', victim.runId)}/${DATA_OBJECTS[0]}`);
    expect((await catalog.get('shop', victim.runId))?.prunedAt).toBeUndefined();

    const second = await applyRetention({ storage: faulty, catalog }, { job: 'shop', keep: { last: 9 }, now: NOW });
    expect(second).toEqual({ kept: newestFirst(shop.slice(1)), pruned: [victim.runId], failed: [] });
    expect(await keysUnder(storage, `${runFolder('shop', victim.runId)}/`)).toEqual([]);
  });

  it('a record that cannot be marked is reported; the next application marks it and deletes nothing more', async () => {
    const { shop } = await seedHistory();
    const victim = shop[0]!;
    const realUpdate = catalog.update.bind(catalog);
    let refusals = 1;
    catalog.update = async (run) => {
      if (run.runId === victim.runId && refusals-- > 0) throw new Error('catalog unavailable');
      return realUpdate(run);
    };

    const first = await applyRetention({ storage, catalog }, { job: 'shop', keep: { last: 9 }, now: NOW });
    expect(first.failed).toEqual([{ runId: victim.runId, error: 'its objects were removed, but marking its record failed: catalog unavailable' }]);
    expect(await keysUnder(storage, `${runFolder('shop', victim.runId)}/`)).toEqual([]);

    const watched = new FaultyStorageBackend(storage);
    const second = await applyRetention({ storage: watched, catalog }, { job: 'shop', keep: { last: 9 }, now: NOW });
    expect(second.pruned).toEqual([victim.runId]);
    expect((await catalog.get('shop', victim.runId))?.prunedAt).toBe(NOW.toISOString());
    expect(watched.calls.filter(notPackSweep).map((call) => call.method)).toEqual(['delete', 'list']);
  });

  it('stops at once when its signal is aborted', async () => {
    await seedHistory();
    const watched = new FaultyStorageBackend(storage);
    await expect(applyRetention({ storage: watched, catalog }, { job: 'shop', keep: { last: 1 }, now: NOW, signal: AbortSignal.abort() })).rejects.toThrow();
    expect(watched.calls).toEqual([]);
  });

  it('an empty policy prunes nothing', async () => {
    const { shop } = await seedHistory();
    const watched = new FaultyStorageBackend(storage);
    const outcome = await applyRetention({ storage: watched, catalog }, { job: 'shop', keep: {}, now: NOW });
    expect(outcome).toEqual({ kept: newestFirst(shop), pruned: [], failed: [] });
    expect(watched.calls.filter(notPackSweep)).toEqual([]);
  });

  it('refuses a job name that is not one, before touching anything', async () => {
    await seedHistory();
    await expect(applyRetention({ storage, catalog }, { job: '', keep: { last: 1 }, now: NOW })).rejects.toThrow(/job name/);
    await expect(applyRetention({ storage, catalog }, { job: '../shop', keep: { last: 1 }, now: NOW })).rejects.toThrow(/job name/);
  });
});

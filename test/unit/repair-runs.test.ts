/**
 * Settling abandoned runs and sweeping what no live run owns, with an injected clock and host:
 * which runs count as abandoned (process gone on this host, past the timeout elsewhere), what
 * a settled run is recorded as, and which leftovers go. On a real file store and local catalog.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { StampedCatalog } from '../../core/adapters/catalog/stamped-catalog.js';
import { manifestKey, runFolder } from '../../core/domain/object-layout.js';
import type { Manifest } from '../../core/domain/manifest.js';
import type { RunRecord } from '../../core/domain/run.js';
import type { RunnerHost } from '../../core/ports/runner-host.js';
import { abandonment, settleAbandonedRuns } from '../../core/usecases/settle-runs.js';
import { sweepLeftovers } from '../../core/usecases/sweep-leftovers.js';
import { repairRuns } from '../../core/usecases/repair-runs.js';

const NOW = new Date('2026-12-06T12:00:00.000Z');
const HOUR = 3_600_000;
const now = () => NOW;
/** Run ids whose time is `hoursAgo` before NOW. */
const runIdAgo = (hoursAgo: number, suffix: string) => `${new Date(NOW.getTime() - hoursAgo * HOUR).toISOString().replace(/[-:]/g, '')}-${suffix}`;

/** This host runs pids 100 (this process) and 200; every other pid is gone. */
const host: RunnerHost = { hostname: 'laptop', pid: 100, isAlive: (pid) => pid === 100 || pid === 200 };

describe('settling abandoned runs', () => {
  let dir = '';
  let storage: FileStorageBackend;
  let catalog: LocalCatalog;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-repair-unit-'));
    storage = new FileStorageBackend(join(dir, 'store'));
    catalog = new LocalCatalog(join(dir, 'catalog'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const running = (runId: string, patch: Partial<RunRecord> = {}): RunRecord => ({
    runId,
    job: 'shop',
    kind: 'backup',
    status: 'running',
    startedAt: new Date(NOW.getTime() - 5 * 60_000).toISOString(),
    location: `${storage.location}/${runFolder('shop', runId)}`,
    ...patch,
  });

  it('judges a run of this host by its process, however old; a run of another host by its timeout plus 15 minutes', () => {
    const old = new Date(NOW.getTime() - 30 * HOUR).toISOString();
    expect(abandonment(running(runIdAgo(30, 'aaaaaa'), { startedAt: old, runner: { pid: 200, hostname: 'laptop' } }), host, NOW, 2 * HOUR)).toBeUndefined();
    expect(abandonment(running(runIdAgo(0, 'aaaaab'), { runner: { pid: 300, hostname: 'laptop' } }), host, NOW, 2 * HOUR)).toBe('its process (pid 300 on laptop) ended without recording its outcome');
    expect(abandonment(running(runIdAgo(0, 'aaaaac'), { runner: { pid: 100, hostname: 'laptop' } }), host, NOW, 2 * HOUR), 'our own pid: a dead predecessor').toMatch(/pid 100 on laptop/);
    const elsewhere = { runner: { pid: 7, hostname: 'ci-runner' } };
    expect(abandonment(running(runIdAgo(2, 'aaaaad'), { ...elsewhere, startedAt: new Date(NOW.getTime() - 2.2 * HOUR).toISOString() }), host, NOW, 2 * HOUR)).toBeUndefined();
    expect(abandonment(running(runIdAgo(3, 'aaaaae'), { ...elsewhere, startedAt: new Date(NOW.getTime() - 2.3 * HOUR).toISOString() }), host, NOW, 2 * HOUR)).toBe(
      'still running 138m after it started, past its timeout of 2h (its process ran on ci-runner, pid 7)',
    );
    expect(abandonment(running(runIdAgo(5, 'aaaaaf'), { ...elsewhere, timeoutMs: 6 * HOUR, startedAt: new Date(NOW.getTime() - 5 * HOUR).toISOString() }), host, NOW, 2 * HOUR), 'the record’s own timeout').toBeUndefined();
    expect(abandonment(running(runIdAgo(0, 'aaaab0'), { status: 'succeeded' }), host, NOW, 2 * HOUR)).toBeUndefined();
  });

  it('records a dead run failed with the reason, releases its lock, leaves live runs and runs of other locations alone', async () => {
    const dead = running(runIdAgo(0, 'dead01'), { runner: { pid: 300, hostname: 'laptop' } });
    const live = running(runIdAgo(0, 'a1ee01'), { runner: { pid: 200, hostname: 'laptop' } });
    const stuck = running(runIdAgo(3, '57cc01'), { kind: 'verify', status: 'pending', startedAt: new Date(NOW.getTime() - 3 * HOUR).toISOString() });
    const elsewhere = running(runIdAgo(0, '0e0001'), { runner: { pid: 300, hostname: 'laptop' }, location: 's3://elsewhere/b/shop/x' });
    for (const run of [dead, live, stuck, elsewhere]) await catalog.create(run);
    expect(await catalog.acquireLock('shop', dead.runId, HOUR)).toBe(true);

    const settled = await settleAbandonedRuns({ catalog, storage, host, now });
    expect(settled.map((s) => `${s.runId} ${s.status}`).sort()).toEqual([`${dead.runId} failed`, `${stuck.runId} failed`].sort());
    expect(await catalog.get('shop', dead.runId)).toMatchObject({
      status: 'failed',
      finishedAt: NOW.toISOString(),
      durationMs: 5 * 60_000,
      error: { kind: 'abandoned', message: 'abandoned: its process (pid 300 on laptop) ended without recording its outcome' },
    });
    expect(await catalog.get('shop', stuck.runId)).toMatchObject({ status: 'failed', error: { message: 'abandoned: still pending 3h after it started, past its timeout of 2h' } });
    expect(await catalog.get('shop', live.runId)).toMatchObject({ status: 'running' });
    expect(await catalog.get('shop', elsewhere.runId)).toMatchObject({ status: 'running' });
    expect(await catalog.acquireLock('shop', 'next-run', HOUR), 'the dead run’s lock was released').toBe(true);
    expect(await settleAbandonedRuns({ catalog, storage, host, now }), 'idempotent').toEqual([]);
  });

  it('records a dead backup whose manifest was committed as succeeded, from the manifest', async () => {
    const run = running(runIdAgo(0, 'c0aa17'), { runner: { pid: 300, hostname: 'laptop' } });
    await catalog.create(run);
    const data = Buffer.from('encrypted bytes');
    await storage.put(`${runFolder('shop', run.runId)}/data.pgdump.zst.age`, Readable.from([data]));
    const manifest: Manifest = {
      schema: 'vaultra.manifest/v1',
      runId: run.runId,
      job: 'shop',
      startedAt: run.startedAt,
      finishedAt: NOW.toISOString(),
      source: { engine: 'postgres', database: 'shop', serverVersion: '15.8' },
      dump: { tool: 'pg_dump', toolVersion: '15.8', format: 'pg_dump-custom', consistency: 'snapshot' },
      compression: { id: 'zstd', level: 3, implementation: 'zstd' },
      encryption: { format: 'age-v1', recipients: [{ type: 'x25519', recipient: 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40' }] },
      plaintextBytes: 99,
      objects: [{ name: 'data.pgdump.zst.age', role: 'data', sizeBytes: data.length, sha256: 'a'.repeat(64) }],
      contents: [],
      vaultraVersion: '0.0.0-test',
    };
    await storage.put(manifestKey('shop', run.runId), Readable.from([JSON.stringify(manifest)]));
    const [settled] = await settleAbandonedRuns({ catalog, storage, host, now });
    expect(settled).toMatchObject({ status: 'succeeded', reason: 'its process (pid 300 on laptop) ended without recording its outcome, after its manifest was written: recorded from the manifest' });
    expect(await catalog.get('shop', run.runId)).toMatchObject({ status: 'succeeded', bytesRaw: 99, bytesStored: data.length, manifestKey: manifestKey('shop', run.runId) });
  });

  it('a catalog stamped with this host records the runner of every run it records as running', async () => {
    const stamped = new StampedCatalog(catalog, host);
    await stamped.create(running(runIdAgo(0, '5a0001'), { kind: 'verify' }));
    await stamped.update({ ...running(runIdAgo(0, '5a0001'), { kind: 'verify' }), status: 'failed' });
    await stamped.create(running(runIdAgo(0, '5a0002'), { runner: { pid: 9, hostname: 'other' } }));
    expect((await catalog.get('shop', runIdAgo(0, '5a0001')))?.runner).toBeUndefined();
    await stamped.create(running(runIdAgo(0, '5a0003')));
    expect((await catalog.get('shop', runIdAgo(0, '5a0003')))?.runner).toEqual({ pid: 100, hostname: 'laptop' });
    expect((await catalog.get('shop', runIdAgo(0, '5a0002')))?.runner).toEqual({ pid: 9, hostname: 'other' });
  });

  describe('sweeping', () => {
    const put = (key: string, text = 'x') => storage.put(key, Readable.from([text]));
    /** A temp file as a killed write leaves it. */
    const strand = async (key: string) => {
      const path = join(storage.rootDir, ...key.split('/'));
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(`${path}.vaultra-tmp-0badf00d`, Buffer.alloc(1024));
    };

    it('removes what failed, skipped and unknown old runs left; keeps live runs’, unknown recent runs’ and every committed or succeeded run’s', async () => {
      const failed = running(runIdAgo(1, 'fa1101'), { status: 'failed' });
      const live = running(runIdAgo(1, 'a1ee02'), { runner: { pid: 200, hostname: 'laptop' } });
      const done = running(runIdAgo(1, 'd0e003'), { status: 'succeeded' });
      for (const run of [failed, live, done]) await catalog.create(run);
      const unknownOld = runIdAgo(3, '00c004');
      const unknownNew = runIdAgo(1, '00c005');
      await strand(`${runFolder('shop', failed.runId)}/data.pgdump.zst.age`);
      await put(`${runFolder('shop', failed.runId)}/data.pgdump.zst.age`);
      await strand(`${runFolder('shop', live.runId)}/data.pgdump.zst.age`);
      await put(`${runFolder('shop', done.runId)}/data.pgdump.zst.age`);
      await strand(`${runFolder('shop', unknownOld)}/data.pgdump.zst.age`);
      await strand(`${runFolder('shop', unknownNew)}/data.pgdump.zst.age`);
      await mkdir(join(storage.rootDir, 'shop', '2026', '11', '30'), { recursive: true });
      await mkdir(join(storage.rootDir, '.vaultra', 'empty'), { recursive: true });

      const report = await sweepLeftovers({ storage, catalog, now });
      expect(report.failed).toEqual([]);
      expect(report.removed.map((item) => `${item.kind} ${item.key}`).sort()).toEqual(
        [
          `object ${runFolder('shop', failed.runId)}/data.pgdump.zst.age`,
          `temp-file ${runFolder('shop', failed.runId)}/data.pgdump.zst.age`,
          `temp-file ${runFolder('shop', unknownOld)}/data.pgdump.zst.age`,
          'empty-folder shop/2026/11',
          'empty-folder shop/2026/11/30',
        ].sort(),
      );
      const remaining: string[] = [];
      for await (const leftover of storage.listLeftovers('')) remaining.push(`${leftover.kind} ${leftover.key}`);
      expect(remaining.sort()).toEqual([`temp-file ${runFolder('shop', live.runId)}/data.pgdump.zst.age`, `temp-file ${runFolder('shop', unknownNew)}/data.pgdump.zst.age`].sort());
      expect(await readdir(join(storage.rootDir, 'shop', ...runFolder('shop', done.runId).split('/').slice(1)))).toEqual(['data.pgdump.zst.age']);
      expect(await readdir(join(storage.rootDir, '.vaultra')), 'the catalog folder is never swept').toEqual(['empty']);
    });

    it('repairRuns settles first, so a dead run’s temp file goes in the same pass; only the job asked for', async () => {
      const dead = running(runIdAgo(0, 'dead02'), { runner: { pid: 300, hostname: 'laptop' } });
      const otherJob = running(runIdAgo(0, 'dead03'), { job: 'billing', runner: { pid: 300, hostname: 'laptop' }, location: `${storage.location}/${runFolder('billing', runIdAgo(0, 'dead03'))}` });
      await catalog.create(dead);
      await catalog.create(otherJob);
      await strand(`${runFolder('shop', dead.runId)}/data.pgdump.zst.age`);
      await strand(`${runFolder('billing', otherJob.runId)}/data.pgdump.zst.age`);
      const report = await repairRuns({ catalog, storage, host, now }, { job: 'shop' });
      expect(report.settled.map((s) => s.runId)).toEqual([dead.runId]);
      expect(report.removed.map((item) => item.kind)).toEqual(['temp-file']);
      expect(await readdir(storage.rootDir)).toEqual(['billing']);
      expect(await catalog.get('billing', otherJob.runId)).toMatchObject({ status: 'running' });
    });
  });
});

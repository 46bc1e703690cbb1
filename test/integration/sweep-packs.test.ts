/**
 * The pack sweep (core/usecases/sweep-packs.ts) and retention's use of it, on file:// storage and
 * the local catalog, with hand-made chunked snapshots (test/support/chunked-fixtures.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { localHost } from '../../core/adapters/process/local-host.js';
import { manifestKey, runFolder, sharedFolder } from '../../core/domain/object-layout.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { StorageError } from '../../core/errors.js';
import { applyRetention } from '../../core/usecases/apply-retention.js';
import { lockRefusal, sweepPacks } from '../../core/usecases/sweep-packs.js';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { S3StorageBackend } from '../../core/adapters/storage/s3/s3-storage.js';
import { FaultyStorageBackend } from '../fakes/faulty-storage.js';
import { requireMoto } from '../support/requirements.js';
import { newPackName, writeChunkedRun } from '../support/chunked-fixtures.js';

const DAY = 86_400_000;
const NOW = new Date('2026-11-22T08:00:00Z');
const JOB = 'shop';

describe('sweepPacks', () => {
  let dir: string;
  let storage: FileStorageBackend;
  let catalog: LocalCatalog;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-sweep-'));
    storage = new FileStorageBackend(join(dir, 'store'));
    catalog = new LocalCatalog(join(dir, 'catalog'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const pack = (size = 1000): Buffer => randomBytes(size);

  async function packsStored(): Promise<string[]> {
    const names: string[] = [];
    for await (const object of storage.list(`${sharedFolder(JOB)}/`)) names.push(object.key.slice(`${sharedFolder(JOB)}/`.length));
    return names.sort();
  }

  /** Three runs a day apart: A, B (A's packs plus one), C (B's second pack plus one); and an orphan nobody lists. */
  async function seedRepository() {
    const [a1, a2, b1, c1, orphan] = [newPackName(), newPackName(), newPackName(), newPackName(), newPackName()];
    const bytes = { [a1]: pack(100), [a2]: pack(200), [b1]: pack(300), [c1]: pack(400), [orphan]: pack(500) };
    const runA = await writeChunkedRun(storage, JOB, { [a1]: bytes[a1]!, [a2]: bytes[a2]! }, new Date(NOW.getTime() - 3 * DAY));
    const runB = await writeChunkedRun(storage, JOB, { [a2]: bytes[a2]!, [b1]: bytes[b1]! }, new Date(NOW.getTime() - 2 * DAY), { type: 'incremental', baseRunId: runA.runId });
    const runC = await writeChunkedRun(storage, JOB, { [b1]: bytes[b1]!, [c1]: bytes[c1]! }, new Date(NOW.getTime() - 1 * DAY), { type: 'incremental', baseRunId: runB.runId });
    await storage.put(`${sharedFolder(JOB)}/${orphan}`, Readable.from([bytes[orphan]!]));
    return { packs: { a1, a2, b1, c1, orphan }, runs: [runA, runB, runC] };
  }

  /** A catalog record of a backup of `JOB`, as the runner leaves one. */
  async function record(status: RunRecord['status'], startedAt: Date, fields: Partial<RunRecord> = {}): Promise<RunRecord> {
    const runId = newRunId(startedAt);
    const run: RunRecord = { runId, job: JOB, kind: 'backup', status, startedAt: startedAt.toISOString(), location: `${storage.location}/${runFolder(JOB, runId)}`, ...fields };
    await catalog.create(run);
    return run;
  }

  it('deletes the packs no manifest lists, and keeps every pack a manifest lists', async () => {
    const { packs } = await seedRepository();

    const report = await sweepPacks({ storage, catalog }, { job: JOB, now: NOW });

    expect(report).toEqual({ job: JOB, stored: 5, referenced: 4, deleted: { count: 1, bytes: 500, names: [packs.orphan] }, keptLocked: [], failed: [] });
    expect(await packsStored()).toEqual([packs.a1, packs.a2, packs.b1, packs.c1].sort());
    // Idempotent: the second sweep finds nothing to do.
    expect((await sweepPacks({ storage, catalog }, { job: JOB, now: NOW })).deleted.count).toBe(0);
  });

  it('reads no manifest when the job has no packs', async () => {
    await storage.put(manifestKey(JOB, newRunId(NOW)), Readable.from([Buffer.from('not a manifest')]));
    const watched = new FaultyStorageBackend(storage);

    const report = await sweepPacks({ storage: watched, catalog }, { job: JOB, now: NOW });

    expect(report).toEqual({ job: JOB, stored: 0, referenced: 0, deleted: { count: 0, bytes: 0, names: [] }, keptLocked: [], failed: [] });
    expect(watched.calls.filter((call) => call.method === 'get')).toEqual([]);
  });

  it('deletes nothing while a manifest cannot be read, and names it', async () => {
    const { packs } = await seedRepository();
    const damaged = manifestKey(JOB, newRunId(new Date(NOW.getTime() - DAY / 2)));
    await storage.put(damaged, Readable.from([Buffer.from('{"schema": "vaultra.manifest/v3", "truncat')]));

    const report = await sweepPacks({ storage, catalog }, { job: JOB, now: NOW });

    expect(report.deleted.count).toBe(0);
    expect(report.skipped).toContain(damaged);
    expect(await packsStored()).toContain(packs.orphan);
  });

  it('deletes nothing while a backup of the job is running, and sweeps once it is abandoned', async () => {
    const { packs } = await seedRepository();
    const host = localHost();
    // A live process on this host (our parent) is "running" it: never abandoned, however long it takes.
    const live = await record('running', new Date(NOW.getTime() - 60_000), { runner: { hostname: host.hostname, pid: process.ppid } });

    const held = await sweepPacks({ storage, catalog, host }, { job: JOB, now: NOW });
    expect(held.skipped).toContain(`backup ${live.runId} of ${JOB} is running`);
    expect(held.deleted.count).toBe(0);

    // Another host's run, started a day ago with a 2 h timeout: abandoned by repair's rules.
    await catalog.update({ ...live, status: 'failed', finishedAt: NOW.toISOString() });
    await record('pending', new Date(NOW.getTime() - DAY), { runner: { hostname: 'elsewhere', pid: 4242 }, timeoutMs: 2 * 3_600_000 });
    const swept = await sweepPacks({ storage, catalog, host }, { job: JOB, now: NOW });
    expect(swept.skipped).toBeUndefined();
    expect(swept.deleted.names).toEqual([packs.orphan]);
  });

  it('deletes nothing when a backup committed while the sweep listed (recorded succeeded, manifest not seen)', async () => {
    await seedRepository();
    const late = await record('succeeded', new Date(NOW.getTime() - 30 * 60_000), { finishedAt: new Date(NOW.getTime() + 1_000).toISOString(), manifestKey: 'x' });

    const report = await sweepPacks({ storage, catalog }, { job: JOB, now: NOW });

    expect(report.skipped).toContain(`backup ${late.runId}`);
    expect(report.deleted.count).toBe(0);
  });

  it('ignores runs of other jobs, and is held back by a running backup of the job recorded at another location (it may write here too)', async () => {
    const { packs } = await seedRepository();
    await catalog.create({ runId: newRunId(NOW), job: 'shop-eu', kind: 'backup', status: 'running', startedAt: NOW.toISOString() });
    const swept = await sweepPacks({ storage, catalog, host: localHost() }, { job: JOB, now: NOW });
    expect(swept.deleted.names).toEqual([packs.orphan]);

    const elsewhere = await record('running', NOW, { location: 's3://elsewhere/vaultra', runner: { hostname: localHost().hostname, pid: process.ppid } });
    const held = await sweepPacks({ storage, catalog, host: localHost() }, { job: JOB, now: NOW });
    expect(held.skipped).toContain(`backup ${elsewhere.runId} of ${JOB} is running`);
  });

  it('reports a pack the store keeps locked as kept, with the date it may go, and other refusals as failed', async () => {
    const { packs } = await seedRepository();
    const extra = newPackName();
    await storage.put(`${sharedFolder(JOB)}/${extra}`, Readable.from([pack(10)]));
    // The words the S3 adapter uses for an Object Lock refusal (s3-storage.ts lockedError).
    const faulty = new FaultyStorageBackend(storage)
      .failDeleteOfKey((key) => key.endsWith(packs.orphan), { error: (key) => new StorageError(`deleting ${key} refused: it is under Object Lock retention (COMPLIANCE) until 2027-01-01T00:00:00.000Z`, false) })
      .failDeleteOfKey((key) => key.endsWith(extra), { error: (key) => new StorageError(`deleting ${key} failed: connection reset`, true) });

    const report = await sweepPacks({ storage: faulty, catalog }, { job: JOB, now: NOW });

    expect(report.keptLocked).toEqual([{ name: packs.orphan, until: '2027-01-01T00:00:00.000Z' }]);
    expect(report.failed).toEqual([{ name: extra, error: expect.stringContaining('connection reset') }]);
    expect(report.deleted.count).toBe(0);
  });

  it('recognises the lock refusals of every storage adapter', () => {
    expect(lockRefusal(new StorageError('deleting a failed: the object is under a retention period or hold (403)', false))).toEqual({});
    expect(lockRefusal(new StorageError('deleting a from azblob://x: the object is under an immutability policy or legal hold', false))).toEqual({});
    expect(lockRefusal(new StorageError('deleting a failed: AccessDenied', false))).toBeUndefined();
    expect(lockRefusal(new Error('under Object Lock retention'))).toBeUndefined();
  });
});

describe('applyRetention sweeps the packs of the runs it prunes', () => {
  let dir: string;
  let storage: FileStorageBackend;
  let catalog: LocalCatalog;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-retention-packs-'));
    storage = new FileStorageBackend(join(dir, 'store'));
    catalog = new LocalCatalog(join(dir, 'catalog'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prunes the oldest of three snapshots: only the packs no kept manifest lists are deleted', async () => {
    const [onlyOldest, shared12, shared123, onlyMiddle, onlyNewest] = [newPackName(), newPackName(), newPackName(), newPackName(), newPackName()];
    const bytes = Object.fromEntries([onlyOldest, shared12, shared123, onlyMiddle, onlyNewest].map((name, i) => [name, randomBytes(100 * (i + 1))]));
    const pick = (...names: string[]) => Object.fromEntries(names.map((name) => [name, bytes[name]!]));
    const runs = [
      await writeChunkedRun(storage, JOB, pick(onlyOldest, shared12, shared123), new Date(NOW.getTime() - 3 * DAY)),
      await writeChunkedRun(storage, JOB, pick(shared12, shared123, onlyMiddle), new Date(NOW.getTime() - 2 * DAY)),
      await writeChunkedRun(storage, JOB, pick(shared123, onlyNewest), new Date(NOW.getTime() - DAY)),
    ];
    for (const { runId, manifestKey: key } of runs) {
      const startedAt = new Date(Date.parse(runId.slice(0, 4) + '-' + runId.slice(4, 6) + '-' + runId.slice(6, 8) + 'T' + runId.slice(9, 11) + ':' + runId.slice(11, 13) + ':' + runId.slice(13, 19) + 'Z'));
      await catalog.create({ runId, job: JOB, kind: 'backup', status: 'succeeded', startedAt: startedAt.toISOString(), finishedAt: startedAt.toISOString(), location: `${storage.location}/${runFolder(JOB, runId)}`, manifestKey: key });
    }

    const outcome = await applyRetention({ storage, catalog }, { job: JOB, keep: { last: 2 }, now: NOW });

    expect(outcome.pruned).toEqual([runs[0]!.runId]);
    expect(outcome.packs).toEqual({ job: JOB, stored: 5, referenced: 4, deleted: { count: 1, bytes: 100, names: [onlyOldest] }, keptLocked: [], failed: [] });
    const left: string[] = [];
    for await (const object of storage.list(`${sharedFolder(JOB)}/`)) left.push(object.key.slice(`${sharedFolder(JOB)}/`.length));
    expect(left.sort()).toEqual([shared12, shared123, onlyMiddle, onlyNewest].sort());
  });
});

describe('sweepPacks on S3 with Object Lock (moto)', () => {
  const moto = requireMoto();
  if (!moto) return;

  it('keeps a locked orphan pack and reports until when it is locked', async () => {
    const credentials = { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! };
    const admin = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials });
    const bucket = `vt-sweep-${process.pid}-${Date.now().toString(36)}`;
    await admin.send(new CreateBucketCommand({ Bucket: bucket, ObjectLockEnabledForBucket: true }));
    admin.destroy();
    const storage = S3StorageBackend.fromUrl(`s3://${bucket}/vaultra?endpoint=${encodeURIComponent(moto.endpoint)}&retentionDays=1&objectLockMode=GOVERNANCE`, { credentials, env: {} });
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-sweep-s3-'));
    try {
      const catalog = new LocalCatalog(join(dir, 'catalog'));
      const [kept, orphan] = [newPackName(true), newPackName(true)];
      await writeChunkedRun(storage, JOB, { [kept]: randomBytes(100) }, new Date(NOW.getTime() - DAY));
      await storage.put(`${sharedFolder(JOB)}/${orphan}`, Readable.from([randomBytes(50)]));

      const report = await sweepPacks({ storage, catalog }, { job: JOB, now: NOW });

      expect(report).toMatchObject({ stored: 2, referenced: 1, deleted: { count: 0 }, failed: [] });
      expect(report.keptLocked).toEqual([{ name: orphan, until: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T/) }]);
      const left: string[] = [];
      for await (const object of storage.list(`${sharedFolder(JOB)}/`)) left.push(object.key);
      expect(left.sort()).toEqual([`${sharedFolder(JOB)}/${kept}`, `${sharedFolder(JOB)}/${orphan}`].sort());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

import { describe, expect, it } from 'vitest';
import type { Catalog } from '../../core/ports/catalog.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { AbortedError, RunConflictError } from '../../core/errors.js';

function run(job: string, at: string, overrides: Partial<RunRecord> = {}): RunRecord {
  return { runId: newRunId(new Date(at)), job, kind: 'backup', status: 'running', startedAt: new Date(at).toISOString(), ...overrides };
}

/** What every Catalog must do; each adapter's test calls this with a fresh, empty catalog. */
export function catalogContract(name: string, fresh: () => Promise<Catalog>): void {
  describe(`${name} (Catalog contract)`, () => {
    it('creates a run once: a second create of the same id is a RunConflictError', async () => {
      const catalog = await fresh();
      const record = run('shop', '2026-11-01T00:00:00Z');
      await catalog.create(record);
      await expect(catalog.create(record)).rejects.toBeInstanceOf(RunConflictError);
      await expect(Promise.allSettled([catalog.create(run('shop', '2026-11-02T00:00:00Z', { runId: '20261102T000000.000Z-aaaaaa' })), catalog.create(run('shop', '2026-11-02T00:00:00Z', { runId: '20261102T000000.000Z-aaaaaa' }))])).resolves.toSatisfy(
        (results: PromiseSettledResult<void>[]) => results.filter((r) => r.status === 'fulfilled').length === 1,
      );
    });

    it('updates a run and reads it back', async () => {
      const catalog = await fresh();
      const record = run('shop', '2026-11-01T00:00:00Z');
      await catalog.create(record);
      const done: RunRecord = { ...record, status: 'failed', error: { kind: 'dump', message: 'pg_dump failed' } };
      await catalog.update(done);
      expect(await catalog.get('shop', record.runId)).toEqual(done);
      expect(await catalog.get('shop', '20200101T000000.000Z-000000')).toBeUndefined();
    });

    it('keeps what settling abandoned runs needs: the runner process, the timeout, and what a failed run left behind', async () => {
      const catalog = await fresh();
      const record = run('shop', '2026-11-01T00:00:00Z', { runner: { pid: 4242, hostname: 'runner-7' }, timeoutMs: 7_200_000 });
      await catalog.create(record);
      expect(await catalog.get('shop', record.runId)).toEqual(record);
      expect((await catalog.list({ job: 'shop', status: 'running' })).map((r) => r.runId)).toEqual([record.runId]);
      const failed: RunRecord = {
        ...record,
        status: 'failed',
        error: { kind: 'storage', message: 'uploading part 1 failed; left behind: multipart upload abc' },
        leftBehind: [{ kind: 'multipart-upload', location: 's3://b/p/shop/data', id: 'abc', cleanup: "the next backup of this job or 'vaultra catalog repair' aborts it" }],
      };
      await catalog.update(failed);
      expect(await catalog.get('shop', record.runId)).toEqual(failed);
      expect(await catalog.list({ job: 'shop', status: 'running' })).toEqual([]);
    });

    it("keeps a run's timings per phase, names with spaces and commas included, in the order they ran", async () => {
      const catalog = await fresh();
      const record = run('shop', '2026-11-01T00:00:00Z');
      await catalog.create(record);
      const phasesMs = { 'resolve secrets': 0, 'open tools': 38, claim: 4, 'start dump': 31, 'dump, compress, encrypt, upload': 812_345, manifest: 8, sign: 2, commit: 90 };
      const done: RunRecord = { ...record, status: 'succeeded', durationMs: 812_500, phasesMs };
      await catalog.update(done);
      const read = await catalog.get('shop', record.runId);
      expect(read).toEqual(done);
      expect(Object.keys(read!.phasesMs!)).toEqual(Object.keys(phasesMs));
      expect((await catalog.list({ job: 'shop' }))[0]?.phasesMs).toEqual(phasesMs);
    });

    it('lists newest first, by job, status and kind', async () => {
      const catalog = await fresh();
      const old = run('shop', '2026-11-01T00:00:00Z', { status: 'succeeded' });
      const recent = run('shop', '2026-11-03T00:00:00Z', { status: 'failed' });
      const middle = run('shop', '2026-11-02T00:00:00Z', { status: 'succeeded' });
      const other = run('crm', '2026-11-04T00:00:00Z', { status: 'succeeded' });
      const verify = run('shop', '2026-11-05T00:00:00Z', { status: 'succeeded', kind: 'verify' });
      for (const r of [old, recent, middle, other, verify]) await catalog.create(r);

      expect((await catalog.list()).map((r) => r.runId)).toEqual([verify, other, recent, middle, old].map((r) => r.runId));
      expect((await catalog.list({ job: 'shop', status: 'succeeded', kind: 'backup' })).map((r) => r.runId)).toEqual([middle.runId, old.runId]);
      expect((await catalog.list({ job: 'shop', limit: 1 })).map((r) => r.runId)).toEqual([verify.runId]);
      expect(await catalog.list({ job: 'nobody' })).toEqual([]);
    });

    it('lists a job\'s runs by time: since (inclusive) and until (exclusive)', async () => {
      const catalog = await fresh();
      const days = ['2026-11-01', '2026-11-02', '2026-11-03', '2026-11-04'].map((day) => run('shop', `${day}T12:00:00Z`, { status: 'succeeded' }));
      for (const r of days) await catalog.create(r);
      await catalog.create(run('crm', '2026-11-02T12:00:00Z'));
      const between = await catalog.list({ job: 'shop', since: '2026-11-02T12:00:00.000Z', until: '2026-11-04T00:00:00Z' });
      expect(between.map((r) => r.runId)).toEqual([days[2]!.runId, days[1]!.runId]);
    });

    it('finds the latest successful backup of a job, ignoring failures, other kinds and other jobs', async () => {
      const catalog = await fresh();
      expect(await catalog.latestSuccessful('shop')).toBeUndefined();
      const good = run('shop', '2026-11-01T00:00:00Z', { status: 'succeeded' });
      const newerFailed = run('shop', '2026-11-02T00:00:00Z', { status: 'failed' });
      const newerVerify = run('shop', '2026-11-03T00:00:00Z', { status: 'succeeded', kind: 'verify' });
      const otherJob = run('crm', '2026-11-04T00:00:00Z', { status: 'succeeded' });
      for (const r of [good, newerFailed, newerVerify, otherJob]) await catalog.create(r);
      expect((await catalog.latestSuccessful('shop'))?.runId).toBe(good.runId);
      const newest = { ...newerFailed, status: 'succeeded' as const };
      await catalog.update(newest);
      expect((await catalog.latestSuccessful('shop'))?.runId).toBe(newest.runId);
    });

    it('a job lock: one holder at a time, re-entrant for its owner, released only by its owner, taken over when expired', async () => {
      const catalog = await fresh();
      expect(await catalog.acquireLock('shop', 'run-a', 60_000)).toBe(true);
      expect(await catalog.acquireLock('shop', 'run-b', 60_000)).toBe(false);
      expect(await catalog.acquireLock('crm', 'run-b', 60_000)).toBe(true);
      expect(await catalog.acquireLock('shop', 'run-a', 60_000)).toBe(true);
      await catalog.releaseLock('shop', 'run-b');
      expect(await catalog.acquireLock('shop', 'run-b', 60_000)).toBe(false);
      await catalog.releaseLock('shop', 'run-a');
      await catalog.releaseLock('shop', 'run-a');
      expect(await catalog.acquireLock('shop', 'run-b', 1)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1100));
      // run-b crashed without releasing: its lock expired, so the next run takes over.
      expect(await catalog.acquireLock('shop', 'run-c', 60_000)).toBe(true);
      await catalog.releaseLock('shop', 'run-b');
      expect(await catalog.acquireLock('shop', 'run-d', 60_000)).toBe(false);
    });

    it('of concurrent lock takers exactly one wins', async () => {
      const catalog = await fresh();
      const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((owner) => catalog.acquireLock('shop', `run-${owner}`, 60_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('a call whose signal has already aborted rejects with AbortedError and writes nothing', async () => {
      const catalog = await fresh();
      const kept = run('shop', '2026-11-01T00:00:00Z');
      await catalog.create(kept);
      const aborted = AbortSignal.abort(new Error('cancelled by the test'));
      const signal = { signal: aborted };
      const unwritten = run('shop', '2026-11-02T00:00:00Z');

      await expect(catalog.create(unwritten, signal)).rejects.toBeInstanceOf(AbortedError);
      await expect(catalog.update({ ...kept, status: 'failed' }, signal)).rejects.toBeInstanceOf(AbortedError);
      await expect(catalog.get('shop', kept.runId, signal)).rejects.toBeInstanceOf(AbortedError);
      await expect(catalog.list({ job: 'shop' }, signal)).rejects.toBeInstanceOf(AbortedError);
      await expect(catalog.latestSuccessful('shop', signal)).rejects.toBeInstanceOf(AbortedError);
      await expect(catalog.acquireLock('shop', 'run-a', 60_000, signal)).rejects.toBeInstanceOf(AbortedError);

      expect(await catalog.get('shop', unwritten.runId)).toBeUndefined();
      expect(await catalog.get('shop', kept.runId)).toEqual(kept);
      // The aborted acquire took nothing: another owner gets the lock, and an aborted release leaves it held.
      expect(await catalog.acquireLock('shop', 'run-b', 60_000)).toBe(true);
      await expect(catalog.releaseLock('shop', 'run-b', signal)).rejects.toBeInstanceOf(AbortedError);
      expect(await catalog.acquireLock('shop', 'run-c', 60_000)).toBe(false);
    });
  });
}

/** The drill's judgements, without a server: contents entries against what a restore holds, user checks, and the RTO trend. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumChecks, contentChecks, userChecks } from '../../core/usecases/drill-checks.js';
import { encodeTableChecksums, tableChecksumsOf } from '../../core/domain/table-checksums.js';
import { drillTrends } from '../../core/usecases/drill-history.js';
import type { RestoredProbe } from '../../core/ports/scratch-target.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { drillConfigSchema } from '../../core/config/drill-config.js';

describe('contentChecks', () => {
  it('passes exact counts that match, fails those that do not, and shows estimates beside the count', () => {
    const checks = contentChecks(
      [
        { kind: 'table', schema: 'public', name: 'orders', rows: 10, rowsExact: true },
        { kind: 'table', schema: 'public', name: 'items', rows: 10, rowsExact: true },
        { kind: 'table', schema: 'public', name: 'events', rows: 1_000_000, rowsExact: false },
        { kind: 'view', schema: 'public', name: 'report' },
        { kind: 'table', schema: 'public', name: 'gone', rows: 3, rowsExact: true },
        { kind: 'directory', name: 'images', files: 2, bytes: 300 },
      ],
      [{ rows: 10 }, { rows: 9 }, { rows: 998_123 }, {}, undefined, { files: 2, bytes: 299 }],
    );
    expect(checks).toEqual([
      { kind: 'contents', name: 'table public.orders', passed: true, detail: '10 rows, as recorded' },
      { kind: 'contents', name: 'table public.items', passed: false, detail: '9 rows restored; the backup counted 10' },
      { kind: 'contents', name: 'table public.events', passed: true, detail: '998123 rows (the backup estimated 1000000)' },
      { kind: 'contents', name: 'view public.report', passed: true, detail: 'present' },
      { kind: 'contents', name: 'table public.gone', passed: false, detail: 'missing from the restore: the backup lists it' },
      { kind: 'contents', name: 'directory images', passed: false, detail: '2 file(s), 299 bytes restored; the backup recorded 2 file(s), 300 bytes' },
    ]);
  });
});

describe('contentChecks of materialized views', () => {
  it('passes a view whose rows the restore recomputed, saying what the source held', () => {
    const checks = contentChecks(
      [
        { kind: 'materialized-view', schema: 'public', name: 'stale', rows: 2, rowsExact: true },
        { kind: 'materialized-view', schema: 'public', name: 'fresh', rows: 5, rowsExact: true },
      ],
      [{ rows: 3 }, { rows: 5 }],
    );
    expect(checks).toEqual([
      { kind: 'contents', name: 'materialized-view public.stale', passed: true, detail: "3 rows, recomputed by the restore (the source's last refresh held 2)" },
      { kind: 'contents', name: 'materialized-view public.fresh', passed: true, detail: '5 rows, as recorded' },
    ]);
  });
});

describe('userChecks', () => {
  const probe = (answers: Record<string, string | Error>): RestoredProbe => ({
    observe: () => Promise.resolve([]),
    inventory: () => Promise.reject(new Error('not used')),
    query: (text) => {
      const answer = answers[text];
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer ?? '');
    },
  });

  it("fills in the backup's facts, compares text, and turns a failing query into a failed check", async () => {
    const checks = await userChecks(
      probe({ "select max(at) >= '2026-11-22T03:15:02.123Z'": 't', 'select 1': '2', 'select broken': new Error('the check\'s query failed: syntax error') }),
      [
        { name: 'fresh', query: "select max(at) >= '{{backupStartedAt}}'", expect: 't' },
        { name: 'one', query: 'select 1', expect: '1' },
        { name: 'broken', query: 'select broken', expect: 'x' },
      ],
      { backupStartedAt: '2026-11-22T03:15:02.123Z', backupRunId: '20261122T031502.123Z-3f9c2a' },
    );
    expect(checks).toEqual([
      { kind: 'user', name: 'fresh', passed: true, detail: 'returned "t"' },
      { kind: 'user', name: 'one', passed: false, detail: 'returned "2", expected "1"' },
      { kind: 'user', name: 'broken', passed: false, detail: "the check's query failed: syntax error" },
    ]);
  });

  it('reads drill settings strictly from the config', () => {
    expect(drillConfigSchema.parse({ rto: '30m', checks: [{ name: 'n', query: 'select 1', expect: '1' }] })).toEqual({ rto: 1_800_000, checks: [{ name: 'n', query: 'select 1', expect: '1' }], cpu: 1024, memoryMiB: 2048 });
    expect(drillConfigSchema.safeParse({ rto: '30m', chekcs: [] }).success).toBe(false);
  });
});

describe('drillTrends', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-drill-trend-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('compares the newest RTO with the median of the drills before it, per job', async () => {
    const catalog = new LocalCatalog(dir);
    const base = Date.parse('2026-11-01T00:00:00Z');
    const drill = (job: string, i: number, rtoMs: number, status: RunRecord['status'] = 'succeeded'): RunRecord => ({
      runId: newRunId(new Date(base + i * 60_000)),
      job,
      kind: 'drill',
      status,
      startedAt: new Date(base + i * 60_000).toISOString(),
      drill: { backupRunId: newRunId(new Date(base)), rtoMs, phasesMs: { fetch: 10, restore: rtoMs - 20, verify: 10 }, checks: 5, failedChecks: status === 'failed' ? 1 : 0 },
    });
    for (const [i, rto] of [1000, 1100, 900, 2000].entries()) await catalog.create(drill('shop', i, rto));
    await catalog.create(drill('blog', 0, 500, 'failed'));
    await catalog.create({ ...drill('shop', 9, 1), kind: 'backup', drill: undefined } as RunRecord);
    const trends = await drillTrends(catalog);
    expect(trends.map((t) => ({ job: t.job, latest: t.latestRtoMs, previous: t.previousMedianMs, direction: t.direction, passed: t.passed, failed: t.failed, drills: t.drills.length }))).toEqual([
      { job: 'blog', latest: 500, previous: undefined, direction: undefined, passed: 0, failed: 1, drills: 1 },
      { job: 'shop', latest: 2000, previous: 1000, direction: 'up', passed: 4, failed: 0, drills: 4 },
    ]);
  });
});

describe('checksumChecks', () => {
  it('passes a table whose restored checksum is the recorded one, fails one that differs, and leaves a missing table to its contents check', () => {
    const recorded = { items: 'sha3-256:aa', tags: 'sha3-256:bb', gone: 'sha3-256:cc' };
    expect(checksumChecks(recorded, ['sha3-256:aa', 'sha3-256:00', undefined])).toEqual([
      { kind: 'checksum', name: 'checksum of table items', passed: true, detail: 'sha3-256 as recorded' },
      { kind: 'checksum', name: 'checksum of table tags', passed: false, detail: "sha3-256 of the restored rows differs from the backup's: their values are not the ones backed up" },
    ]);
  });

  it('reads the checksums a manifest recorded, and none from details that hold something else', () => {
    expect(tableChecksumsOf({ tableChecksums: encodeTableChecksums({ items: 'sha3-256:0a1b' }) })).toEqual({ items: 'sha3-256:0a1b' });
    const others: (Record<string, string> | undefined)[] = [undefined, {}, { tableChecksums: 'not json' }, { tableChecksums: '["a"]' }, { tableChecksums: '{"items": 3}' }];
    for (const details of others) expect(tableChecksumsOf(details)).toBeUndefined();
  });
});

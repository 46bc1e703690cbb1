/**
 * `jobStatuses` (vaultra status) over a real LocalCatalog and a fixed clock: jobs inside and
 * outside their RPO, failures, running runs, the next fire time, log lag — read-only.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { environmentOf, parseConfig, type Environment } from '../../core/config/load-config.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { allWithinRpo, jobStatuses } from '../../core/usecases/job-status.js';
import { watchJobs } from '../../core/usecases/watch-jobs.js';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

const ENVIRONMENT: Environment = environmentOf(
  parseConfig(
    JSON.stringify({
      version: 1,
      environments: {
        laptop: {
          cloud: 'local',
          storage: { url: 'file://./backups' },
          defaults: { encryption: { kms: false, recipients: ['age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40'] } },
          jobs: {
            fresh: { source: 'postgres://app@localhost/fresh', schedule: { cron: '0 * * * *' }, rpo: '2h' },
            stale: { source: 'postgres://app@localhost/stale', schedule: { cron: '30 3 * * *', timeZone: 'Europe/Paris' }, rpo: '26h' },
            unborn: { source: 'postgres://app@localhost/unborn', schedule: { cron: '0 * * * *' }, rpo: '2h' },
            logged: { source: 'postgres://app@localhost/logged', schedule: { cron: '0 3 * * *' }, rpo: '26h', logs: { every: '5m', rpo: '15m' } },
            off: { source: 'postgres://app@localhost/off', schedule: { cron: '0 * * * *' }, rpo: '2h', enabled: false },
          },
        },
      },
    }),
  ),
  'laptop',
);

describe('jobStatuses', () => {
  let dir: string;
  let catalog: LocalCatalog;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-status-'));
    catalog = new LocalCatalog(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let sequence = 0;
  async function recorded(job: string, kind: 'backup' | 'log', status: RunRecord['status'], startedAt: Date, patch: Partial<RunRecord> = {}): Promise<RunRecord> {
    const run: RunRecord = {
      runId: newRunId(new Date(startedAt.getTime() + sequence++)),
      job,
      kind,
      status,
      startedAt: startedAt.toISOString(),
      ...(status === 'succeeded' || status === 'failed' ? { finishedAt: new Date(startedAt.getTime() + MINUTE).toISOString() } : {}),
      ...patch,
    };
    await catalog.create(run);
    return run;
  }

  it('reports each job inside or outside its RPO, with last failure, running runs, next run and log lag', async () => {
    // Prepare
    const freshOk = await recorded('fresh', 'backup', 'succeeded', at(-HOUR));
    const freshFailed = await recorded('fresh', 'backup', 'failed', at(-3 * HOUR), { error: { kind: 'dump', message: 'pg_dump: connection refused' } });
    const freshRunning = await recorded('fresh', 'backup', 'running', at(-2 * MINUTE));
    const staleOk = await recorded('stale', 'backup', 'succeeded', at(-3 * 24 * HOUR));
    await recorded('logged', 'backup', 'succeeded', at(-5 * HOUR));
    await recorded('logged', 'log', 'succeeded', at(-40 * MINUTE), { log: { kind: 'wal', format: 'wal-tar/v1', start: '0/1000000', end: '0/2000000', coveredUntil: at(-39 * MINUTE).toISOString() } });

    // Act
    const statuses = await jobStatuses(ENVIRONMENT, { catalog, now: () => NOW });

    // Assess
    const byJob = new Map(statuses.map((status) => [status.job, status]));
    expect(byJob.get('fresh')).toEqual({
      job: 'fresh',
      state: 'ok',
      rpoMs: 2 * HOUR,
      lastSuccess: { runId: freshOk.runId, at: at(-HOUR + MINUTE).toISOString() },
      ageMs: HOUR - MINUTE,
      rpoBreached: false,
      lastFailure: { runId: freshFailed.runId, at: at(-3 * HOUR + MINUTE).toISOString(), reason: 'pg_dump: connection refused' },
      running: [{ runId: freshRunning.runId, kind: 'backup', status: 'running', startedAt: at(-2 * MINUTE).toISOString() }],
      nextRun: '2026-03-10T13:00:00.000Z',
    });
    expect(byJob.get('stale')).toMatchObject({ state: 'late', rpoBreached: true, ageMs: 3 * 24 * HOUR - MINUTE, lastSuccess: { runId: staleOk.runId }, running: [] });
    // 03:30 in Paris (UTC+1 in March before the change) is 02:30 UTC, the next day.
    expect(byJob.get('stale')!.nextRun).toBe('2026-03-11T02:30:00.000Z');
    expect(byJob.get('unborn')).toEqual({ job: 'unborn', state: 'never', rpoMs: 2 * HOUR, rpoBreached: false, running: [], nextRun: '2026-03-10T13:00:00.000Z' });
    expect(byJob.get('logged')).toMatchObject({ state: 'late', rpoBreached: false, logs: { lagMs: 39 * MINUTE, rpoMs: 15 * MINUTE, lagBreached: true } });
    expect(byJob.get('off')).toEqual({ job: 'off', state: 'disabled', rpoMs: 2 * HOUR, rpoBreached: false, running: [] });
    expect(allWithinRpo(statuses)).toBe(false);
  });

  it('agrees with the watchdog on ages and breaches, and changes nothing in the catalog', async () => {
    // Prepare: a backup stuck far past its timeout, which the watchdog would fail.
    await recorded('fresh', 'backup', 'succeeded', at(-90 * MINUTE));
    const stuck = await recorded('stale', 'backup', 'running', at(-30 * HOUR));
    await recorded('logged', 'backup', 'succeeded', at(-2 * HOUR));
    const before = await catalog.list();

    // Act
    const statuses = await jobStatuses(ENVIRONMENT, { catalog, now: () => NOW });

    // Assess
    expect(await catalog.list()).toEqual(before);
    expect(statuses.find((s) => s.job === 'stale')!.running.map((run) => run.runId)).toEqual([stuck.runId]);
    const health = await watchJobs({ environment: ENVIRONMENT, catalog, notify: async () => undefined, now: () => NOW });
    for (const job of health) {
      const status = statuses.find((s) => s.job === job.job)!;
      expect([job.job, status.ageMs === undefined ? undefined : Math.round(status.ageMs / 1000), status.rpoBreached]).toEqual([job.job, job.secondsSinceLastSuccess, job.rpoBreached]);
      if (job.logs) expect(status.logs).toMatchObject({ lagMs: job.logs.lagSeconds! * 1000, lagBreached: job.logs.lagBreached });
    }
  });

  it('exits clean when every enabled job is within its RPO', async () => {
    for (const job of ['fresh', 'stale', 'unborn']) await recorded(job, 'backup', 'succeeded', at(-30 * MINUTE));
    await recorded('logged', 'backup', 'succeeded', at(-30 * MINUTE));
    await recorded('logged', 'log', 'succeeded', at(-6 * MINUTE), { log: { kind: 'wal', format: 'wal-tar/v1', start: '0/1000000', end: '0/2000000', coveredUntil: at(-5 * MINUTE).toISOString() } });

    const statuses = await jobStatuses(ENVIRONMENT, { catalog, now: () => NOW });

    expect(statuses.map((s) => [s.job, s.state])).toEqual([['fresh', 'ok'], ['stale', 'ok'], ['unborn', 'ok'], ['logged', 'ok'], ['off', 'disabled']]);
    expect(allWithinRpo(statuses)).toBe(true);
  });
});

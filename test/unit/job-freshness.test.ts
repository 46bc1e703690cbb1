/**
 * The freshness gauges over a real LocalCatalog and a fixed clock: from `vaultra status`'s
 * statuses and from the watchdog's health, for jobs inside and outside their RPO, one that never
 * ran, one that archives logs and one disabled — the two paths give the same readings.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { environmentOf, parseConfig, type Environment } from '../../core/config/load-config.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { jobStatuses } from '../../core/usecases/job-status.js';
import { watchJobs } from '../../core/usecases/watch-jobs.js';
import { freshnessFromHealth, freshnessFromStatuses, freshnessReadings } from '../../core/usecases/job-freshness.js';
import { METRICS } from '../../core/domain/telemetry-metrics.js';

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
            stale: { source: 'mysql://app@localhost/stale', schedule: { cron: '30 3 * * *' }, rpo: '26h' },
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

describe('job freshness', () => {
  let dir: string;
  let catalog: LocalCatalog;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-freshness-'));
    catalog = new LocalCatalog(dir);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  let sequence = 0;
  async function recorded(job: string, kind: 'backup' | 'log', status: RunRecord['status'], startedAt: Date, patch: Partial<RunRecord> = {}): Promise<void> {
    const run: RunRecord = {
      runId: newRunId(new Date(startedAt.getTime() + sequence++)),
      job,
      kind,
      status,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date(startedAt.getTime() + MINUTE).toISOString(),
      ...patch,
    };
    await catalog.create(run);
  }

  async function catalogWithEveryCase(): Promise<void> {
    await recorded('fresh', 'backup', 'succeeded', at(-HOUR), { engine: 'postgres' });
    await recorded('fresh', 'backup', 'failed', at(-10 * MINUTE), { engine: 'postgres', error: { kind: 'dump', message: 'pg_dump: connection refused' } });
    await recorded('stale', 'backup', 'succeeded', at(-3 * 24 * HOUR), { engine: 'mysql' });
    await recorded('logged', 'backup', 'succeeded', at(-5 * HOUR), { engine: 'postgres' });
    await recorded('logged', 'log', 'succeeded', at(-40 * MINUTE), { log: { kind: 'wal', format: 'wal-tar/v1', start: '0/1000000', end: '0/2000000', coveredUntil: at(-39 * MINUTE).toISOString() } });
    await recorded('off', 'backup', 'succeeded', at(-30 * 24 * HOUR), { engine: 'postgres' });
  }

  it('gives each enabled job its age, RPO and log lag in seconds, from the catalog', async () => {
    // Prepare
    await catalogWithEveryCase();

    // Act
    const freshness = freshnessFromStatuses(ENVIRONMENT, await jobStatuses(ENVIRONMENT, { catalog, now: () => NOW }));

    // Assess: the failure after the success does not reset the age; the disabled job is left out.
    expect(freshness).toEqual([
      { job: 'fresh', environment: 'laptop', dbSystem: 'postgresql', lastSuccessAgeSeconds: 59 * 60, rpoSeconds: 2 * 3600 },
      { job: 'stale', environment: 'laptop', dbSystem: 'mysql', lastSuccessAgeSeconds: 3 * 24 * 3600 - 60, rpoSeconds: 26 * 3600 },
      { job: 'unborn', environment: 'laptop', rpoSeconds: 2 * 3600 },
      { job: 'logged', environment: 'laptop', dbSystem: 'postgresql', lastSuccessAgeSeconds: 5 * 3600 - 60, rpoSeconds: 26 * 3600, logArchiveLagSeconds: 39 * 60 },
    ]);
  });

  it("gives the watchdog's health the same freshness as vaultra status", async () => {
    await catalogWithEveryCase();

    const fromStatus = freshnessFromStatuses(ENVIRONMENT, await jobStatuses(ENVIRONMENT, { catalog, now: () => NOW }));
    const fromWatchdog = freshnessFromHealth(ENVIRONMENT, await watchJobs({ environment: ENVIRONMENT, catalog, notify: async () => undefined, now: () => NOW }));

    expect(fromWatchdog).toEqual(fromStatus);
  });

  it('reads as one gauge per job and metric, with the OTel attribute keys, and no age for a job that never ran', async () => {
    await catalogWithEveryCase();
    const freshness = freshnessFromStatuses(ENVIRONMENT, await jobStatuses(ENVIRONMENT, { catalog, now: () => NOW }));

    const readings = freshnessReadings(freshness);

    const summary = readings.map((reading) => [reading.metric.prometheus, reading.attributes['vaultra.job'], reading.value]);
    expect(summary).toEqual([
      [METRICS.lastSuccessAge.prometheus, 'fresh', 3540],
      [METRICS.rpo.prometheus, 'fresh', 7200],
      [METRICS.lastSuccessAge.prometheus, 'stale', 259_140],
      [METRICS.rpo.prometheus, 'stale', 93_600],
      [METRICS.rpo.prometheus, 'unborn', 7200],
      [METRICS.lastSuccessAge.prometheus, 'logged', 17_940],
      [METRICS.rpo.prometheus, 'logged', 93_600],
      [METRICS.logArchiveLag.prometheus, 'logged', 2340],
    ]);
    expect(readings[0]!.attributes).toEqual({ 'vaultra.job': 'fresh', 'vaultra.environment': 'laptop', 'db.system': 'postgresql' });
    expect(readings[4]!.attributes).toEqual({ 'vaultra.job': 'unborn', 'vaultra.environment': 'laptop' });
  });
});

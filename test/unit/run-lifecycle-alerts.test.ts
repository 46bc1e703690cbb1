/**
 * The lifecycle alerts run trackers and PagerDuty need (local catalog, fixed clock): a launched
 * backup announces its start (routine); a success after a failure, or after the RPO had passed,
 * is the all-clear; any other success is routine unless the job asks to hear of it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { environmentOf, jobOf, parseConfig, type Environment } from '../../core/config/load-config.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import type { Alert } from '../../core/ports/notifier.js';
import { streakEndedBy } from '../../core/usecases/run-streak.js';
import { startBackup } from '../../core/usecases/start-backup.js';

const HOUR = 3_600_000;
const NOW = new Date('2026-03-10T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs).toISOString();

function environment(): Environment {
  const job = { source: 'secret+aws://prod/db', schedule: { cron: '0 3 * * *' }, rpo: '26h' };
  return environmentOf(parseConfig(JSON.stringify({ version: 1, environments: { prod: { cloud: 'aws', region: 'eu-west-1', jobs: { shop: job } } } })), 'prod');
}

describe('run lifecycle alerts', () => {
  let dir: string;
  let catalog: LocalCatalog;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-lifecycle-'));
    catalog = new LocalCatalog(dir);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function settled(startOffsetMs: number, status: 'succeeded' | 'failed', kind: 'backup' | 'log' = 'backup'): Promise<RunRecord> {
    const run: RunRecord = { runId: newRunId(new Date(at(startOffsetMs))), job: 'shop', kind, status, startedAt: at(startOffsetMs), finishedAt: at(startOffsetMs + 60_000) };
    await catalog.create(run);
    return run;
  }

  it('a launched backup sends a routine run-started alert naming the run', async () => {
    const alerts: Alert[] = [];
    const env = environment();
    const runId = scheduledRunId('shop', NOW.toISOString());
    const launcher = { launch: async () => ({ taskId: 'task-1' }) };
    const target = { storageUrl: 's3://bucket/vaultra?region=eu-west-1', catalogUrl: 'dynamodb://vaultra?region=eu-west-1', kmsKey: 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab', signingKey: 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/sign' };
    const result = await startBackup({ environment: env, catalog, launcher, target, notify: async (alert) => void alerts.push(alert), now: () => NOW }, { job: jobOf(env, 'shop'), runId });
    expect(result.outcome).toBe('started');
    expect(alerts).toEqual([expect.objectContaining({ kind: 'run-started', routine: true, runKind: 'backup', runId, job: 'shop', environment: 'prod' })]);
  });

  it('a success ends a streak after a failure, or after a gap longer than the RPO; not after a healthy run', async () => {
    const job = jobOf(environment(), 'shop');
    const failed = await settled(-3 * HOUR, 'failed');
    const afterFailure = await settled(-2 * HOUR, 'succeeded');
    expect(await streakEndedBy(catalog, afterFailure, job)).toEqual(failed);

    const healthy = await settled(-1 * HOUR, 'succeeded');
    expect(await streakEndedBy(catalog, healthy, job)).toBeUndefined();

    const late = await settled(30 * HOUR, 'succeeded');
    expect(await streakEndedBy(catalog, late, job)).toEqual(healthy);
  });

  it('a log push ends its own streak (a failed log push, not a failed backup)', async () => {
    await settled(-3 * HOUR, 'failed', 'backup');
    const push = await settled(-2 * HOUR, 'succeeded', 'log');
    expect(await streakEndedBy(catalog, push, jobOf(environment(), 'shop'))).toBeUndefined();
    const failedPush = await settled(-1 * HOUR, 'failed', 'log');
    expect(await streakEndedBy(catalog, await settled(0, 'succeeded', 'log'), undefined)).toEqual(failedPush);
  });

  it('the first run of a job ends no streak', async () => {
    expect(await streakEndedBy(catalog, await settled(0, 'succeeded'), jobOf(environment(), 'shop'))).toBeUndefined();
  });
});

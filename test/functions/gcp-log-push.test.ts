/**
 * Log catch-ups through the GCP functions (functions-framework's test server; catalog on the
 * Firestore emulator, storage on fake-gcs-server; Cloud Run Admin API on a local REST server): a
 * Cloud Scheduler delivery of `{"job", "kind": "log"}` records a pending log run and sends one
 * RunJob with `vaultra logs push`; the watchdog answers each job's log lag. Times come from a
 * fixed clock.
 */
import { http } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreCatalog } from '../../core/adapters/catalog/firestore-catalog.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { logPushLockName } from '../../core/config/log-schedule.js';
import { parseBackupSpecJson } from '../../core/domain/backup-spec.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import type { JobHealth } from '../../core/usecases/watch-jobs.js';
import { logPushRunId } from '../../core/usecases/start-log-push.js';
import type { GcpDeployment } from '../../functions/gcp/shared/deployment-types.js';
import { createHandler as scheduledBackup } from '../../functions/gcp/scheduled-backup.js';
import { createHandler as watchdog } from '../../functions/gcp/watchdog.js';
import { requireFakeGcs, requireFirestore } from '../support/requirements.js';
import { callFunction, deployGcpPlatform, gcpDeploymentFromEnv, startCloudRunApi, type CloudRunApi } from '../support/gcp-platform.js';

const KMS_KEY = 'gcp-kms:projects/vaultra-test/locations/europe-west1/keyRings/vaultra/cryptoKeys/backups';
const MINUTE = 60_000;
const NOW = new Date('2026-11-22T12:00:00.000Z');

const CONFIG = `
version: 1
environments:
  pitr:
    cloud: gcp
    region: europe-west1
    gcp: { project: vaultra-test }
    defaults:
      timeout: 2h
      encryption: { kms: true }
    jobs:
      shop:
        source: "secret+gcp://projects/vaultra-test/secrets/shop"
        schedule: { cron: "0 3 * * *" }
        logs: { every: 5m, timeout: 30m }
`;

describe('log catch-ups through the GCP functions (Firestore emulator, fake-gcs-server; Cloud Run Admin API on a local REST server)', () => {
  const fakeGcs = requireFakeGcs();
  const firestore = requireFirestore();
  if (!fakeGcs || !firestore) return;

  let cloudRun: CloudRunApi;
  let catalog: FirestoreCatalog;
  let runJob: string;
  let storageUrl: string;

  beforeAll(async () => {
    cloudRun = await startCloudRunApi();
    Object.assign(process.env, fakeGcs.env, firestore.env, { VAULTRA_LOG_LEVEL: 'ERROR' });
    const platform = await deployGcpPlatform({ fakeGcs, firestore, environmentName: 'pitr', configJson: bundledEnvironmentJson(CONFIG, 'pitr'), kmsKey: KMS_KEY });
    const deployment: GcpDeployment = { ...gcpDeploymentFromEnv({ ...process.env, ...platform.env }, cloudRun), now: () => NOW };
    http('lp-scheduledBackup', scheduledBackup(() => Promise.resolve(deployment)));
    http('lp-watchdog', watchdog(() => Promise.resolve(deployment)));
    catalog = FirestoreCatalog.fromUrl(platform.catalogUrl);
    ({ runJob, storageUrl } = platform);
  });

  afterAll(async () => {
    await cloudRun?.close();
  });

  const delivery = (body: object, scheduleTime: string) => ({
    headers: { 'content-type': 'application/octet-stream', 'user-agent': 'Google-Cloud-Scheduler', 'x-cloudscheduler': 'true', 'x-cloudscheduler-scheduletime': scheduleTime },
    body: Buffer.from(JSON.stringify(body)),
  });

  it('a log-push delivery records a pending log run and sends one RunJob with vaultra logs push; a redelivery starts nothing', async () => {
    cloudRun.requests.length = 0;
    const scheduleTime = '2026-11-22T11:55:00Z';
    const response = await callFunction('lp-scheduledBackup', delivery({ job: 'shop', kind: 'log' }, scheduleTime));
    const runId = logPushRunId('shop', scheduleTime);
    expect(response).toEqual({ status: 200, body: { outcome: 'started', kind: 'log', job: 'shop', runId, taskId: expect.stringMatching(/\/executions\//) } });
    const pushTask = (response.body as { taskId: string }).taskId;

    const runs = cloudRun.requests.filter((request) => request.path === `/v2/${runJob}:run`);
    expect(runs).toHaveLength(1);
    const args = (runs[0]!.body as { overrides: { containerOverrides: { args: string[] }[] } }).overrides.containerOverrides[0]!.args;
    expect(args.slice(0, 3)).toEqual(['logs', 'push', '--spec']);
    expect(args.slice(4)).toEqual(['--json', '--no-progress']);
    expect(parseBackupSpecJson(args[3]!)).toMatchObject({ job: 'shop', runId, source: 'secret+gcp://projects/vaultra-test/secrets/shop', destinations: [storageUrl], encryption: { kmsKeys: [KMS_KEY] }, timeoutMs: 30 * MINUTE });
    expect(await catalog.get('shop', runId)).toMatchObject({ kind: 'log', status: 'pending', startedAt: NOW.toISOString() });
    expect(await catalog.acquireLock(logPushLockName('shop'), 'someone-else', MINUTE)).toBe(false);

    const again = await callFunction('lp-scheduledBackup', delivery({ job: 'shop', kind: 'log' }, scheduleTime));
    expect(again.body).toMatchObject({ outcome: 'duplicate', kind: 'log', runId });
    // A backup due at the same minute is another run, under the job's own lock.
    const backup = await callFunction('lp-scheduledBackup', delivery({ job: 'shop' }, scheduleTime));
    expect(backup.body).toEqual({ outcome: 'started', job: 'shop', runId: scheduledRunId('shop', scheduleTime), taskId: expect.not.stringContaining(pushTask) });
    expect(cloudRun.requests.filter((request) => request.path === `/v2/${runJob}:run`)).toHaveLength(2);
  });

  it('the watchdog answers each job\'s log lag', async () => {
    const pushedAt = new Date(NOW.getTime() - 30 * MINUTE);
    await catalog.create({
      runId: logPushRunId('shop', pushedAt.toISOString()),
      job: 'shop',
      kind: 'log',
      status: 'succeeded',
      startedAt: pushedAt.toISOString(),
      finishedAt: new Date(pushedAt.getTime() + MINUTE).toISOString(),
      taskId: 'exec',
      log: { kind: 'wal', format: 'wal-tar/v1', start: '0/3000000', end: '0/5000000', timeline: 1, coveredUntil: new Date(NOW.getTime() - 25 * MINUTE).toISOString(), events: 9 },
    });
    const response = await callFunction('lp-watchdog');
    expect(response.status).toBe(200);
    const shop = (response.body as { jobs: JobHealth[] }).jobs.find((job) => job.job === 'shop')!;
    expect(shop.logs).toEqual({ lagSeconds: 25 * 60, lagBreached: true });
  });
});

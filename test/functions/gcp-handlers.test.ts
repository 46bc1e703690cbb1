/**
 * The GCP functions through functions-framework's test server (`getTestServer`: the framework's
 * own express app, body parsing and routing), deployed the way the Terraform module leaves
 * them: the catalog on the Firestore emulator, storage on fake-gcs-server, alerts to a local
 * webhook receiver and the Pub/Sub emulator. Cloud Run has no emulator: the Cloud Run Admin API
 * is a local REST server (test/support/gcp-platform.ts) that the real `@google-cloud/run`
 * clients talk to over their REST transport; each test asserts the exact requests it received.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { http } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FirestoreCatalog } from '../../core/adapters/catalog/firestore-catalog.js';
import { GcsStorageBackend } from '../../core/adapters/storage/gcs/gcs-storage.js';
import { verifyWebhookSignature } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { manifestKey, runFolder } from '../../core/domain/object-layout.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import type { Manifest } from '../../core/domain/manifest.js';
import type { RunRecord } from '../../core/domain/run.js';
import type { GcpDeployment } from '../../functions/gcp/shared/deployment-types.js';
import { createHandler as scheduledBackup } from '../../functions/gcp/scheduled-backup.js';
import { createHandler as reconcile } from '../../functions/gcp/reconcile.js';
import { createHandler as watchdog } from '../../functions/gcp/watchdog.js';
import { createHandler as api } from '../../functions/gcp/api.js';
import { requireFakeGcs, requireFirestore, requirePubsub } from '../support/requirements.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { callFunction, deployGcpPlatform, gcpDeploymentFromEnv, startCloudRunApi, type CloudRunApi, type GcpPlatform } from '../support/gcp-platform.js';
import { launchedSpec } from '../support/launched-spec.js';

const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';
const KMS_KEY = 'gcp-kms:projects/vaultra-test/locations/europe-west1/keyRings/vaultra/cryptoKeys/backups';
const SIGNING_KEY = 'gcp-handlers-signing-key';
const ALT = 'json;enum-encoding=int';

const CONFIG = `
version: 1
environments:
  test:
    cloud: gcp
    region: europe-west1
    gcp: { project: vaultra-test }
    notifications:
      webhooks:
        - { kind: generic, url: "env://VAULTRA_GCP_TEST_WEBHOOK_URL", signingSecret: "env://VAULTRA_GCP_TEST_WEBHOOK_KEY" }
    defaults:
      timeout: 1h
      encryption: { kms: true, recipients: [${RECIPIENT}] }
    jobs:
      shop:
        source: "secret+gcp://projects/vaultra-test/secrets/shop"
        schedule: { cron: "0 3 * * *", timeZone: Europe/Paris }
        rpo: 26h
        compression: { id: zstd, level: 9 }
        retention: { last: 1 }
      billing:
        source: "secret+gcp://projects/vaultra-test/secrets/billing"
        schedule: { cron: "0 */6 * * *" }
`;

describe('GCP functions through functions-framework (Firestore emulator, fake-gcs-server, Pub/Sub emulator, webhook receiver; Cloud Run Admin API on a local REST server)', () => {
  const fakeGcs = requireFakeGcs();
  const firestore = requireFirestore();
  const pubsub = requirePubsub();
  if (!fakeGcs || !firestore || !pubsub) return;

  let receiver: WebhookReceiver;
  let cloudRun: CloudRunApi;
  const configJson = bundledEnvironmentJson(CONFIG, 'test');

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    cloudRun = await startCloudRunApi();
    // The clients find the emulators from the process, as in a deployed function they find Google.
    Object.assign(process.env, fakeGcs.env, firestore.env, pubsub.env, {
      VAULTRA_LOG_LEVEL: 'ERROR',
      VAULTRA_GCP_TEST_WEBHOOK_URL: `${receiver.url}/hooks/vaultra`,
      VAULTRA_GCP_TEST_WEBHOOK_KEY: SIGNING_KEY,
    });
  });
  afterAll(async () => {
    await receiver?.close();
    await cloudRun?.close();
  });

  /** A deployment of its own (bucket, collection, topic, Cloud Run job) and its four functions, registered under `<prefix>-<name>`. */
  async function deploy(prefix: string) {
    const platform = await deployGcpPlatform({ fakeGcs: fakeGcs!, firestore: firestore!, pubsub: pubsub!, environmentName: 'test', configJson, kmsKey: KMS_KEY });
    const deployment: GcpDeployment = gcpDeploymentFromEnv({ ...process.env, ...platform.env }, cloudRun);
    const deps = () => Promise.resolve(deployment);
    http(`${prefix}-scheduledBackup`, scheduledBackup(deps));
    http(`${prefix}-reconcile`, reconcile(deps));
    http(`${prefix}-watchdog`, watchdog(deps));
    http(`${prefix}-api`, api(deps));
    const catalog = FirestoreCatalog.fromUrl(platform.catalogUrl);
    const storage = GcsStorageBackend.fromUrl(platform.storageUrl);
    await platform.alerts(0, 0);
    return { platform, deployment, catalog, storage };
  }

  /** What Cloud Scheduler sends: POST, its headers, the job's body as bytes (no Content-Type set on the job). */
  const schedulerDelivery = (job: string, scheduleTime: string, headers: Record<string, string> = {}) => ({
    headers: {
      'content-type': 'application/octet-stream',
      'user-agent': 'Google-Cloud-Scheduler',
      'x-cloudscheduler': 'true',
      'x-cloudscheduler-jobname': `projects/vaultra-test/locations/europe-west1/jobs/vaultra-test-${job}`,
      'x-cloudscheduler-scheduletime': scheduleTime,
      ...headers,
    },
    body: Buffer.from(JSON.stringify({ job })),
  });

  const runJobRequests = (platform: GcpPlatform) => cloudRun.requests.filter((request) => request.path === `/v2/${platform.runJob}:run`);

  describe('scheduledBackup', () => {
    let env: Awaited<ReturnType<typeof deploy>>;
    beforeAll(async () => {
      env = await deploy('sb');
    });

    it('a Cloud Scheduler delivery records the run as pending, takes the lock and sends exactly one RunJob with the runner command line and trace context', async () => {
      const { platform, catalog } = env;
      cloudRun.requests.length = 0;
      const scheduleTime = '2026-11-22T02:00:00.123Z';
      const response = await callFunction('sb-scheduledBackup', schedulerDelivery('shop', scheduleTime, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }));
      const runId = scheduledRunId('shop', scheduleTime);
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ outcome: 'started', job: 'shop', runId, taskId: cloudRun.executions[0]!.name });

      expect(cloudRun.requests).toEqual([
        {
          method: 'POST',
          path: `/v2/${platform.runJob}:run`,
          query: { $alt: ALT },
          authorization: 'Bearer test-access-token',
          body: {
            overrides: {
              containerOverrides: [
                {
                  args: expect.any(Array),
                  env: [
                    { name: 'VAULTRA_CATALOG', value: platform.catalogUrl },
                    { name: 'TRACEPARENT', value: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
                    { name: 'VAULTRA_JOB', value: 'shop' },
                    { name: 'VAULTRA_RUN_ID', value: runId },
                  ],
                },
              ],
              taskCount: 1,
            },
          },
        },
      ]);
      const body = cloudRun.requests[0]!.body as { overrides: { containerOverrides: { args: string[] }[] } };
      expect(launchedSpec(body.overrides.containerOverrides[0]!.args)).toEqual({
        type: 'full',
        job: 'shop',
        runId,
        source: 'secret+gcp://projects/vaultra-test/secrets/shop',
        destinations: [platform.storageUrl],
        compression: { id: 'zstd', level: 9 },
        encryption: { mode: 'recipients', recipients: [RECIPIENT], kmsKeys: [KMS_KEY] },
        timeoutMs: 3_600_000,
        engine: {},
      });
      expect(await catalog.get('shop', runId)).toMatchObject({ status: 'pending', kind: 'backup' });
      expect(await catalog.acquireLock('shop', 'someone-else', 60_000)).toBe(false);
      await catalog.releaseLock('shop', runId);
    });

    it('X-Cloud-Trace-Context reaches the runner as a W3C TRACEPARENT', async () => {
      const { platform, catalog } = env;
      cloudRun.requests.length = 0;
      const response = await callFunction('sb-scheduledBackup', schedulerDelivery('billing', '2026-11-22T06:00:00Z', { 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' }));
      expect(response.status).toBe(200);
      const variables = (runJobRequests(platform)[0]!.body as { overrides: { containerOverrides: { env: { name: string; value: string }[] }[] } }).overrides.containerOverrides[0]!.env;
      expect(variables).toContainEqual({ name: 'TRACEPARENT', value: '00-105445aa7843bc8bf206b12000100000-0000000000000001-01' });
      await catalog.releaseLock('billing', (response.body as { runId: string }).runId);
    });

    it('a duplicate delivery of the same firing (Cloud Scheduler retry) starts nothing new', async () => {
      const { platform, catalog } = env;
      cloudRun.requests.length = 0;
      const delivery = schedulerDelivery('shop', '2026-11-23T02:00:00Z');
      const first = await callFunction('sb-scheduledBackup', delivery);
      const second = await callFunction('sb-scheduledBackup', delivery);
      const third = await callFunction('sb-scheduledBackup', { ...delivery, headers: { ...delivery.headers, 'x-cloudscheduler-scheduletime': '2026-11-23T03:00:00+01:00' } });
      expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
      expect((first.body as { outcome: string }).outcome).toBe('started');
      // The same instant written with an offset is the same firing.
      expect(second.body).toEqual({ outcome: 'duplicate', job: 'shop', runId: (first.body as { runId: string }).runId });
      expect(third.body).toEqual(second.body);
      expect(runJobRequests(platform)).toHaveLength(1);
      await catalog.releaseLock('shop', (first.body as { runId: string }).runId);
    });

    it('an overlapping firing is recorded as skipped and alerted by signed webhook and on the Pub/Sub topic', async () => {
      const { platform, catalog } = env;
      cloudRun.requests.length = 0;
      receiver.requests.length = 0;
      const first = await callFunction('sb-scheduledBackup', schedulerDelivery('billing', '2026-11-24T06:00:00Z'));
      const second = await callFunction('sb-scheduledBackup', schedulerDelivery('billing', '2026-11-24T12:00:00Z'));
      expect((first.body as { outcome: string }).outcome).toBe('started');
      expect(second).toMatchObject({ status: 200, body: { outcome: 'skipped', job: 'billing' } });
      expect(runJobRequests(platform)).toHaveLength(1);
      const skippedRunId = (second.body as { runId: string }).runId;
      expect(await catalog.get('billing', skippedRunId)).toMatchObject({ status: 'skipped', error: { kind: 'overlap' } });

      const [delivery] = await receiver.waitFor(1);
      expect(verifyWebhookSignature(delivery!.body, delivery!.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
      expect(JSON.parse(delivery!.body)).toMatchObject({ kind: 'run-skipped', severity: 'warning', job: 'billing', runId: skippedRunId });
      const [message] = await platform.alerts();
      expect(message!.attributes).toEqual({ kind: 'run-skipped', severity: 'warning', job: 'billing', environment: 'test' });
      expect(JSON.parse(message!.data)).toEqual(JSON.parse(delivery!.body));
      await catalog.releaseLock('billing', (first.body as { runId: string }).runId);
    });

    it('RunJob refused for quota, then unavailable: retried with the same request, then started', async () => {
      const { platform, catalog } = env;
      cloudRun.requests.length = 0;
      cloudRun.runJobReplies.push(
        { kind: 'error', httpStatus: 429, status: 'RESOURCE_EXHAUSTED', message: "Quota exceeded for quota metric 'Job runs'" },
        { kind: 'error', httpStatus: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
      );
      const response = await callFunction('sb-scheduledBackup', schedulerDelivery('shop', '2026-11-25T02:00:00Z'));
      expect(response.body).toMatchObject({ outcome: 'started', taskId: cloudRun.executions[0]!.name });
      const requests = runJobRequests(platform);
      expect(requests).toHaveLength(3);
      expect(new Set(requests.map((request) => JSON.stringify(request.body))).size).toBe(1);
      await catalog.releaseLock('shop', (response.body as { runId: string }).runId);
    }, 60_000);

    it('a RunJob that is refused (permission): failed run, lock released, alerts sent, answered 200 so the scheduler does not retry', async () => {
      const { platform, catalog } = env;
      cloudRun.requests.length = 0;
      receiver.requests.length = 0;
      cloudRun.runJobReplies.push({ kind: 'error', httpStatus: 403, status: 'PERMISSION_DENIED', message: "Permission 'run.jobs.runWithOverrides' denied on resource" });
      const response = await callFunction('sb-scheduledBackup', schedulerDelivery('shop', '2026-11-26T02:00:00Z'));
      expect(response).toMatchObject({ status: 200, body: { outcome: 'launch-failed', job: 'shop' } });
      expect(runJobRequests(platform)).toHaveLength(1);
      const run = await catalog.get('shop', (response.body as { runId: string }).runId);
      expect(run).toMatchObject({ status: 'failed', error: { kind: 'launch', message: expect.stringContaining('PERMISSION_DENIED: Permission \'run.jobs.runWithOverrides\' denied') } });
      expect(await catalog.acquireLock('shop', 'next-run', 1000)).toBe(true);
      await catalog.releaseLock('shop', 'next-run');
      const [delivery] = await receiver.waitFor(1);
      expect(JSON.parse(delivery!.body)).toMatchObject({ kind: 'launch-failed', severity: 'critical', job: 'shop' });
      expect((await platform.alerts())[0]!.attributes).toMatchObject({ kind: 'launch-failed', severity: 'critical' });
    });

    it('takes the scheduled time from the body when the header is absent (a hand-made call), and a JSON body too', async () => {
      const { catalog } = env;
      const response = await callFunction('sb-scheduledBackup', { body: { job: 'billing', scheduledTime: '2026-11-27T06:00:00Z' } });
      expect(response).toMatchObject({ status: 200, body: { outcome: 'started', runId: scheduledRunId('billing', '2026-11-27T06:00:00Z') } });
      await catalog.releaseLock('billing', (response.body as { runId: string }).runId);
    });

    it('answers 400 for what no retry can fix, naming the problem; 405 for a GET', async () => {
      const unknown = await callFunction('sb-scheduledBackup', schedulerDelivery('ghost', '2026-11-28T02:00:00Z'));
      expect(unknown).toEqual({ status: 400, body: { error: { kind: 'config', message: 'environment test has no job "ghost": it has shop, billing' } } });
      const noTime = await callFunction('sb-scheduledBackup', { body: { job: 'shop' } });
      expect(noTime).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('X-CloudScheduler-ScheduleTime') } } });
      const badTime = await callFunction('sb-scheduledBackup', schedulerDelivery('shop', 'yesterday'));
      expect(badTime).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/^X-CloudScheduler-ScheduleTime: /) } } });
      const notJson = await callFunction('sb-scheduledBackup', { headers: { 'content-type': 'application/octet-stream', 'x-cloudscheduler-scheduletime': '2026-11-28T02:00:00Z' }, body: Buffer.from('job=shop') });
      expect(notJson).toMatchObject({ status: 400, body: { error: { message: 'the request body is not JSON' } } });
      expect((await callFunction('sb-scheduledBackup', { method: 'GET' })).status).toBe(405);
    });
  });

  describe('reconcile', () => {
    let env: Awaited<ReturnType<typeof deploy>>;
    beforeAll(async () => {
      env = await deploy('rc');
    });

    /** Starts a run through scheduledBackup (so Cloud Run has its execution), then plays the runner's part. */
    const started = async (job: string, scheduleTime: string) => {
      const response = await callFunction('rc-scheduledBackup', schedulerDelivery(job, scheduleTime));
      expect((response.body as { outcome: string }).outcome).toBe('started');
      return response.body as { runId: string; taskId: string };
    };

    /** What the runner leaves after a successful backup: its data object, the manifest naming it, and its record. */
    const runnerSucceeded = async (job: string, runId: string, options: { manifestSizeBytes?: number } = {}) => {
      const { catalog, storage } = env;
      const data = Buffer.from(`age-encrypted dump of ${runId}`);
      await storage.put(`${runFolder(job, runId)}/data.pgdump.zst.age`, Readable.from([data]));
      const now = new Date().toISOString();
      const manifest: Manifest = {
        schema: 'vaultra.manifest/v1',
        runId,
        job,
        startedAt: now,
        finishedAt: now,
        source: { engine: 'postgres', database: 'shop', serverVersion: '15.8' },
        dump: { tool: 'pg_dump', toolVersion: '15.8', format: 'custom', consistency: 'snapshot' },
        compression: { id: 'zstd', level: 9, implementation: 'zstd' },
        encryption: { format: 'age-v1', recipients: [{ type: 'x25519', recipient: RECIPIENT }] },
        plaintextBytes: 1234,
        objects: [{ name: 'data.pgdump.zst.age', role: 'data', sizeBytes: options.manifestSizeBytes ?? data.length, sha256: createHash('sha256').update(data).digest('hex') }],
        contents: [],
        vaultraVersion: '0.0.0-test',
      };
      await storage.put(manifestKey(job, runId), Readable.from([Buffer.from(JSON.stringify(manifest))]));
      const run = (await catalog.get(job, runId))!;
      await catalog.update({ ...run, status: 'succeeded', finishedAt: now, engine: 'postgres', manifestKey: manifestKey(job, runId), bytesStored: data.length });
    };

    const folderKeys = async (job: string, runId: string) => {
      const keys: string[] = [];
      for await (const object of env.storage.list(`${runFolder(job, runId)}/`)) keys.push(object.key.split('/').pop()!);
      return keys.sort();
    };

    it('settles ended executions as finish-run does (manifest checked, lock released, alerts, retention) and leaves running ones', async () => {
      const { platform, catalog } = env;
      receiver.requests.length = 0;
      // An earlier successful backup of shop, which retention (last: 1) prunes once a newer one succeeds.
      const older = await started('shop', '2026-12-01T02:00:00Z');
      await runnerSucceeded('shop', older.runId);
      cloudRun.finish(older.taskId, 'succeeded');
      expect((await callFunction('rc-reconcile')).body).toEqual({ reconciled: [{ job: 'shop', runId: older.runId, outcome: 'succeeded' }] });

      const ok = await started('shop', '2026-12-02T02:00:00Z');
      await runnerSucceeded('shop', ok.runId);
      cloudRun.finish(ok.taskId, 'succeeded');
      const failed = await started('billing', '2026-12-02T06:00:00Z');
      await catalog.update({ ...(await catalog.get('billing', failed.runId))!, status: 'failed', error: { kind: 'dump', message: 'pg_dump: error: connection to server failed' } });
      cloudRun.finish(failed.taskId, 'failed');
      // A runner killed mid-run (out of memory): its record still says running.
      // (Two runs of shop at once happen only in this test: the first one's lock is freed by hand.)
      await catalog.releaseLock('shop', ok.runId);
      const crashed = await started('shop', '2026-12-02T14:00:00Z');
      await catalog.update({ ...(await catalog.get('shop', crashed.runId))!, status: 'running' });
      cloudRun.finish(crashed.taskId, 'failed', 'Task vaultra-runner-task0 failed with message: Container terminated on signal 9.');
      cloudRun.requests.length = 0;

      const response = await callFunction('rc-reconcile');
      expect(response.status).toBe(200);
      expect((response.body as { reconciled: unknown[] }).reconciled).toEqual(
        expect.arrayContaining([
          { job: 'shop', runId: ok.runId, outcome: 'succeeded' },
          { job: 'billing', runId: failed.runId, outcome: 'failed' },
          { job: 'shop', runId: crashed.runId, outcome: 'failed' },
        ]),
      );
      expect((response.body as { reconciled: unknown[] }).reconciled).toHaveLength(3);
      // One listing serves every unsettled run.
      expect(cloudRun.requests).toEqual([{ method: 'GET', path: `/v2/${platform.runJob}/executions`, query: { pageSize: '50', $alt: ALT }, body: undefined, authorization: 'Bearer test-access-token' }]);

      expect(await catalog.get('shop', ok.runId)).toMatchObject({ status: 'succeeded', taskId: ok.taskId });
      expect(await folderKeys('shop', ok.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json']);
      // Retention after the success: the older backup is pruned, objects and all.
      expect((await catalog.get('shop', older.runId))?.prunedAt).toBeDefined();
      expect(await folderKeys('shop', older.runId)).toEqual([]);

      expect(await catalog.get('billing', failed.runId)).toMatchObject({ status: 'failed', taskId: failed.taskId, error: { kind: 'dump', message: 'pg_dump: error: connection to server failed' } });
      for (const job of ['shop', 'billing']) {
        expect(await catalog.acquireLock(job, 'probe', 1000)).toBe(true);
        await catalog.releaseLock(job, 'probe');
      }
      expect(await catalog.get('shop', crashed.runId)).toMatchObject({
        status: 'failed',
        error: { kind: 'task', message: 'the runner stopped with exit code 1 (Completed: Task vaultra-runner-task0 failed with message: Container terminated on signal 9. (NON_ZERO_EXIT_CODE)) while the run was running' },
      });
      const alerts = (await receiver.waitFor(2)).map((delivery) => JSON.parse(delivery.body) as { kind: string; runId: string; facts: Record<string, string> });
      expect(alerts.map((alert) => [alert.kind, alert.runId]).sort()).toEqual([['run-failed', crashed.runId], ['run-failed', failed.runId]].sort());
      expect(alerts.find((alert) => alert.runId === failed.runId)!.facts['task exit']).toContain('NON_ZERO_EXIT_CODE');
      expect((await platform.alerts(2)).map((message) => message.attributes.kind)).toEqual(['run-failed', 'run-failed']);
    });

    it('a runner that recorded success whose object is not the size its manifest says: failed (integrity), objects removed', async () => {
      const { catalog } = env;
      const run = await started('shop', '2026-12-03T02:00:00Z');
      await runnerSucceeded('shop', run.runId, { manifestSizeBytes: 999_999 });
      cloudRun.finish(run.taskId, 'succeeded');
      const response = await callFunction('rc-reconcile');
      expect((response.body as { reconciled: unknown[] }).reconciled).toEqual([{ job: 'shop', runId: run.runId, outcome: 'failed' }]);
      expect((await catalog.get('shop', run.runId))?.error).toMatchObject({ kind: 'integrity', message: expect.stringMatching(/^object data\.pgdump\.zst\.age of the manifest is \d+ bytes, not 999999$/) });
      expect(await folderKeys('shop', run.runId)).toEqual([]);
    });

    it('an execution still running, and a pending run with no execution, are left as they are', async () => {
      const { catalog } = env;
      const running = await started('shop', '2026-12-04T02:00:00Z');
      const orphan = scheduledRunId('billing', '2026-12-04T06:00:00Z');
      await catalog.create({ runId: orphan, job: 'billing', kind: 'backup', status: 'pending', startedAt: new Date().toISOString() });
      const response = await callFunction('rc-reconcile');
      expect((response.body as { reconciled: unknown[] }).reconciled).toEqual(
        expect.arrayContaining([
          { job: 'shop', runId: running.runId, outcome: 'still-running' },
          { job: 'billing', runId: orphan, outcome: 'no-execution' },
        ]),
      );
      expect(await catalog.get('shop', running.runId)).toMatchObject({ status: 'pending' });
      // The run ends (cancelled on the console): the next reconcile fails it.
      cloudRun.finish(running.taskId, 'cancelled');
      const after = await callFunction('rc-reconcile');
      expect((after.body as { reconciled: unknown[] }).reconciled).toContainEqual({ job: 'shop', runId: running.runId, outcome: 'failed' });
      expect((await catalog.get('shop', running.runId))?.error?.message).toContain('CANCELLED');
    });
  });

  describe('watchdog', () => {
    it('alerts on a job past its RPO and fails a run stuck past its timeout', async () => {
      const { platform, catalog } = await deploy('wd');
      receiver.requests.length = 0;
      const old = new Date(Date.now() - 30 * 3_600_000);
      await catalog.create({ runId: scheduledRunId('shop', old.toISOString()), job: 'shop', kind: 'backup', status: 'succeeded', startedAt: old.toISOString(), finishedAt: old.toISOString() });
      const stuckAt = new Date(Date.now() - 3 * 3_600_000);
      const stuck = scheduledRunId('shop', stuckAt.toISOString());
      await catalog.create({ runId: stuck, job: 'shop', kind: 'backup', status: 'running', startedAt: stuckAt.toISOString() });

      const response = await callFunction('wd-watchdog');
      expect(response.status).toBe(200);
      const shop = (response.body as { jobs: { job: string; rpoBreached: boolean; secondsSinceLastSuccess: number; stuckRuns: string[] }[] }).jobs.find((job) => job.job === 'shop')!;
      expect(shop).toMatchObject({ rpoBreached: true, stuckRuns: [stuck] });
      expect(shop.secondsSinceLastSuccess).toBeGreaterThan(29 * 3600);
      expect(await catalog.get('shop', stuck)).toMatchObject({ status: 'failed', error: { kind: 'timeout' } });

      const kinds = (await receiver.waitFor(2)).map((delivery) => (JSON.parse(delivery.body) as { kind: string }).kind).sort();
      expect(kinds).toEqual(['rpo-breach', 'run-stuck']);
      expect((await platform.alerts(2)).map((message) => message.attributes.kind).sort()).toEqual(['rpo-breach', 'run-stuck']);
    });
  });

  describe('api', () => {
    let env: Awaited<ReturnType<typeof deploy>>;
    beforeAll(async () => {
      env = await deploy('api');
    });

    it('validates requests: 400 with the field named, never echoing a password; 404 for an unknown run', async () => {
      const password = await callFunction('api-api', { body: { action: 'restore', job: 'shop', target: 'postgres://app:CANARY-hunter2@db/shop' } });
      expect(password).toMatchObject({ status: 400, body: { ok: false, error: { kind: 'config' } } });
      expect(JSON.stringify(password.body)).not.toContain('CANARY-hunter2');
      expect(await callFunction('api-api', { body: { action: 'drop-tables', job: 'shop' } })).toMatchObject({ status: 400, body: { ok: false, error: { message: expect.stringContaining('request.action') } } });
      expect(await callFunction('api-api', { body: { action: 'status', job: 'nope' } })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining('has no job "nope"') } } });
      expect(await callFunction('api-api', { body: { action: 'status', job: 'shop', runId: '20260101T000000.000Z-abcdef' } })).toMatchObject({ status: 404, body: { ok: false, error: { kind: 'not-found' } } });
      expect((await callFunction('api-api', { method: 'GET' })).status).toBe(405);
    });

    it('backup on demand starts an execution (409 while the job is locked); list and status read the catalog', async () => {
      const { platform, catalog } = env;
      cloudRun.requests.length = 0;
      const started = await callFunction('api-api', { body: { action: 'backup', job: 'billing' }, headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' } });
      expect(started).toMatchObject({ status: 200, body: { ok: true, action: 'backup', outcome: 'started', taskId: cloudRun.executions[0]!.name } });
      const runId = (started.body as { runId: string }).runId;
      const [request] = runJobRequests(platform);
      const override = (request!.body as { overrides: { containerOverrides: { args: string[]; env: { name: string; value: string }[] }[] } }).overrides.containerOverrides[0]!;
      expect(launchedSpec(override.args)).toMatchObject({ job: 'billing', runId, source: 'secret+gcp://projects/vaultra-test/secrets/billing', destinations: [platform.storageUrl], compression: { id: 'zstd' }, encryption: { mode: 'recipients', recipients: [RECIPIENT], kmsKeys: [KMS_KEY] } });
      expect(override.env).toContainEqual({ name: 'TRACEPARENT', value: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });

      expect(await callFunction('api-api', { body: { action: 'backup', job: 'billing' } })).toMatchObject({ status: 409, body: { ok: false, error: { kind: 'skipped' } } });
      const listed = await callFunction('api-api', { body: { action: 'list', job: 'billing', limit: 50 } });
      expect((listed.body as { runs: RunRecord[] }).runs.map((run) => run.runId)).toContain(runId);
      expect(await callFunction('api-api', { body: { action: 'status', job: 'billing', runId } })).toMatchObject({ status: 200, body: { ok: true, run: { runId, status: 'pending' } } });
      expect(await callFunction('api-api', { body: { action: 'status', job: 'billing' } })).toMatchObject({ status: 200, body: { ok: true, job: 'billing', rpoSeconds: 7 * 3600 } });
      await catalog.releaseLock('billing', runId);
    });

    it('restore on demand starts the restore job (the restore account, not the write-only runner) with a restore command line of references only', async () => {
      const { platform } = env;
      cloudRun.requests.length = 0;
      const answer = await callFunction('api-api', { body: { action: 'restore', job: 'shop', runId: 'latest', target: 'secret+gcp://projects/vaultra-test/secrets/shop-staging', tables: ['public.orders'], dryRun: true } });
      expect(answer).toMatchObject({ status: 200, body: { ok: true, action: 'restore', taskId: expect.stringMatching(new RegExp(`^${platform.restoreJob}/executions/`)) } });
      expect(cloudRun.requests.map((request) => request.path)).toEqual([`/v2/${platform.restoreJob}:run`]);
      const override = (cloudRun.requests[0]!.body as { overrides: { containerOverrides: { args: string[] }[] } }).overrides.containerOverrides[0]!;
      expect(override.args).toEqual(['restore', 'latest', '--target', 'secret+gcp://projects/vaultra-test/secrets/shop-staging', '--from', platform.storageUrl, '--job', 'shop', '--tables', 'public.orders', '--dry-run', '--json', '--no-progress']);
    });

    it('a verify Cloud Run refuses to start is a 502 with its reason', async () => {
      cloudRun.runJobReplies.push({ kind: 'error', httpStatus: 404, status: 'NOT_FOUND', message: 'Resource not found' });
      const answer = await callFunction('api-api', { body: { action: 'verify', job: 'shop' } });
      expect(answer).toMatchObject({ status: 502, body: { ok: false, error: { kind: 'launch', message: expect.stringContaining('NOT_FOUND: Resource not found') } } });
    });
  });

  describe('the entry points of functions/gcp/index.ts', () => {
    it('registers scheduledBackup, reconcile, watchdog and api, each building its clients from the deployment variables', async () => {
      const { platform } = await deploy('entry');
      Object.assign(process.env, platform.env);
      await import('../../functions/gcp/index.js');
      const watch = await callFunction('watchdog');
      expect(watch.status).toBe(200);
      expect((watch.body as { jobs: { job: string }[] }).jobs.map((job) => job.job)).toEqual(['shop', 'billing']);
      expect(await callFunction('api', { body: { action: 'list' } })).toEqual({ status: 200, body: { ok: true, action: 'list', runs: [] } });
      // Cloud Run is not reachable from here: the reconcile with no open run makes no call at all.
      expect(await callFunction('reconcile')).toEqual({ status: 200, body: { reconciled: [] } });
      expect((await callFunction('scheduledBackup', { body: { job: 'ghost', scheduledTime: '2026-11-22T02:00:00Z' } })).status).toBe(400);
    });
  });
});

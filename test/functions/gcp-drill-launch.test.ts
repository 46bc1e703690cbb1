/**
 * Scheduled drills on GCP, as far as the functions go (issue 20): the drill schedule's request →
 * scheduledBackup (kind `drill`) → RunJob on the job's own drill job, addressed to its runner
 * container → reconcile, which finds the drill's execution among the drill job's and settles the
 * run (a failed one alerts `drill-failed`). Cloud Run has no emulator: the real `@google-cloud/run`
 * clients talk REST to the local stand-in of test/support/gcp-platform.ts, whose requests are
 * asserted; the catalog is the Firestore emulator, alerts go to a local webhook receiver.
 * test/e2e/gcp-drill-flow.test.ts runs the real runner behind the same functions.
 */
import { http } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudRunJobLauncher, DRILL_RUNNER_CONTAINER_NAME } from '../../core/adapters/launchers/cloud-run-job-launcher.js';
import { FirestoreCatalog } from '../../core/adapters/catalog/firestore-catalog.js';
import { drillSidecarOf } from '../../core/config/drill-sidecar.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { FUNCTION_ENV, GCP_FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { ConfigError, LaunchFailedError } from '../../core/errors.js';
import { drillRunId } from '../../core/usecases/start-drill.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { createHandler as scheduledBackup } from '../../functions/gcp/scheduled-backup.js';
import { createHandler as reconcile } from '../../functions/gcp/reconcile.js';
import { gcpSettingsFromEnv } from '../../functions/gcp/shared/settings.js';
import { trackerOf } from '../../functions/gcp/shared/clients.js';
import { requireFakeGcs, requireFirestore } from '../support/requirements.js';
import { callFunction, deployGcpPlatform, gcpDeploymentFromEnv, startCloudRunApi, type CloudRunApi, type GcpPlatform } from '../support/gcp-platform.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const RUNNER_JOB = 'projects/vaultra-test/locations/europe-west1/jobs/vaultra-runner';
const DRILL_JOB = 'projects/vaultra-test/locations/europe-west1/jobs/vaultra-test-drill-shop';
const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';

const CONFIG = `
version: 1
environments:
  test:
    cloud: gcp
    region: europe-west1
    gcp: { project: vaultra-test }
    notifications:
      webhooks:
        - { kind: generic, url: "env://VAULTRA_GCP_DRILL_WEBHOOK_URL", signingSecret: "env://VAULTRA_GCP_DRILL_WEBHOOK_KEY" }
    defaults:
      timeout: 1h
      encryption: { kms: true, recipients: [${RECIPIENT}] }
    jobs:
      shop:
        source: "secret+gcp://projects/vaultra-test/secrets/shop"
        schedule: { cron: "0 3 * * *" }
        drill:
          schedule: { cron: "0 5 * * 0", timeZone: Europe/Paris }
          rto: 30m
          server: postgres:17
          checks:
            - { name: some orders, query: "select count(*) > 0 from orders", expect: t }
      billing:
        source: "secret+gcp://projects/vaultra-test/secrets/billing"
        schedule: { cron: "0 */6 * * *" }
`;

describe('CloudRunJobLauncher with drill jobs (Cloud Run Admin API v2 on a local REST server: no emulator exists)', () => {
  let cloudRun: CloudRunApi;
  beforeAll(async () => {
    cloudRun = await startCloudRunApi();
  });
  afterAll(async () => {
    await cloudRun?.close();
  });

  it('runs a drill on the job\'s drill job, its runner container named (the job has two), and returns that execution', async () => {
    cloudRun.requests.length = 0;
    const launcher = new CloudRunJobLauncher({ jobName: RUNNER_JOB, drillJobNames: { shop: DRILL_JOB } }, cloudRun.jobsClient());
    const { taskId } = await launcher.launch({ job: 'shop', runId: '20261206T040000.000Z-d00001', command: ['drill', 'latest', '--job', 'shop'], environment: { VAULTRA_CATALOG: 'firestore://vaultra-test/runs' }, readsBackups: true, drill: true });
    expect(cloudRun.requests.map((request) => request.path)).toEqual([`/v2/${DRILL_JOB}:run`]);
    expect(cloudRun.requests[0]!.body).toEqual({
      overrides: {
        containerOverrides: [
          {
            name: DRILL_RUNNER_CONTAINER_NAME,
            args: ['drill', 'latest', '--job', 'shop'],
            env: [
              { name: 'VAULTRA_CATALOG', value: 'firestore://vaultra-test/runs' },
              { name: 'VAULTRA_JOB', value: 'shop' },
              { name: 'VAULTRA_RUN_ID', value: '20261206T040000.000Z-d00001' },
            ],
          },
        ],
        taskCount: 1,
      },
    });
    expect(taskId).toMatch(new RegExp(`^${DRILL_JOB}/executions/`));
  });

  it('refuses a drill of a job with no drill job, without calling Cloud Run, as a launch failure not worth a retry', async () => {
    cloudRun.requests.length = 0;
    const launcher = new CloudRunJobLauncher({ jobName: RUNNER_JOB, drillJobNames: { shop: DRILL_JOB } }, cloudRun.jobsClient());
    const launching = launcher.launch({ job: 'billing', runId: '20261206T040000.000Z-d00002', command: ['drill', 'latest'], environment: {}, drill: true });
    await expect(launching).rejects.toThrow(LaunchFailedError);
    await expect(launching).rejects.toMatchObject({ retryable: false, message: expect.stringMatching(/^cannot start a drill of billing: the deployment has no drill job for it \(VAULTRA_CLOUD_RUN_DRILL_JOBS\); add drill\.schedule/) });
    expect(cloudRun.requests).toEqual([]);
  });

  it('refuses a malformed drill job name when built, naming the job', () => {
    expect(() => new CloudRunJobLauncher({ jobName: RUNNER_JOB, drillJobNames: { shop: 'vaultra-test-drill-shop' } })).toThrow(new ConfigError('"vaultra-test-drill-shop", the drill job of shop, is not a Cloud Run job name: expected projects/<project>/locations/<region>/jobs/<job>'));
  });
});

describe('functions/gcp settings and tracker with drill jobs', () => {
  const env = {
    [FUNCTION_ENV.environmentName]: 'test',
    [FUNCTION_ENV.configJson]: bundledEnvironmentJson(CONFIG, 'test'),
    [FUNCTION_ENV.storageUrl]: 'gs://acme-backups/vaultra',
    [FUNCTION_ENV.catalogUrl]: 'firestore://vaultra-test/vaultra-runs',
    [FUNCTION_ENV.kmsKey]: 'gcp-kms:projects/vaultra-test/locations/europe-west1/keyRings/vaultra/cryptoKeys/vaultra',
    [GCP_FUNCTION_ENV.runJob]: RUNNER_JOB,
  };

  it('reads VAULTRA_CLOUD_RUN_DRILL_JOBS as Terraform writes it ({} or absent: no drill job), and refuses anything else', () => {
    expect(gcpSettingsFromEnv({ ...env, [GCP_FUNCTION_ENV.drillJobs]: JSON.stringify({ shop: DRILL_JOB }) }).drillJobs).toEqual({ shop: DRILL_JOB });
    expect(gcpSettingsFromEnv({ ...env, [GCP_FUNCTION_ENV.drillJobs]: '{}' }).drillJobs).toEqual({});
    expect(gcpSettingsFromEnv(env).drillJobs).toEqual({});
    expect(() => gcpSettingsFromEnv({ ...env, [GCP_FUNCTION_ENV.drillJobs]: '{shop' })).toThrow('environment variable VAULTRA_CLOUD_RUN_DRILL_JOBS is not JSON: redeploy with the Vaultra Terraform module');
    expect(() => gcpSettingsFromEnv({ ...env, [GCP_FUNCTION_ENV.drillJobs]: '{"shop": 1}' })).toThrow(/^VAULTRA_CLOUD_RUN_DRILL_JOBS\.shop: /);
  });

  it('tracks the runner job, then the drill jobs for the runs it did not find', async () => {
    const cloudRun = await startCloudRunApi();
    try {
      const launcher = new CloudRunJobLauncher({ jobName: RUNNER_JOB, drillJobNames: { shop: DRILL_JOB } }, cloudRun.jobsClient());
      const backup = await launcher.launch({ job: 'shop', runId: '20261206T030000.000Z-b00001', command: ['backup'], environment: {} });
      const drill = await launcher.launch({ job: 'shop', runId: '20261206T040000.000Z-d00003', command: ['drill', 'latest'], environment: {}, drill: true });
      cloudRun.finish(drill.taskId, 'failed');
      const tracker = trackerOf(gcpSettingsFromEnv({ ...env, [GCP_FUNCTION_ENV.drillJobs]: JSON.stringify({ shop: DRILL_JOB }) }), cloudRun.executionsClient());

      cloudRun.requests.length = 0;
      const onlyBackup = await tracker.statusOf(['20261206T030000.000Z-b00001']);
      expect(cloudRun.requests.map((request) => request.path)).toEqual([`/v2/${RUNNER_JOB}/executions`]);
      expect(onlyBackup.get('20261206T030000.000Z-b00001')).toMatchObject({ taskId: backup.taskId, state: 'running' });

      cloudRun.requests.length = 0;
      const both = await tracker.statusOf(['20261206T030000.000Z-b00001', '20261206T040000.000Z-d00003']);
      expect(cloudRun.requests.map((request) => request.path)).toEqual([`/v2/${RUNNER_JOB}/executions`, `/v2/${DRILL_JOB}/executions`]);
      expect(both.get('20261206T040000.000Z-d00003')).toMatchObject({ taskId: drill.taskId, state: 'failed' });
    } finally {
      await cloudRun.close();
    }
  });
});

describe('scheduledBackup and reconcile with a drill schedule (Firestore emulator, webhook receiver; Cloud Run Admin API on a local REST server)', () => {
  const fakeGcs = requireFakeGcs();
  const firestore = requireFirestore();
  if (!fakeGcs || !firestore) return;

  let cloudRun: CloudRunApi;
  let receiver: WebhookReceiver;
  let catalog: FirestoreCatalog;
  let platform: GcpPlatform;
  let drillJob: string;

  beforeAll(async () => {
    cloudRun = await startCloudRunApi();
    receiver = await startWebhookReceiver();
    Object.assign(process.env, fakeGcs.env, firestore.env, { VAULTRA_LOG_LEVEL: 'ERROR', VAULTRA_GCP_DRILL_WEBHOOK_URL: `${receiver.url}/hooks/drill`, VAULTRA_GCP_DRILL_WEBHOOK_KEY: 'gcp-drill-webhook-key' });
    platform = await deployGcpPlatform({ fakeGcs, firestore, environmentName: 'test', configJson: bundledEnvironmentJson(CONFIG, 'test'), kmsKey: 'gcp-kms:projects/vaultra-test/locations/europe-west1/keyRings/vaultra/cryptoKeys/vaultra', drilledJobs: ['shop'] });
    drillJob = platform.drillJobs.shop!;
    const deployment = gcpDeploymentFromEnv({ ...process.env, ...platform.env }, cloudRun);
    http('drill-scheduledBackup', scheduledBackup(() => Promise.resolve(deployment)));
    http('drill-reconcile', reconcile(() => Promise.resolve(deployment)));
    catalog = FirestoreCatalog.fromUrl(platform.catalogUrl);
  });
  afterAll(async () => {
    await cloudRun?.close();
    await receiver?.close();
  });

  /** What Cloud Scheduler posts for the drill schedule: the body Terraform gives it, its schedule time in a header. */
  const drillDelivery = (job: string, scheduleTime: string) => ({
    headers: { 'content-type': 'application/octet-stream', 'x-cloudscheduler': 'true', 'x-cloudscheduler-scheduletime': scheduleTime },
    body: Buffer.from(JSON.stringify({ job, kind: 'drill' })),
  });

  it('records a pending drill under its own run id and executes the drill job with vaultra drill latest, the sidecar as scratch, the budget and the checks', async () => {
    cloudRun.requests.length = 0;
    const scheduleTime = '2026-12-06T04:00:00Z';
    const response = await callFunction('drill-scheduledBackup', drillDelivery('shop', scheduleTime));
    const runId = drillRunId('shop', scheduleTime);
    expect(response).toMatchObject({ status: 200, body: { outcome: 'started', kind: 'drill', job: 'shop', runId, taskId: expect.stringMatching(new RegExp(`^${drillJob}/executions/`)) } });
    expect(runId).not.toBe(scheduledRunId('shop', scheduleTime));

    const [request] = cloudRun.requests;
    expect(request!.path).toBe(`/v2/${drillJob}:run`);
    const [override] = (request!.body as { overrides: { containerOverrides: { name: string; args: string[] }[] } }).overrides.containerOverrides;
    expect(override!.name).toBe(DRILL_RUNNER_CONTAINER_NAME);
    expect(override!.args).toEqual([
      'drill', 'latest', '--job', 'shop', '--from', platform.storageUrl,
      '--run-id', runId,
      '--scratch', drillSidecarOf({ server: 'postgres:17' })!.scratchUrl,
      '--rto', `${30 * 60_000}ms`,
      '--check', JSON.stringify({ name: 'some orders', query: 'select count(*) > 0 from orders', expect: 't' }),
      '--json', '--no-progress',
    ]);
    expect(await catalog.get('shop', runId)).toMatchObject({ kind: 'drill', status: 'pending' });

    // A retried delivery of the same firing starts nothing.
    cloudRun.requests.length = 0;
    expect((await callFunction('drill-scheduledBackup', drillDelivery('shop', scheduleTime))).body).toMatchObject({ outcome: 'duplicate', kind: 'drill', runId });
    expect(cloudRun.requests).toEqual([]);
  });

  it('reconcile settles a drill whose execution failed: the run is failed, drill-failed is paged', async () => {
    const scheduleTime = '2026-12-06T05:00:00Z';
    const started = (await callFunction('drill-scheduledBackup', drillDelivery('shop', scheduleTime))).body as { runId: string; taskId: string };
    cloudRun.finish(started.taskId, 'failed');
    receiver.requests.length = 0;

    const reconciled = await callFunction('drill-reconcile');

    expect(reconciled.status).toBe(200);
    expect((reconciled.body as { reconciled: unknown[] }).reconciled).toContainEqual({ job: 'shop', runId: started.runId, outcome: 'failed' });
    expect(await catalog.get('shop', started.runId)).toMatchObject({ kind: 'drill', status: 'failed', taskId: started.taskId });
    const [alert] = await receiver.waitFor(1);
    expect(JSON.parse(alert!.body)).toMatchObject({ kind: 'drill-failed', severity: 'critical', job: 'shop', runId: started.runId });
  });

  it('a drill request for a job without drill.schedule is refused before anything is recorded', async () => {
    cloudRun.requests.length = 0;
    const response = await callFunction('drill-scheduledBackup', drillDelivery('billing', '2026-12-06T06:00:00Z'));
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(response.body)).toContain('job billing has no drill schedule');
    expect(await catalog.get('billing', drillRunId('billing', '2026-12-06T06:00:00Z'))).toBeUndefined();
    expect(cloudRun.requests).toEqual([]);
  });
});

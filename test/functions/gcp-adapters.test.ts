/**
 * The GCP-only adapters the functions use:
 * - CloudRunJobLauncher and CloudRunExecutionTracker with the real `@google-cloud/run` clients
 *   (REST transport) against a local server playing the Cloud Run Admin API v2 (no emulator
 *   exists): the exact requests it receives are asserted;
 * - PubSubNotifier on the Pub/Sub emulator;
 * - the trace-context and settings helpers of functions/gcp.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloudRunJobLauncher } from '../../core/adapters/launchers/cloud-run-job-launcher.js';
import { CloudRunExecutionTracker } from '../../core/adapters/launchers/cloud-run-execution-tracker.js';
import { PubSubNotifier, pubsubMessage } from '../../core/adapters/notifiers/pubsub-notifier.js';
import { webhookBody } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { resolveGcpSecret } from '../../core/adapters/secrets/gcp-secret-resolve.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { FUNCTION_ENV, GCP_FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { ConfigError, LaunchFailedError, NotifyFailedError, StorageError } from '../../core/errors.js';
import type { Alert } from '../../core/ports/notifier.js';
import { traceContext, traceEnvironment } from '../../functions/gcp/shared/trace-context.js';
import { gcpSettingsFromEnv } from '../../functions/gcp/shared/settings.js';
import { requirePubsub } from '../support/requirements.js';
import { createTopicWithSubscription, pullMessages } from '../support/pubsub-emulator.js';
import { startCloudRunApi, type CloudRunApi } from '../support/gcp-platform.js';

const JOB = 'projects/vaultra-test/locations/europe-west1/jobs/vaultra-runner';
const FAST_RETRIES = { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 50 };
const ALT = 'json;enum-encoding=int';

const alert: Alert = {
  kind: 'run-failed',
  severity: 'critical',
  environment: 'prod',
  job: 'shop',
  runId: '20261122T030000.000Z-abcdef',
  title: 'shop: backup failed',
  detail: 'pg_dump exited 1. No backup of this run is listed.',
  at: '2026-11-22T03:04:05.000Z',
  facts: { 'task exit': 'exit code 1' },
};

describe('CloudRunJobLauncher (Cloud Run Admin API v2 on a local REST server: no emulator exists)', () => {
  let cloudRun: CloudRunApi;
  beforeAll(async () => {
    cloudRun = await startCloudRunApi();
  });
  afterAll(async () => {
    await cloudRun?.close();
  });

  it('sends one RunJob with the runner command line as args, the environment merged, one task, and returns the execution name', async () => {
    cloudRun.requests.length = 0;
    const launcher = new CloudRunJobLauncher({ jobName: JOB }, cloudRun.jobsClient());
    const { taskId } = await launcher.launch({
      job: 'shop',
      runId: '20261122T020000.000Z-abc123',
      command: ['backup', 'secret+gcp://projects/vaultra-test/secrets/shop', '--to', 'gs://b/p', '--run-id', '20261122T020000.000Z-abc123'],
      environment: { VAULTRA_CATALOG: 'firestore://vaultra-test/runs', TRACEPARENT: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      cpu: 2048,
      memoryMiB: 4096,
    });
    expect(cloudRun.requests).toEqual([
      {
        method: 'POST',
        path: `/v2/${JOB}:run`,
        query: { $alt: ALT },
        body: {
          overrides: {
            containerOverrides: [
              {
                args: ['backup', 'secret+gcp://projects/vaultra-test/secrets/shop', '--to', 'gs://b/p', '--run-id', '20261122T020000.000Z-abc123'],
                env: [
                  { name: 'VAULTRA_CATALOG', value: 'firestore://vaultra-test/runs' },
                  { name: 'TRACEPARENT', value: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
                  { name: 'VAULTRA_JOB', value: 'shop' },
                  { name: 'VAULTRA_RUN_ID', value: '20261122T020000.000Z-abc123' },
                ],
              },
            ],
            taskCount: 1,
          },
        },
        authorization: 'Bearer test-access-token',
      },
    ]);
    // cpu/memory have no RunJob override: the job definition sizes the runner.
    expect(taskId).toBe(cloudRun.executions[0]!.name);
    expect(taskId).toMatch(new RegExp(`^${JOB}/executions/vaultra-runner-[0-9a-z]{5}$`));
  });

  it('names the container and sets the task timeout when configured', async () => {
    cloudRun.requests.length = 0;
    const launcher = new CloudRunJobLauncher({ jobName: JOB, containerName: 'runner', timeoutSeconds: 7200 }, cloudRun.jobsClient());
    await launcher.launch({ job: 'shop', runId: '20261122T020000.000Z-abc124', command: ['verify', 'latest'], environment: {} });
    expect(cloudRun.requests[0]!.body).toEqual({
      overrides: {
        containerOverrides: [{ name: 'runner', args: ['verify', 'latest'], env: [{ name: 'VAULTRA_JOB', value: 'shop' }, { name: 'VAULTRA_RUN_ID', value: '20261122T020000.000Z-abc124' }] }],
        taskCount: 1,
        timeout: '7200s',
      },
    });
  });

  it('retries RESOURCE_EXHAUSTED and UNAVAILABLE with the same request, then returns the execution', async () => {
    cloudRun.requests.length = 0;
    cloudRun.runJobReplies.push(
      { kind: 'error', httpStatus: 429, status: 'RESOURCE_EXHAUSTED', message: "Quota exceeded for quota metric 'Job runs' and limit 'Job runs per minute'" },
      { kind: 'error', httpStatus: 503, status: 'UNAVAILABLE', message: 'The service is currently unavailable.' },
    );
    const launcher = new CloudRunJobLauncher({ jobName: JOB }, cloudRun.jobsClient(), FAST_RETRIES);
    const { taskId } = await launcher.launch({ job: 'shop', runId: '20261122T020000.000Z-abc125', command: ['backup'], environment: {} });
    expect(cloudRun.requests).toHaveLength(3);
    expect(new Set(cloudRun.requests.map((request) => JSON.stringify(request.body))).size).toBe(1);
    expect(taskId).toBe(cloudRun.executions[0]!.name);
  });

  it("gives up after the policy's attempts, with a retryable LaunchFailedError naming the job and the code", async () => {
    cloudRun.requests.length = 0;
    for (let i = 0; i < 4; i++) cloudRun.runJobReplies.push({ kind: 'error', httpStatus: 429, status: 'RESOURCE_EXHAUSTED', message: 'Quota exceeded' });
    const launcher = new CloudRunJobLauncher({ jobName: JOB }, cloudRun.jobsClient(), FAST_RETRIES);
    const error = await launcher.launch({ job: 'shop', runId: '20261122T020000.000Z-abc126', command: ['backup'], environment: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchFailedError);
    expect(error).toMatchObject({ retryable: true, message: expect.stringContaining(`Cloud Run RunJob on ${JOB} failed: RESOURCE_EXHAUSTED`) });
    expect(cloudRun.requests).toHaveLength(4);
  });

  it("fails at once on anything else (a missing permission, an unknown job), with Cloud Run's reason", async () => {
    cloudRun.requests.length = 0;
    cloudRun.runJobReplies.push({ kind: 'error', httpStatus: 403, status: 'PERMISSION_DENIED', message: "Permission 'run.jobs.runWithOverrides' denied on resource" });
    const launcher = new CloudRunJobLauncher({ jobName: JOB }, cloudRun.jobsClient(), FAST_RETRIES);
    const error = await launcher.launch({ job: 'shop', runId: '20261122T020000.000Z-abc127', command: ['backup'], environment: {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ retryable: false, message: expect.stringMatching(/PERMISSION_DENIED: .*run\.jobs\.runWithOverrides/) });
    expect(cloudRun.requests).toHaveLength(1);
  });

  it('refuses a malformed job name or timeout when built', () => {
    expect(() => new CloudRunJobLauncher({ jobName: 'vaultra-runner' })).toThrow(ConfigError);
    expect(() => new CloudRunJobLauncher({ jobName: JOB, timeoutSeconds: 1.5 })).toThrow(/whole number of seconds/);
  });
});

describe('CloudRunExecutionTracker (Cloud Run Admin API v2 on a local REST server: no emulator exists)', () => {
  let cloudRun: CloudRunApi;
  let launcher: CloudRunJobLauncher;
  beforeAll(async () => {
    cloudRun = await startCloudRunApi();
    launcher = new CloudRunJobLauncher({ jobName: JOB }, cloudRun.jobsClient());
  });
  afterAll(async () => {
    await cloudRun?.close();
  });

  const start = async (runId: string) => (await launcher.launch({ job: 'shop', runId, command: ['backup'], environment: {} })).taskId;

  it('matches executions to runs by VAULTRA_RUN_ID and maps succeeded, failed, cancelled and running', async () => {
    const ids = ['20261101T030000.000Z-aaaaa1', '20261102T030000.000Z-aaaaa2', '20261103T030000.000Z-aaaaa3', '20261104T030000.000Z-aaaaa4'];
    const [succeeded, failed, cancelled, running] = await Promise.all(ids.map(start));
    cloudRun.finish(succeeded!, 'succeeded');
    cloudRun.finish(failed!, 'failed');
    cloudRun.finish(cancelled!, 'cancelled');
    cloudRun.requests.length = 0;

    const tracker = new CloudRunExecutionTracker(JOB, cloudRun.executionsClient());
    const status = await tracker.statusOf([...ids, '20261105T030000.000Z-nothere']);

    expect(cloudRun.requests).toEqual([{ method: 'GET', path: `/v2/${JOB}/executions`, query: { pageSize: '50', $alt: ALT }, body: undefined, authorization: 'Bearer test-access-token' }]);
    expect(status.get(ids[0]!)).toEqual({ runId: ids[0], taskId: succeeded, state: 'succeeded', finishedAt: expect.stringMatching(/^\d{4}-.*Z$/) });
    expect(status.get(ids[1]!)).toEqual({
      runId: ids[1],
      taskId: failed,
      state: 'failed',
      reason: 'Completed: Task vaultra-runner-task0 failed with message: The container exited with an error. (NON_ZERO_EXIT_CODE)',
      finishedAt: expect.any(String),
    });
    expect(status.get(ids[2]!)).toMatchObject({ state: 'failed', reason: 'Completed: The execution was cancelled. (CANCELLED); 1 task(s) cancelled' });
    expect(status.get(ids[3]!)).toEqual({ runId: ids[3], taskId: running, state: 'running' });
    expect(status.has('20261105T030000.000Z-nothere')).toBe(false);
  });

  it('pages through the executions, at most maxPages, and stops once every run is found', async () => {
    const old = '20261001T030000.000Z-bbbbb1';
    await start(old);
    for (let i = 0; i < 4; i++) await start(`2026110${i + 6}T030000.000Z-ccccc${i}`);
    cloudRun.requests.length = 0;
    const tracker = new CloudRunExecutionTracker(JOB, cloudRun.executionsClient(), { pageSize: 2, maxPages: 10 });
    expect((await tracker.statusOf([old])).get(old)?.state).toBe('running');
    expect(cloudRun.requests.map((request) => request.query.pageToken ?? '')).toEqual(['', '2', '4']);

    cloudRun.requests.length = 0;
    const bounded = new CloudRunExecutionTracker(JOB, cloudRun.executionsClient(), { pageSize: 2, maxPages: 2 });
    expect((await bounded.statusOf([old])).has(old)).toBe(false);
    expect(cloudRun.requests).toHaveLength(2);

    cloudRun.requests.length = 0;
    const newest = '20261109T030000.000Z-ccccc3';
    await tracker.statusOf([newest]);
    expect(cloudRun.requests).toHaveLength(1);
  });

  it('of two executions of one run (a retried RunJob), a running one wins, then a succeeded one, then the newest', async () => {
    const runId = '20261120T030000.000Z-ddddd1';
    const first = await start(runId);
    const second = await start(runId);
    // The second runner finds the run claimed and exits; the first is still at work.
    cloudRun.finish(second, 'failed');
    const tracker = new CloudRunExecutionTracker(JOB, cloudRun.executionsClient());
    expect((await tracker.statusOf([runId])).get(runId)).toMatchObject({ taskId: first, state: 'running' });
    cloudRun.finish(first, 'succeeded');
    expect((await tracker.statusOf([runId])).get(runId)).toMatchObject({ taskId: first, state: 'succeeded' });

    const other = '20261121T030000.000Z-ddddd2';
    const older = await start(other);
    const newer = await start(other);
    cloudRun.finish(older, 'failed');
    cloudRun.finish(newer, 'cancelled');
    expect((await tracker.statusOf([other])).get(other)).toMatchObject({ taskId: newer, state: 'failed' });
  });

  it('a listing failure is a StorageError, retryable when Cloud Run is unavailable (a stubbed client injects the failure)', async () => {
    const broken = new CloudRunExecutionTracker(JOB, {
      listExecutions: () => Promise.reject(Object.assign(new Error('14 UNAVAILABLE: connection reset'), { code: 14 })),
    });
    await expect(broken.statusOf(['20261120T030000.000Z-eeeee1'])).rejects.toSatisfy((error: unknown) => error instanceof StorageError && error.retryable);
  });
});

describe('PubSubNotifier on the Pub/Sub emulator', () => {
  const pubsub = requirePubsub();
  if (!pubsub) return;
  const topic = 'projects/vaultra-test/topics/vaultra-alerts-notifier';
  const subscription = 'projects/vaultra-test/subscriptions/vaultra-alerts-notifier';
  let saved: string | undefined;

  beforeAll(async () => {
    saved = process.env.PUBSUB_EMULATOR_HOST;
    process.env.PUBSUB_EMULATOR_HOST = pubsub.env.PUBSUB_EMULATOR_HOST;
    await createTopicWithSubscription(pubsub.endpoint, topic, subscription);
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.PUBSUB_EMULATOR_HOST;
    else process.env.PUBSUB_EMULATOR_HOST = saved;
  });

  it('publishes the webhook JSON body with kind/severity/job/environment attributes', async () => {
    await new PubSubNotifier(topic).notify(alert);
    const [message, ...rest] = await pullMessages(pubsub.endpoint, subscription);
    expect(rest).toHaveLength(0);
    expect(JSON.parse(message!.data)).toEqual(webhookBody(alert));
    expect(message!.attributes).toEqual({ kind: 'run-failed', severity: 'critical', job: 'shop', environment: 'prod' });
    expect(pubsubMessage(alert).data.toString('utf8')).toBe(message!.data);
  });

  it('a topic that does not exist is a NotifyFailedError naming the topic', async () => {
    const error = await new PubSubNotifier('projects/vaultra-test/topics/no-such-topic').notify(alert).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotifyFailedError);
    expect((error as Error).message).toMatch(/^pubsub: the topic projects\/vaultra-test\/topics\/no-such-topic does not exist/);
  }, 30_000);

  it('refuses a malformed topic name when built', () => {
    expect(() => new PubSubNotifier('vaultra-alerts')).toThrow(/not a Pub\/Sub topic name/);
  });
});

describe('resolveGcpSecret', () => {
  it('reads env:// and refuses the other clouds’ schemes (their SDKs are not in a GCP bundle)', async () => {
    process.env.VAULTRA_TEST_GCP_SECRET = 'hunter2-canary';
    await expect(resolveGcpSecret('env://VAULTRA_TEST_GCP_SECRET')).resolves.toBe('hunter2-canary');
    await expect(resolveGcpSecret('secret+aws://prod/db')).rejects.toThrow('a secret+aws:// reference cannot be read from Google Cloud: use secret+gcp:// or env://');
    await expect(resolveGcpSecret('secret+azure://vault/db')).rejects.toThrow(ConfigError);
    delete process.env.VAULTRA_TEST_GCP_SECRET;
  });
});

describe('functions/gcp trace context', () => {
  it('passes a W3C traceparent on as it is', () => {
    const trace = traceContext({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
    expect(traceEnvironment(trace)).toEqual({ TRACEPARENT: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' });
  });

  it('rewrites X-Cloud-Trace-Context (decimal span id) as a traceparent', () => {
    expect(traceContext({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/1;o=1' })).toEqual({ traceparent: '00-105445aa7843bc8bf206b12000100000-0000000000000001-01', traceId: '105445aa7843bc8bf206b12000100000' });
    expect(traceContext({ 'x-cloud-trace-context': '105445aa7843bc8bf206b12000100000/18446744073709551615' }).traceparent).toBe('00-105445aa7843bc8bf206b12000100000-ffffffffffffffff-00');
  });

  it('ignores malformed and all-zero ids', () => {
    expect(traceContext({ traceparent: '00-00000000000000000000000000000000-b7ad6b7169203331-01' })).toEqual({});
    expect(traceContext({ traceparent: 'garbage', 'x-cloud-trace-context': 'nope' })).toEqual({});
    expect(traceEnvironment(traceContext({}))).toEqual({});
  });
});

describe('functions/gcp settings from the Terraform module’s variables', () => {
  const config = `
version: 1
environments:
  prod:
    cloud: gcp
    region: europe-west1
    gcp: { project: vaultra-prod }
    jobs:
      shop:
        source: "secret+gcp://projects/vaultra-prod/secrets/shop"
        schedule: { cron: "0 3 * * *" }
`;
  const env = {
    [FUNCTION_ENV.environmentName]: 'prod',
    [FUNCTION_ENV.configJson]: bundledEnvironmentJson(config, 'prod'),
    [FUNCTION_ENV.storageUrl]: 'gs://acme-backups/vaultra',
    [FUNCTION_ENV.catalogUrl]: 'firestore://vaultra-prod/vaultra-runs',
    [FUNCTION_ENV.kmsKey]: 'gcp-kms:projects/vaultra-prod/locations/europe-west1/keyRings/vaultra/cryptoKeys/backups',
    [GCP_FUNCTION_ENV.runJob]: 'projects/vaultra-prod/locations/europe-west1/jobs/vaultra-runner',
  };

  it('reads the storage, catalog and key URLs and the Cloud Run job', () => {
    const settings = gcpSettingsFromEnv(env);
    expect(settings.environment.name).toBe('prod');
    expect(settings.target).toEqual({ storageUrl: 'gs://acme-backups/vaultra', catalogUrl: 'firestore://vaultra-prod/vaultra-runs', kmsKey: env[FUNCTION_ENV.kmsKey] });
    expect(settings.runJob).toBe(env[GCP_FUNCTION_ENV.runJob]);
    expect(settings.alertTopic).toBeUndefined();
    expect(scheduledRunId('shop', '2026-11-22T02:00:00Z')).toMatch(/^20261122T020000\.000Z-[0-9a-f]{6}$/);
  });

  it('reads the signing key the runner signs with and launched restores trust', () => {
    const signingKey = 'gcp-kms:projects/vaultra-prod/locations/europe-west1/keyRings/vaultra/cryptoKeys/vaultra-signing/cryptoKeyVersions/1';
    expect(gcpSettingsFromEnv({ ...env, [FUNCTION_ENV.signingKey]: signingKey }).target.signingKey).toBe(signingKey);
    expect(() => gcpSettingsFromEnv({ ...env, [FUNCTION_ENV.signingKey]: '/etc/vaultra/signing-key.pem' })).toThrow(/VAULTRA_SIGNING_KEY must be gcp-kms:/);
  });

  it('refuses a deployment that is not the module’s, naming the variable', () => {
    expect(() => gcpSettingsFromEnv({ ...env, [GCP_FUNCTION_ENV.runJob]: '' })).toThrow('environment variable VAULTRA_CLOUD_RUN_JOB is not set');
    expect(() => gcpSettingsFromEnv({ ...env, [FUNCTION_ENV.storageUrl]: 's3://acme/vaultra' })).toThrow(/VAULTRA_STORAGE_URL must be a gs:\/\//);
    expect(() => gcpSettingsFromEnv({ ...env, [FUNCTION_ENV.kmsKey]: 'aws-kms:arn:aws:kms:…' })).toThrow(/VAULTRA_KMS_KEY must be gcp-kms:/);
    expect(() => gcpSettingsFromEnv({ ...env, [FUNCTION_ENV.configJson]: '{not json' })).toThrow('environment variable VAULTRA_CONFIG_JSON is not JSON');
  });
});

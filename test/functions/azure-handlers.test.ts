/**
 * The Azure functions, their handlers called directly (`new InvocationContext()`, a Timer,
 * `new HttpRequest()`), deployed the way the Terraform module leaves them: catalog on Azure Table
 * and backups on Azure Blob, both on Azurite; alerts to a local webhook receiver (signed). The
 * Container Apps jobs API is a MOCK (`FakeArm`, ARM REST over HTTPS on 127.0.0.1: no Container
 * Apps emulator exists), driven by the real `ContainerAppsAPIClient`; every request it got is
 * asserted.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AzureTableCatalog } from '../../core/adapters/catalog/azure-table-catalog.js';
import { AzureBlobStorageBackend } from '../../core/adapters/storage/azure/azure-blob-storage.js';
import { verifyWebhookSignature } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { manifestKey, runFolder } from '../../core/domain/object-layout.js';
import type { Manifest } from '../../core/domain/manifest.js';
import type { RunRecord } from '../../core/domain/run.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import type { AzureDeployment } from '../../functions/azure/shared/deployment-types.js';
import { createHandler as dispatch } from '../../functions/azure/dispatch.js';
import { createHandler as reconcile } from '../../functions/azure/reconcile.js';
import { createHandler as watchdog, handler as watchdogEntry } from '../../functions/azure/watchdog.js';
import { createHandler as api } from '../../functions/azure/api.js';
import { requireAzurite } from '../support/requirements.js';
import { azureDeploymentFromEnv, deployAzurePlatform, FakeArm, type ArmRequest, type AzurePlatform } from '../support/azure-platform.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../support/webhook-receiver.js';
import { launchedSpec } from '../support/launched-spec.js';

const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';
const KMS_KEY = 'azure-keyvault:https://vaultratest.vault.azure.net/keys/backups/0123456789abcdef0123456789abcdef';
const IMAGE = 'vaultratest.azurecr.io/vaultra-runner:0.1.0';
const RUNNER_IDENTITY = '7d0c3c1e-0000-4000-8000-00000000c0de';
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const SIGNING_KEY = 'azure-test-signing-key-0123456789';
const API_VERSION = '2025-07-01';
/**
 * The deployment's clock: every handler here reads it (a dispatch tick may fix its own), so no
 * test depends on the day it runs. Half a day after the reconcile test's dispatches.
 */
const NOW = new Date('2026-12-01T13:00:00Z');

const CONFIG = `
version: 1
environments:
  test:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-vaultra-test, storageAccount: devstoreaccount1 }
    notifications:
      webhooks:
        - { kind: generic, url: "env://VAULTRA_AZ_TEST_WEBHOOK_URL", signingSecret: "env://VAULTRA_AZ_TEST_WEBHOOK_KEY" }
    defaults:
      timeout: 1h
      encryption: { kms: false, recipients: [${RECIPIENT}] }
    jobs:
      shop:
        source: "secret+azure://vaultratest/shop-db"
        schedule: { cron: "0 4 * * *", timeZone: Europe/Paris }
        rpo: 26h
        compression: { id: zstd, level: 9 }
        encryption: { kms: true, recipients: [${RECIPIENT}] }
        retention: { last: 1 }
      billing:
        source: "secret+azure://vaultratest/billing-db"
        schedule: { cron: "0 */6 * * *" }
        runtime: { cpu: 2048, memoryMiB: 4096 }
      ledger:
        source: "secret+azure://vaultratest/ledger-db"
        schedule: { cron: "30 1 * * *", timeZone: America/New_York }
        rpo: 26h
      archive:
        source: "secret+azure://vaultratest/archive-db"
        schedule: { cron: "0 3 * * *" }
        enabled: false
`;

/** The timer object the host passes (the dispatcher reads `isPastDue`). */
const timer = (isPastDue = false): Timer => ({ isPastDue, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } });

/** An invocation context whose log lines are kept. */
function invocation(functionName: string, traceParent?: string): { context: InvocationContext; lines: { level: string; text: string }[] } {
  const lines: { level: string; text: string }[] = [];
  const context = new InvocationContext({
    functionName,
    invocationId: `inv-${Math.random().toString(36).slice(2)}`,
    ...(traceParent ? { traceContext: { traceParent } } : {}),
    logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }),
  });
  return { context, lines };
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe('Azure functions on Azurite (Container Apps: ARM REST mocked, no Container Apps emulator)', () => {
  const azurite = requireAzurite();
  if (!azurite) return;

  let arm: FakeArm;
  let platform: AzurePlatform;
  let receiver: WebhookReceiver;
  let deployment: AzureDeployment;
  let catalog: AzureTableCatalog;
  let storage: AzureBlobStorageBackend;
  const deploy = () => Promise.resolve(deployment);
  const jobPath = () => arm.jobPath('vaultra-runner');

  beforeAll(async () => {
    arm = await FakeArm.start();
    arm.defineJob('vaultra-runner', [
      {
        name: 'runner',
        image: IMAGE,
        command: ['node', '/app/vaultra.mjs'],
        env: [
          { name: 'AZURE_CLIENT_ID', value: RUNNER_IDENTITY },
          { name: 'VAULTRA_CATALOG', value: 'replaced-per-run' },
          { name: 'OTEL_EXPORTER_OTLP_HEADERS', secretRef: 'otlp-headers' },
        ],
        resources: { cpu: 1, memory: '2Gi' },
      },
    ]);
    // The runner job's second instance, under the restore identity (infra/azure/runner.tf).
    arm.defineJob('vaultra-restore', [
      { name: 'runner', image: IMAGE, command: ['node', '/app/vaultra.mjs'], env: [{ name: 'AZURE_CLIENT_ID', value: 'restore-identity' }], resources: { cpu: 1, memory: '2Gi' } },
    ]);
    receiver = await startWebhookReceiver();
    platform = await deployAzurePlatform(azurite, {
      environmentName: 'test',
      configJson: bundledEnvironmentJson(CONFIG, 'test'),
      subscriptionId: arm.subscriptionId,
      resourceGroup: arm.resourceGroup,
      jobName: 'vaultra-runner',
    });
    // The functions read their deployment (and the webhook secrets, env://) from the process, as on Azure.
    Object.assign(process.env, platform.env, {
      [FUNCTION_ENV.kmsKey]: KMS_KEY,
      VAULTRA_AZ_TEST_WEBHOOK_URL: `${receiver.url}/hooks/vaultra`,
      VAULTRA_AZ_TEST_WEBHOOK_KEY: SIGNING_KEY,
    });
    catalog = AzureTableCatalog.fromUrl(platform.catalogUrl);
    storage = AzureBlobStorageBackend.fromUrl(platform.storageUrl);
  });

  afterAll(async () => {
    await receiver?.close();
    await arm?.close();
  });

  beforeEach(() => {
    // A fresh deployment per test, as after a cold start: the launcher reads the job again.
    deployment = { ...azureDeploymentFromEnv(process.env, arm), now: () => NOW };
    arm.take();
    receiver.requests.length = 0;
  });

  const starts = (requests: ArmRequest[]) => requests.filter((request) => request.method === 'POST');
  /** The webhook alerts received so far (each signature checked), once `count` of them match `which`. */
  const alerts = async (count: number, which: (alert: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>[]> => {
    const matching = () => receiver.requests.map((delivery: ReceivedRequest) => JSON.parse(delivery.body) as Record<string, unknown>).filter(which);
    const deadline = Date.now() + 10_000;
    while (matching().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
    for (const delivery of receiver.requests) expect(verifyWebhookSignature(delivery.body, delivery.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
    expect(matching()).toHaveLength(count);
    return matching();
  };
  const lockIsFree = async (job: string) => {
    const free = await catalog.acquireLock(job, 'probe', 1000);
    if (free) await catalog.releaseLock(job, 'probe');
    return free;
  };

  describe('dispatch (timer)', () => {
    it('starts each due job on its own cron and time zone: pending record, lock, and one start with a template override (exact ARM requests)', async () => {
      // 03:00 UTC on 20 November is 04:00 in Paris (shop) and 22:00 the day before in New York (not ledger's 01:30).
      const now = new Date('2026-11-20T03:02:00Z');
      const { context, lines } = invocation('dispatch', TRACEPARENT);
      const result = await dispatch(deploy, { now: () => now })(timer(), context);
      const runId = scheduledRunId('shop', '2026-11-20T03:00:00.000Z');

      // Only shop is due: archive fires at 03:00 UTC too, but it is disabled.
      expect(result.window).toEqual({ from: '2026-11-20T02:42:00.000Z', to: '2026-11-20T03:02:00.000Z' });
      expect(result.runs).toEqual([{ job: 'shop', kind: 'backup', scheduledTime: '2026-11-20T03:00:00.000Z', runId, outcome: 'started', taskId: expect.stringMatching(/^vaultra-runner-[0-9a-f]{7}$/) }]);
      const [read, start, poll, ...rest] = arm.take();
      expect(rest).toEqual([]);
      expect(read).toEqual({ method: 'GET', path: jobPath(), apiVersion: API_VERSION, query: {}, authorization: `Bearer ${arm.credential.token}`, contentType: undefined, body: undefined });
      expect(start).toMatchObject({ method: 'POST', path: `${jobPath()}/start`, apiVersion: API_VERSION, query: {}, authorization: `Bearer ${arm.credential.token}`, contentType: expect.stringContaining('application/json') });
      expect(start!.body).toEqual({
        containers: [
          {
            name: 'runner',
            image: IMAGE,
            command: ['node', '/app/vaultra.mjs'],
            args: expect.any(Array),
            env: [
              { name: 'AZURE_CLIENT_ID', value: RUNNER_IDENTITY },
              { name: 'OTEL_EXPORTER_OTLP_HEADERS', secretRef: 'otlp-headers' },
              { name: 'VAULTRA_CATALOG', value: platform.catalogUrl },
              { name: 'TRACEPARENT', value: TRACEPARENT },
              { name: 'VAULTRA_JOB', value: 'shop' },
              { name: 'VAULTRA_RUN_ID', value: runId },
            ],
            resources: { cpu: 1, memory: '2Gi' },
          },
        ],
      });
      expect(launchedSpec((start!.body as { containers: { args: string[] }[] }).containers[0]!.args)).toEqual({
        type: 'full',
        job: 'shop',
        runId,
        source: 'secret+azure://vaultratest/shop-db',
        destinations: [platform.storageUrl],
        compression: { id: 'zstd', level: 9 },
        encryption: { mode: 'recipients', recipients: [RECIPIENT], kmsKeys: [KMS_KEY] },
        timeoutMs: 3_600_000,
        engine: {},
      });
      // The SDK's first look at the operation ARM answered with; the launcher does not wait for more.
      expect(poll).toMatchObject({ method: 'GET', path: expect.stringMatching(new RegExp(`^/subscriptions/${arm.subscriptionId}/providers/Microsoft.App/locations/westeurope/containerappsjobOperationResults/`)), apiVersion: API_VERSION });

      expect(await catalog.get('shop', runId)).toMatchObject({ status: 'pending', kind: 'backup' });
      expect(await catalog.acquireLock('shop', 'someone-else', 60_000)).toBe(false);
      expect(lines.some((line) => line.level === 'information' && line.text.startsWith('scheduled backup {') && line.text.includes(runId))).toBe(true);
      await catalog.releaseLock('shop', runId);
    });

    it('overlapping ticks start one execution per fire time; a late tick still starts a missed one; a tick past the window starts nothing', async () => {
      const tick = (at: string, isPastDue = false) => dispatch(deploy, { now: () => new Date(at) })(timer(isPastDue), invocation('dispatch').context);
      // billing fires at 06:00 UTC; the ticks at 06:00 and 06:05 were lost, the one at 06:10 is late.
      const late = await tick('2026-11-21T06:11:30Z', true);
      const again = await tick('2026-11-21T06:15:00Z');
      const alsoAgain = await tick('2026-11-21T06:19:59Z');
      // Twenty minutes after the fire time, the window (06:00, 06:20] no longer holds it.
      const past = await tick('2026-11-21T06:20:00Z');
      const runId = scheduledRunId('billing', '2026-11-21T06:00:00Z');
      expect(late.runs).toMatchObject([{ job: 'billing', runId, outcome: 'started' }]);
      expect(again.runs).toMatchObject([{ job: 'billing', runId, outcome: 'duplicate' }]);
      expect(alsoAgain.runs).toMatchObject([{ job: 'billing', runId, outcome: 'duplicate' }]);
      expect(past.runs).toEqual([]);
      expect(starts(arm.take())).toHaveLength(1);
      expect(arm.executionsOf('vaultra-runner').filter((execution) => execution.template.containers?.[0]?.env?.some((variable) => variable.value === runId))).toHaveLength(1);
      await catalog.releaseLock('billing', runId);
    });

    it("passes a job's size: Fargate-style CPU units become cores, MiB become Gi", async () => {
      const result = await dispatch(deploy, { now: () => new Date('2026-11-22T12:01:00Z') })(timer(), invocation('dispatch').context);
      expect(result.runs).toMatchObject([{ job: 'billing', outcome: 'started' }]);
      const [start] = starts(arm.take());
      expect((start!.body as { containers: { resources: unknown }[] }).containers[0]!.resources).toEqual({ cpu: 2, memory: '4Gi' });
      await catalog.releaseLock('billing', result.runs[0]!.runId);
    });

    it('a fire time while the previous run still holds the lock: recorded as skipped, signed webhook alert, nothing started', async () => {
      const first = await dispatch(deploy, { now: () => new Date('2026-11-23T06:01:00Z') })(timer(), invocation('dispatch').context);
      arm.take();
      const { context, lines } = invocation('dispatch');
      const second = await dispatch(deploy, { now: () => new Date('2026-11-23T12:01:00Z') })(timer(), context);
      expect(first.runs).toMatchObject([{ job: 'billing', outcome: 'started' }]);
      expect(second.runs).toMatchObject([{ job: 'billing', outcome: 'skipped' }]);
      expect(starts(arm.take())).toHaveLength(0);
      expect(await catalog.get('billing', second.runs[0]!.runId)).toMatchObject({ status: 'skipped', error: { kind: 'overlap' } });
      const [alert] = await alerts(1);
      expect(alert).toMatchObject({ kind: 'run-skipped', severity: 'warning', environment: 'test', job: 'billing', runId: second.runs[0]!.runId });
      // The alert is also a log line an Azure Monitor alert rule can route to the Action Group.
      expect(lines).toContainEqual({ level: 'warning', text: expect.stringMatching(/^vaultra-alert \{"kind":"run-skipped","severity":"warning"/) });
      await catalog.releaseLock('billing', first.runs[0]!.runId);
    });

    it('retries throttling (429) and a 5xx with backoff, sending the same start each time, then starts', async () => {
      arm.failNext('start', { status: 429, code: 'TooManyRequests', message: 'Too many requests, retry after 1 second', headers: { 'retry-after': '1' } }, { status: 503, code: 'ServiceUnavailable', message: 'The service is temporarily unavailable' });
      const result = await dispatch(deploy, { now: () => new Date('2026-11-24T03:01:00Z') })(timer(), invocation('dispatch').context);
      expect(result.runs).toMatchObject([{ job: 'shop', outcome: 'started' }]);
      const posts = starts(arm.take());
      expect(posts).toHaveLength(3);
      expect(posts[1]!.body).toEqual(posts[0]!.body);
      expect(posts[2]!.body).toEqual(posts[0]!.body);
      expect(arm.executionsOf('vaultra-runner').filter((execution) => execution.template.containers?.[0]?.env?.some((variable) => variable.value === result.runs[0]!.runId))).toHaveLength(1);
      await catalog.releaseLock('shop', result.runs[0]!.runId);
    });

    it('a start ARM refuses: failed run with ARM\'s reason, lock released, signed alert, no retry, nothing thrown', async () => {
      arm.failNext('start', { status: 403, code: 'AuthorizationFailed', message: "The client does not have authorization to perform action 'Microsoft.App/jobs/start/action'" });
      const result = await dispatch(deploy, { now: () => new Date('2026-11-25T03:01:00Z') })(timer(), invocation('dispatch').context);
      expect(result.runs).toMatchObject([{ job: 'shop', outcome: 'launch-failed' }]);
      expect(starts(arm.take())).toHaveLength(1);
      const run = await catalog.get('shop', result.runs[0]!.runId);
      expect(run).toMatchObject({ status: 'failed', error: { kind: 'launch', message: expect.stringContaining('403 AuthorizationFailed') } });
      expect(run?.error?.message).toContain('Microsoft.App/jobs/start/action');
      expect(await lockIsFree('shop')).toBe(true);
      const [alert] = await alerts(1);
      expect(alert).toMatchObject({ kind: 'launch-failed', severity: 'critical', job: 'shop', runId: result.runs[0]!.runId });
    });

    it('a catalog that cannot record runs fails the invocation (the host counts it) and starts nothing', async () => {
      const broken: AzureDeployment = { ...deployment, catalog: AzureTableCatalog.fromUrl(`aztable://devstoreaccount1/nosuchtable${Date.now()}`) };
      const { context, lines } = invocation('dispatch');
      await expect(dispatch(() => Promise.resolve(broken), { now: () => new Date('2026-11-26T03:01:00Z') })(timer(), context)).rejects.toThrow(/1 of 1 due runs could not be recorded/);
      expect(starts(arm.take())).toHaveLength(0);
      expect(lines.some((line) => line.level === 'error' && line.text.startsWith('scheduled backup {'))).toBe(true);
    });
  });

  describe('reconcile (timer)', () => {
    /** What the runner leaves behind on success: objects, then the manifest (the commit marker). */
    const commitBackup = async (job: string, runId: string) => {
      const data = Buffer.from(`encrypted bytes of ${runId}`);
      await storage.put(`${runFolder(job, runId)}/data.pgdump.zst.age`, Readable.from([data]));
      const manifest: Manifest = {
        schema: 'vaultra.manifest/v1',
        runId,
        job,
        startedAt: new Date(NOW.getTime() - 60_000).toISOString(),
        finishedAt: NOW.toISOString(),
        source: { engine: 'postgres', database: 'shop', serverVersion: '15.8' },
        dump: { tool: 'pg_dump', toolVersion: '15.8', format: 'custom', consistency: 'snapshot' },
        compression: { id: 'zstd', level: 9, implementation: 'zstd' },
        encryption: { format: 'age-v1', recipients: [{ type: 'x25519', recipient: RECIPIENT }] },
        plaintextBytes: 1000,
        objects: [{ name: 'data.pgdump.zst.age', role: 'data', sizeBytes: data.length, sha256: sha256(data) }],
        contents: [],
        vaultraVersion: '0.1.0',
      };
      await storage.put(manifestKey(job, runId), Readable.from([Buffer.from(JSON.stringify(manifest))]));
    };
    const folderKeys = async (job: string, runId: string) => {
      const keys: string[] = [];
      for await (const object of storage.list(`${runFolder(job, runId)}/`)) keys.push(object.key.split('/').pop()!);
      return keys.sort();
    };
    /** A dispatched run whose runner has claimed it (as `vaultra backup --run-id` does). */
    const dispatched = async (job: string, at: string, fire: string) => {
      const result = await dispatch(deploy, { now: () => new Date(at) })(timer(), invocation('dispatch').context);
      const run = result.runs.find((candidate) => candidate.job === job && candidate.scheduledTime === fire)!;
      expect(run.outcome).toBe('started');
      const record = (await catalog.get(job, run.runId))!;
      await catalog.update({ ...record, status: 'running' });
      return { runId: run.runId, execution: run.taskId! };
    };

    it('settles ended executions like task-finished: success with its manifest (then retention), failures with their reason; leaves running ones', async () => {
      // An earlier shop backup, succeeded and committed: retention (last: 1) prunes it after the next success.
      const older = scheduledRunId('shop', '2026-11-01T03:00:00Z');
      await catalog.create({ runId: older, job: 'shop', kind: 'backup', status: 'succeeded', startedAt: '2026-11-01T03:00:01.000Z', finishedAt: '2026-11-01T03:05:00.000Z', manifestKey: manifestKey('shop', older) });
      await commitBackup('shop', older);

      const ok = await dispatched('shop', '2026-12-01T03:01:00Z', '2026-12-01T03:00:00.000Z');
      await catalog.releaseLock('shop', ok.runId);
      const broken = await dispatched('ledger', '2026-12-01T06:31:00Z', '2026-12-01T06:30:00.000Z');
      const liar = await dispatched('billing', '2026-12-01T06:01:00Z', '2026-12-01T06:00:00.000Z');
      await catalog.releaseLock('billing', liar.runId);
      const busy = await dispatched('billing', '2026-12-01T12:01:00Z', '2026-12-01T12:00:00.000Z');

      // shop: the runner succeeded and committed its manifest.
      await commitBackup('shop', ok.runId);
      const okRecord = (await catalog.get('shop', ok.runId))!;
      await catalog.update({ ...okRecord, status: 'succeeded', finishedAt: NOW.toISOString(), manifestKey: manifestKey('shop', ok.runId) });
      arm.endExecution('vaultra-runner', ok.execution, 'Succeeded');
      // ledger: the execution failed mid-upload, leaving a stray object.
      await storage.put(`${runFolder('ledger', broken.runId)}/data.pgdump.zst.age`, Readable.from([Buffer.from('partial')]));
      arm.endExecution('vaultra-runner', broken.execution, 'Failed');
      // billing (06:00): the runner recorded success, but no manifest is in storage.
      const liarRecord = (await catalog.get('billing', liar.runId))!;
      await catalog.update({ ...liarRecord, status: 'succeeded', finishedAt: NOW.toISOString(), manifestKey: manifestKey('billing', liar.runId) });
      arm.endExecution('vaultra-runner', liar.execution, 'Succeeded');
      // billing (12:00) is still running; a pending run whose launch never happened has no execution.
      const orphan = scheduledRunId('ledger', '2026-12-01T12:30:00Z');
      await catalog.create({ runId: orphan, job: 'ledger', kind: 'backup', status: 'pending', startedAt: '2026-12-01T12:30:00.000Z' });
      arm.take();

      const { context } = invocation('reconcile');
      const { runs } = await reconcile(deploy)(timer(), context);
      const outcome = (runId: string) => runs.find((run) => run.runId === runId)?.outcome;
      expect(outcome(ok.runId)).toBe('succeeded');
      expect(outcome(broken.runId)).toBe('failed');
      expect(outcome(liar.runId)).toBe('failed');
      expect(outcome(busy.runId)).toBe('still-running');
      expect(outcome(orphan)).toBe('no-execution');
      // One listing of the job's executions answers for every unsettled run, open or finished by the
      // runner; the orphan, found there by none, is looked for among the restore job's too.
      const listing = (path: string) => ({ method: 'GET', path: `${path}/executions`, apiVersion: API_VERSION, query: {}, authorization: `Bearer ${arm.credential.token}`, contentType: undefined, body: undefined });
      expect(arm.take()).toEqual([listing(jobPath()), listing(arm.jobPath('vaultra-restore'))]);

      expect(await catalog.get('shop', ok.runId)).toMatchObject({ status: 'succeeded', taskId: ok.execution });
      expect(await folderKeys('shop', ok.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json']);
      expect((await catalog.get('shop', older))?.prunedAt).toBeDefined();
      expect(await folderKeys('shop', older)).toEqual([]);

      expect(await catalog.get('ledger', broken.runId)).toMatchObject({ status: 'failed', taskId: broken.execution, error: { kind: 'task', message: expect.stringContaining(`Container Apps execution ${broken.execution} ended Failed`) } });
      expect(await folderKeys('ledger', broken.runId)).toEqual([]);
      expect(await lockIsFree('ledger')).toBe(true);
      expect(await catalog.get('billing', liar.runId)).toMatchObject({ status: 'failed', error: { kind: 'integrity', message: expect.stringContaining('manifest cannot be read') } });
      expect(await catalog.get('billing', busy.runId)).toMatchObject({ status: 'running' });
      expect(await lockIsFree('billing')).toBe(false);

      // shop's previous success is a month old, past its RPO: this success is the all-clear.
      const received = await alerts(3);
      expect(received.map((alert) => `${alert.kind} ${alert.job} ${alert.runId}`).sort()).toEqual([`run-failed billing ${liar.runId}`, `run-failed ledger ${broken.runId}`, `run-recovered shop ${ok.runId}`]);
      await catalog.releaseLock('billing', busy.runId);
      arm.endExecution('vaultra-runner', busy.execution, 'Stopped');
    });

    it('a second pass changes nothing it settled', async () => {
      const first = await reconcile(deploy)(timer(), invocation('reconcile').context);
      const second = await reconcile(deploy)(timer(), invocation('reconcile').context);
      const settled = (runs: typeof first.runs) => runs.filter((run) => run.outcome === 'succeeded' || run.outcome === 'failed');
      expect(settled(second.runs)).toEqual([]);
      expect(first.runs.length).toBeGreaterThanOrEqual(second.runs.length);
    });
  });

  describe('watchdog (timer)', () => {
    it('alerts on a job past its RPO and fails a run stuck past its timeout, releasing its lock', async () => {
      const old = new Date(NOW.getTime() - 30 * 3_600_000);
      const oldRunId = scheduledRunId('ledger', old.toISOString());
      await catalog.create({ runId: oldRunId, job: 'ledger', kind: 'backup', status: 'succeeded', startedAt: old.toISOString(), finishedAt: old.toISOString() });
      const stuckAt = new Date(NOW.getTime() - 3 * 3_600_000);
      const stuckRunId = scheduledRunId('ledger', stuckAt.toISOString());
      await catalog.create({ runId: stuckRunId, job: 'ledger', kind: 'backup', status: 'running', startedAt: stuckAt.toISOString() });
      expect(await catalog.acquireLock('ledger', stuckRunId, 3_600_000)).toBe(true);

      const { context, lines } = invocation('watchdog');
      const { jobs } = await watchdog(deploy)(timer(), context);
      const ledger = jobs.find((job) => job.job === 'ledger')!;
      expect(ledger).toMatchObject({ rpoBreached: true, stuckRuns: [stuckRunId] });
      expect(ledger.secondsSinceLastSuccess).toBeGreaterThan(29 * 3600);
      expect(jobs.map((job) => job.job)).not.toContain('archive');
      expect(await catalog.get('ledger', stuckRunId)).toMatchObject({ status: 'failed', error: { kind: 'timeout' } });
      expect(await lockIsFree('ledger')).toBe(true);
      const received = await alerts(2, (alert) => alert.job === 'ledger');
      expect(received.map((alert) => alert.kind).sort()).toEqual(['rpo-breach', 'run-stuck']);
      expect(lines.some((line) => line.text.startsWith('job health {"environment":"test","job":"ledger"'))).toBe(true);
    });

    it('the deployed entry point reads its deployment from the environment the Terraform module sets', async () => {
      const { jobs } = await watchdogEntry(timer(), invocation('watchdog').context);
      expect(jobs.map((job) => job.job).sort()).toEqual(['billing', 'ledger', 'shop']);
    });
  });

  describe('api (HTTP)', () => {
    const call = async (body: unknown, headers: Record<string, string> = {}) => {
      const request = new HttpRequest({
        method: 'POST',
        url: 'https://vaultra-test.azurewebsites.net/api/api',
        headers: { 'content-type': 'application/json', ...headers },
        body: { string: typeof body === 'string' ? body : JSON.stringify(body) },
      });
      const response = await api(deploy)(request, invocation('api').context);
      return { status: response.status, body: response.jsonBody as Record<string, unknown> };
    };

    it('validates requests: 400 with a JSON error that never echoes a password; 404 for an unknown run', async () => {
      expect(await call('{not json')).toMatchObject({ status: 400, body: { ok: false, error: { kind: 'config', message: expect.stringContaining('not JSON') } } });
      const leaked = await call({ action: 'restore', job: 'shop', target: 'postgres://app:CANARY-hunter2@db/shop' });
      expect(leaked).toMatchObject({ status: 400, body: { ok: false, error: { kind: 'config' } } });
      expect(JSON.stringify(leaked)).not.toContain('CANARY-hunter2');
      expect(await call({ action: 'drop-tables', job: 'shop' })).toMatchObject({ status: 400, body: { ok: false, error: { kind: 'config', message: expect.stringContaining('request.action') } } });
      expect(await call({ action: 'status', job: 'nope' })).toMatchObject({ status: 400, body: { ok: false, error: { message: expect.stringContaining('has no job "nope"') } } });
      expect(await call({ action: 'status', job: 'shop', runId: '20261122T031502.123Z-3f9c2a' })).toMatchObject({ status: 404, body: { ok: false, error: { kind: 'not-found' } } });
      expect(starts(arm.take())).toHaveLength(0);
    });

    it('backup on demand starts an execution carrying the caller\'s traceparent; list and status read the catalog', async () => {
      const started = await call({ action: 'backup', job: 'ledger' }, { traceparent: TRACEPARENT });
      expect(started).toMatchObject({ status: 200, body: { ok: true, action: 'backup', outcome: 'started', taskId: expect.stringMatching(/^vaultra-runner-/) } });
      const runId = started.body.runId as string;
      const [start] = starts(arm.take());
      const container = (start!.body as { containers: { args: string[]; env: { name: string; value?: string }[] }[] }).containers[0]!;
      expect(launchedSpec(container.args)).toMatchObject({ job: 'ledger', runId, source: 'secret+azure://vaultratest/ledger-db', destinations: [platform.storageUrl], compression: { id: 'zstd' }, encryption: { mode: 'recipients', recipients: [RECIPIENT], kmsKeys: [] } });
      expect(container.env).toEqual(expect.arrayContaining([{ name: 'TRACEPARENT', value: TRACEPARENT }, { name: 'VAULTRA_RUN_ID', value: runId }]));

      const listed = await call({ action: 'list', job: 'ledger', limit: 50 });
      expect((listed.body.runs as RunRecord[]).map((run) => run.runId)).toContain(runId);
      expect(await call({ action: 'status', job: 'ledger', runId })).toMatchObject({ status: 200, body: { ok: true, run: { runId, status: 'pending' } } });
      expect(await call({ action: 'status', job: 'ledger' })).toMatchObject({ status: 200, body: { ok: true, job: 'ledger', rpoSeconds: 26 * 3600 } });

      // While that run holds the lock, a second backup is refused: 409.
      expect(await call({ action: 'backup', job: 'ledger' })).toMatchObject({ status: 409, body: { ok: false, error: { kind: 'skipped' } } });
      await catalog.releaseLock('ledger', runId);
    });

    it('restore and verify on demand start the restore job (the restore identity, not the write-only runner) with command lines of references only', async () => {
      const restore = await call({ action: 'restore', job: 'shop', runId: 'latest', target: 'secret+azure://vaultratest/shop-staging', tables: ['public.orders'], dryRun: true });
      expect(restore).toMatchObject({ status: 200, body: { ok: true, action: 'restore', taskId: expect.stringMatching(/^vaultra-restore-/) } });
      const verify = await call({ action: 'verify', job: 'shop' });
      expect(verify).toMatchObject({ status: 200, body: { ok: true, action: 'verify', taskId: expect.stringMatching(/^vaultra-restore-/) } });
      const started = starts(arm.take());
      expect(started.map((request) => request.path)).toEqual([`${arm.jobPath('vaultra-restore')}/start`, `${arm.jobPath('vaultra-restore')}/start`]);
      const posts = started.map((request) => (request.body as { containers: { args: string[] }[] }).containers[0]!.args);
      expect(posts).toEqual([
        ['restore', 'latest', '--target', 'secret+azure://vaultratest/shop-staging', '--from', platform.storageUrl, '--job', 'shop', '--tables', 'public.orders', '--dry-run', '--json', '--no-progress'],
        ['verify', 'latest', '--from', platform.storageUrl, '--job', 'shop', '--json', '--no-progress'],
      ]);
    });

    it('a backup whose execution cannot start answers 502 with the reason, and the run is failed with its lock released', async () => {
      arm.failNext('start', { status: 400, code: 'JobExecutionInvalidTemplate', message: 'The image could not be pulled' });
      const answer = await call({ action: 'backup', job: 'billing' });
      expect(answer).toMatchObject({ status: 502, body: { ok: false, error: { kind: 'launch-failed', message: expect.stringContaining('400 JobExecutionInvalidTemplate') } } });
      expect(await lockIsFree('billing')).toBe(true);
      const [alert] = await alerts(1);
      expect(alert).toMatchObject({ kind: 'launch-failed', job: 'billing' });
    });
  });
});

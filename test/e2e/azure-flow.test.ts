/**
 * The whole Azure flow on one machine: a dispatcher timer tick → the dispatch handler (due runs
 * from the jobs' own crons and time zones) → a launcher that runs the real runner
 * (`dist/vaultra.mjs`) as a process against a real PostgreSQL → the reconcile timer, told how the
 * execution ended → the catalog (Azure Table on Azurite), the backups (Azure Blob on Azurite) and
 * a local webhook receiver (signatures checked).
 *
 * Replaced, because nothing here runs them: Container Apps (by `LocalExecutions`: the runner as
 * a local process, with a tracker built from its exits), and Key Vault with the runner's managed
 * identity (a MOCK reached by the runner's real SDK and credential chain through HTTPS_PROXY and
 * IDENTITY_ENDPOINT, see test/support/azure-platform.ts). Encryption is to an age recipient
 * (no Key Vault key service here); the restore proves the identity file opens it. An on-demand
 * restore goes through the api function and the real launcher to the restore job on the ARM
 * MOCK (`FakeArm`), and the runner then runs what that job's execution would.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HttpRequest, InvocationContext, type Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureTableCatalog } from '../../core/adapters/catalog/azure-table-catalog.js';
import { AzureBlobStorageBackend } from '../../core/adapters/storage/azure/azure-blob-storage.js';
import { verifyWebhookSignature } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { runFolder } from '../../core/domain/object-layout.js';
import type { AzureDeployment } from '../../functions/azure/shared/deployment-types.js';
import { createHandler as dispatch, type DispatchedRun } from '../../functions/azure/dispatch.js';
import { createHandler as reconcile } from '../../functions/azure/reconcile.js';
import { createHandler as api } from '../../functions/azure/api.js';
import { ContainerAppsExecutionTracker } from '../../core/adapters/launchers/container-apps-execution-tracker.js';
import { AZURE_FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { azureSettingsFromEnv } from '../../functions/azure/shared/settings.js';
import { defaultSigningKeyPath } from '../../runner/signing-keys.js';
import { requireAzurite, requirePostgres, requireTools } from '../support/requirements.js';
import { azureDeploymentFromEnv, deployAzurePlatform, FakeArm, LocalExecutions, startFakeKeyVault, type AzurePlatform, type FakeKeyVault, type WireContainer } from '../support/azure-platform.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, runVaultra, vaultraBin } from '../support/cli.js';
import { runnerProcessEnvironment } from '../support/test-clock.js';
import { exportingTo, runnerRootSpan, startFlowCollector, type OtelCollector } from '../support/otel-collector.js';

const SIGNING_KEY = 'azure-e2e-signing-key-0123456789';
const HOUR_MS = 3_600_000;

function config(recipient: string): string {
  return `
version: 1
environments:
  e2e:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-vaultra-e2e, storageAccount: devstoreaccount1 }
    notifications:
      webhooks:
        - { kind: generic, url: "env://VAULTRA_AZ_E2E_WEBHOOK_URL", signingSecret: "env://VAULTRA_AZ_E2E_WEBHOOK_KEY" }
    defaults:
      timeout: 30m
      encryption: { kms: false, recipients: [${recipient}] }
    jobs:
      shop:
        source: "secret+azure://vaultrae2e/shop-db"
        schedule: { cron: "0 * * * *", timeZone: Europe/Paris }
        notifyOnSuccess: true
        retention: { last: 2 }
      broken:
        source: "secret+azure://vaultrae2e/broken-db"
        schedule: { cron: "30 * * * *" }
`;
}

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
/** The trace the Functions host runs every invocation in (its W3C trace context). */
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const context = (functionName: string) => new InvocationContext({ functionName, logHandler: () => undefined, traceContext: { traceParent: TRACEPARENT } });

describe('Azure flow end to end: timer tick → dispatch → runner process on real PostgreSQL → reconcile (Container Apps replaced by local processes, Key Vault by a mock)', () => {
  const pg = requirePostgres();
  const azurite = requireAzurite();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !azurite || !tools) return;

  const source = uniqueDatabaseName('az_e2e_src');
  const restored = uniqueDatabaseName('az_e2e_restored');
  const restoredOnDemand = uniqueDatabaseName('az_e2e_on_demand');
  let home = '';
  let identityFile = '';
  let platform: AzurePlatform;
  let vault: FakeKeyVault;
  let receiver: WebhookReceiver;
  let executions: LocalExecutions;
  let runnerEnv: Record<string, string>;
  let collector: OtelCollector | undefined;
  let deployment: AzureDeployment;
  let catalog: AzureTableCatalog;
  let storage: AzureBlobStorageBackend;
  const deploy = () => Promise.resolve(deployment);
  // Fire times three hours back, inside the reconciler's horizon: shop fires at :00, broken at :30.
  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;
  const at = (offsetMs: number) => new Date(hour + offsetMs);

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'vaultra-az-e2e-'));
    identityFile = join(home, 'restore-identity.txt');
    const keygen = await runVaultra(['keygen', '--out', identityFile, '--json'], { env: { HOME: home } });
    expect(keygen.code, keygen.stderr).toBe(0);
    const { recipient } = JSON.parse(keygen.stdout) as { recipient: string };

    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    receiver = await startWebhookReceiver();
    vault = await startFakeKeyVault();
    vault.put('vaultrae2e', 'shop-db', databaseUrl(pg, source));
    vault.put('vaultrae2e', 'broken-db', databaseUrl(pg, 'no_such_database'));
    vault.put('vaultrae2e', 'restore-target', databaseUrl(pg, restoredOnDemand));
    platform = await deployAzurePlatform(azurite, { environmentName: 'e2e', configJson: bundledEnvironmentJson(config(recipient), 'e2e') });
    Object.assign(process.env, platform.env, { VAULTRA_AZ_E2E_WEBHOOK_URL: `${receiver.url}/hooks/vaultra`, VAULTRA_AZ_E2E_WEBHOOK_KEY: SIGNING_KEY });

    // The runner's process: what the Container Apps job gives the container — its managed
    // identity (here: the mock's endpoint, and the proxy to the mock Key Vault), storage access
    // (here: Azurite's connection string), a private HOME with no identity file — plus the
    // server's own PostgreSQL client tools first on PATH.
    collector = await startFlowCollector();
    executions = new LocalExecutions({
      runnerPath: vaultraBin,
      baseEnvironment: (runnerEnv = {
        ...azurite.env,
        ...vault.runnerEnv,
        ...runnerProcessEnvironment(home, pg.binDir),
        ...exportingTo(collector),
      }),
    });
    deployment = azureDeploymentFromEnv(process.env, executions);
    catalog = AzureTableCatalog.fromUrl(platform.catalogUrl);
    storage = AzureBlobStorageBackend.fromUrl(platform.storageUrl);
  });

  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
    await vault?.close();
    await dropDatabase(pg, source).catch(() => undefined);
    await dropDatabase(pg, restored).catch(() => undefined);
    await dropDatabase(pg, restoredOnDemand).catch(() => undefined);
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** One dispatcher tick; every run it started is awaited to its end, then one reconcile pass. */
  const tick = async (now: Date) => {
    const { runs } = await dispatch(deploy, { now: () => now })(timer, context('dispatch'));
    const started = runs.filter((run) => run.outcome === 'started');
    const exits = await Promise.all(started.map((run) => executions.completion(run.taskId!)));
    const reconciled = started.length > 0 ? (await reconcile(deploy)(timer, context('reconcile'))).runs : [];
    return { runs, exits, reconciled };
  };
  const only = (runs: DispatchedRun[]): DispatchedRun => {
    expect(runs).toHaveLength(1);
    return runs[0]!;
  };
  const folderKeys = async (job: string, runId: string) => {
    const keys: string[] = [];
    for await (const object of storage.list(`${runFolder(job, runId)}/`)) keys.push(object.key.split('/').pop()!);
    return keys.sort();
  };
  const lockIsFree = async (job: string) => {
    const free = await catalog.acquireLock(job, 'probe', 1000);
    if (free) await catalog.releaseLock(job, 'probe');
    return free;
  };

  it('a due fire time runs, is reconciled as succeeded, is announced by a signed webhook, and restores content-equal', async () => {
    const { runs, exits, reconciled } = await tick(at(5 * 60_000));
    const run = only(runs);
    expect(run).toMatchObject({ job: 'shop', scheduledTime: at(0).toISOString(), outcome: 'started' });
    expect(exits[0]?.exitCode, exits[0]?.stderr).toBe(0);
    expect(reconciled.find((one) => one.runId === run.runId)).toEqual({ job: 'shop', runId: run.runId, outcome: 'succeeded' });
    // One trace from the dispatcher's invocation into the runner: its spans carry the invocation's trace id, under its span.
    if (collector) {
      const { root, children } = await runnerRootSpan(collector, TRACEPARENT);
      expect(root.attributes).toMatchObject({ 'vaultra.job': 'shop', 'vaultra.run_id': run.runId, 'vaultra.run.status': 'succeeded' });
      expect(children.map((span) => span.name)).toEqual(expect.arrayContaining(['resolve secrets', 'dump, compress, encrypt, upload', 'commit', 'catalog']));
    }

    expect(await catalog.get('shop', run.runId)).toMatchObject({ status: 'succeeded', kind: 'backup', engine: 'postgres', taskId: run.taskId });
    expect(await folderKeys('shop', run.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
    expect(await lockIsFree('shop')).toBe(true);

    const [delivery] = await receiver.waitFor(1);
    expect(delivery!.path).toBe('/hooks/vaultra');
    expect(verifyWebhookSignature(delivery!.body, delivery!.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
    expect(JSON.parse(delivery!.body)).toMatchObject({ kind: 'run-succeeded', environment: 'e2e', job: 'shop', runId: run.runId });

    // The runner read its source from Key Vault with its managed identity's token, and reached nothing else through the proxy.
    expect(vault.tokenRequests).toContainEqual({ resource: 'https://vault.azure.net', clientId: vault.runnerEnv.AZURE_CLIENT_ID });
    expect(vault.requests).toContainEqual({ method: 'GET', host: 'vaultrae2e.vault.azure.net', path: '/secrets/shop-db/', authorized: true });
    expect(vault.refusedTunnels).toEqual([]);

    const restore = await runVaultra(['restore', run.runId, '--target', databaseUrl(pg, restored), '--from', platform.storageUrl, '--job', 'shop', '--identity', identityFile, '--json', '--no-progress'], {
      env: { ...azurite.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), PATH: `${pg.binDir}:${process.env.PATH}`, VAULTRA_CATALOG: platform.catalogUrl },
    });
    expect(restore.code, restore.stderr).toBe(0);
    expect(await tableFingerprints(pg, restored)).toEqual(await tableFingerprints(pg, source));
  });

  it('an on-demand restore goes through the api function to the restore job (not the write-only runner job), whose execution restores content-equal and is tracked there', async () => {
    // The api function with the real Container Apps launcher, on the ARM mock; the two jobs as the module makes them.
    const arm = await FakeArm.start({ subscriptionId: platform.env[AZURE_FUNCTION_ENV.subscriptionId]!, resourceGroup: platform.env[AZURE_FUNCTION_ENV.resourceGroup]! });
    try {
      const container = (identity: string): WireContainer => ({ name: 'runner', image: 'vaultra/runner:e2e', env: [{ name: 'AZURE_CLIENT_ID', value: identity }], resources: { cpu: 1, memory: '2Gi' } });
      arm.defineJob('vaultra-runner', [container('runner-identity')]);
      arm.defineJob('vaultra-restore', [container('restore-identity')]);
      const onArm = azureDeploymentFromEnv(process.env, arm);
      const request = new HttpRequest({ method: 'POST', url: 'https://vaultra-e2e.azurewebsites.net/api/api', headers: { 'content-type': 'application/json' }, body: { string: JSON.stringify({ action: 'restore', job: 'shop', runId: 'latest', target: 'secret+azure://vaultrae2e/restore-target' }) } });
      const response = await api(() => Promise.resolve(onArm))(request, context('api'));
      expect(response.status, JSON.stringify(response.jsonBody)).toBe(200);
      const { runId, taskId } = response.jsonBody as { runId: string; taskId: string };
      const starts = arm.take().filter((sent) => sent.method === 'POST');
      expect(starts.map((sent) => sent.path)).toEqual([`${arm.jobPath('vaultra-restore')}/start`]);

      // The execution Container Apps would start: the restore job's container as the launcher overrode it.
      // The age identity stands in for the restore identity's Key Vault unwrap, and the key the runner
      // signed with (its default one here) for the --trust the api adds with the deployment's signing key.
      const [started] = (starts[0]!.body as { containers: { args: string[]; env: { name: string; value?: string }[] }[] }).containers;
      expect(started!.env).toContainEqual({ name: 'AZURE_CLIENT_ID', value: 'restore-identity' });
      // Its client id stays the Key Vault mock's (the runner environment's), which the mock's token endpoint knows.
      const overrides = Object.fromEntries(started!.env.filter(({ name }) => name !== 'AZURE_CLIENT_ID').map(({ name, value }) => [name, value ?? '']));
      const execution = await runVaultra(started!.args, { env: { ...runnerEnv, VAULTRA_SIGNING_KEY: defaultSigningKeyPath(runnerEnv), VAULTRA_IDENTITY: identityFile, ...overrides } });
      expect(execution.code, execution.stderr).toBe(0);
      expect(await tableFingerprints(pg, restoredOnDemand)).toEqual(await tableFingerprints(pg, source));
      expect(await catalog.get('shop', runId)).toMatchObject({ kind: 'restore', status: 'succeeded' });

      // Reconcile's tracker finds the execution among the restore job's.
      arm.endExecution('vaultra-restore', taskId, 'Succeeded');
      const tracked = await new ContainerAppsExecutionTracker(azureSettingsFromEnv(process.env).containerApps, arm.client()).statusOf([runId]);
      expect(tracked.get(runId)).toMatchObject({ taskId, state: 'succeeded' });
    } finally {
      await arm.close();
    }
  });

  it('the next ticks see the same fire time and start nothing; once it leaves the window it is not due at all', async () => {
    const before = executions.launches.length;
    const again = await tick(at(10 * 60_000));
    expect(only(again.runs)).toMatchObject({ job: 'shop', scheduledTime: at(0).toISOString(), outcome: 'duplicate' });
    expect((await tick(at(21 * 60_000))).runs).toEqual([]);
    expect(executions.launches.length).toBe(before);
  });

  it('a runner that exits non-zero: failed run, signed alert, lock released, nothing left in storage', async () => {
    receiver.requests.length = 0;
    const { runs, exits, reconciled } = await tick(at(35 * 60_000));
    const run = only(runs);
    expect(run).toMatchObject({ job: 'broken', scheduledTime: at(30 * 60_000).toISOString(), outcome: 'started' });
    expect(exits[0]?.exitCode).not.toBe(0);
    expect(reconciled.find((one) => one.runId === run.runId)).toEqual({ job: 'broken', runId: run.runId, outcome: 'failed' });
    const record = await catalog.get('broken', run.runId);
    expect(record).toMatchObject({ status: 'failed', taskId: run.taskId });
    expect(record?.error?.message).toMatch(/no_such_database/);
    expect(await folderKeys('broken', run.runId)).toEqual([]);
    expect(await lockIsFree('broken')).toBe(true);

    const [alert] = await receiver.waitFor(1);
    expect(verifyWebhookSignature(alert!.body, alert!.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
    expect(JSON.parse(alert!.body)).toMatchObject({ kind: 'run-failed', severity: 'critical', job: 'broken', runId: run.runId });
    // The database URL's password lives in Key Vault only.
    expect(alert!.body).not.toContain(pg.password);
  });

  it('retention runs after each success: with last: 2, the third backup prunes the first', async () => {
    const first = (await catalog.list({ job: 'shop', kind: 'backup', status: 'succeeded' }))[0]!.runId;
    const second = await tick(at(HOUR_MS + 5 * 60_000));
    const third = await tick(at(2 * HOUR_MS + 5 * 60_000));
    expect(second.reconciled.find((one) => one.runId === second.runs[0]?.runId)?.outcome).toBe('succeeded');
    expect(third.reconciled.find((one) => one.runId === third.runs[0]?.runId)?.outcome).toBe('succeeded');
    expect(await folderKeys('shop', first)).toEqual([]);
    expect((await catalog.get('shop', first))?.prunedAt).toBeDefined();
    expect(await folderKeys('shop', second.runs[0]!.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
    expect(await folderKeys('shop', third.runs[0]!.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
  });
});

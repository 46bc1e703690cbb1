/**
 * Issue 20, a scheduled drill through the Azure functions with the real runner: dispatcher ticks
 * (dueRuns: the backup's cron, then the drill's) → the dispatch handler → a launcher that runs
 * the real runner (`dist/vaultra.mjs`) as a process → the reconcile timer → the catalog (Azure
 * Table on Azurite), the backups (Azure Blob on Azurite) and a local webhook receiver.
 *
 * Replaced, because nothing here runs them: Container Apps (by `LocalExecutions`), and with it the
 * drill job's scratch-server container: the test's real PostgreSQL plays it. The launch request
 * names the sidecar as the drill job would reach it (`postgres://postgres@127.0.0.1:5432/…`); the
 * stand-in points that URL at the test server's port and role, as the replica's shared loopback
 * would, with the role's password in the runner's environment (PGPASSWORD), never in argv. Key
 * Vault: its secrets are a MOCK (test/support/azure-platform.ts), and no Key Vault key service
 * runs here, so backups are encrypted to an age recipient and the drill runner gets that
 * identity (VAULTRA_IDENTITY) where the cloud's drill identity unwraps the KMS stanza.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvocationContext, type Timer } from '@azure/functions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureTableCatalog } from '../../core/adapters/catalog/azure-table-catalog.js';
import { verifyWebhookSignature } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { drillSidecarOf } from '../../core/config/drill-sidecar.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { drillRunId } from '../../core/usecases/start-drill.js';
import type { AzureDeployment } from '../../functions/azure/shared/deployment-types.js';
import { createHandler as dispatch, type DispatchedRun } from '../../functions/azure/dispatch.js';
import { createHandler as reconcile } from '../../functions/azure/reconcile.js';
import { requireAzurite, requirePostgres, requireTools } from '../support/requirements.js';
import { azureDeploymentFromEnv, deployAzurePlatform, LocalExecutions, startFakeKeyVault, type AzurePlatform, type FakeKeyVault } from '../support/azure-platform.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, psqlQuery, runVaultra, vaultraBin } from '../support/cli.js';
import { runnerProcessEnvironment } from '../support/test-clock.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';

const SIGNING_KEY = 'azure-drill-e2e-signing-key-0123';
const HOUR_MS = 3_600_000;
const SIDECAR_URL = drillSidecarOf({ server: 'postgres:17' })!.scratchUrl;

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
        - { kind: generic, url: "env://VAULTRA_AZ_DRILL_WEBHOOK_URL", signingSecret: "env://VAULTRA_AZ_DRILL_WEBHOOK_KEY" }
    defaults:
      timeout: 30m
      encryption: { kms: false, recipients: [${recipient}] }
    jobs:
      shop:
        source: "secret+azure://vaultrae2e/drill-shop"
        schedule: { cron: "0 * * * *" }
        drill:
          schedule: { cron: "10 * * * *" }
          server: postgres:17
          rto: 30m
          checks:
            - { name: some rows, query: "select count(*) > 0 from customers", expect: t }
      strict:
        source: "secret+azure://vaultrae2e/drill-shop"
        schedule: { cron: "0 * * * *" }
        drill:
          schedule: { cron: "20 * * * *" }
          server: postgres:17
          checks:
            - { name: no customers, query: "select count(*) = 0 from customers", expect: t }
`;
}

const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
const context = (functionName: string) => new InvocationContext({ functionName, logHandler: () => undefined });

describe('Azure scheduled drill end to end: timer tick → dispatch (kind drill) → real runner drills the newest backup into a real PostgreSQL → reconcile (Container Apps and its sidecar replaced locally, Key Vault by a mock)', () => {
  const pg = requirePostgres();
  const azurite = requireAzurite();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'pg_isready', 'zstd');
  if (!pg || !azurite || !tools) return;

  const source = uniqueDatabaseName('az_drill_src');
  let home = '';
  let platform: AzurePlatform;
  let vault: FakeKeyVault;
  let receiver: WebhookReceiver;
  let executions: LocalExecutions;
  let deployment: AzureDeployment;
  let catalog: AzureTableCatalog;
  const launched: LaunchRequest[] = [];
  const deploy = () => Promise.resolve(deployment);
  // Fire times three hours back, inside the reconciler's horizon: backups at :00, drills at :10 and :20.
  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS - 3 * HOUR_MS;
  const at = (offsetMs: number) => new Date(hour + offsetMs);

  /** What the drill job's shared loopback does: the sidecar's URL reaches the test's server. */
  const sidecarUrl = () => {
    const url = new URL(SIDECAR_URL);
    url.hostname = pg.host;
    url.port = String(pg.port);
    url.username = pg.user;
    return url.toString();
  };

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'vaultra-az-drill-'));
    const identityFile = join(home, 'drill-identity.txt');
    const keygen = await runVaultra(['keygen', '--out', identityFile, '--json'], { env: { HOME: home } });
    expect(keygen.code, keygen.stderr).toBe(0);
    const { recipient } = JSON.parse(keygen.stdout) as { recipient: string };

    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    receiver = await startWebhookReceiver();
    vault = await startFakeKeyVault();
    vault.put('vaultrae2e', 'drill-shop', databaseUrl(pg, source));
    platform = await deployAzurePlatform(azurite, { environmentName: 'e2e', configJson: bundledEnvironmentJson(config(recipient), 'e2e') });
    Object.assign(process.env, platform.env, { VAULTRA_AZ_DRILL_WEBHOOK_URL: `${receiver.url}/hooks/vaultra`, VAULTRA_AZ_DRILL_WEBHOOK_KEY: SIGNING_KEY });

    executions = new LocalExecutions({
      runnerPath: vaultraBin,
      baseEnvironment: { ...azurite.env, ...vault.runnerEnv, ...runnerProcessEnvironment(home, pg.binDir), VAULTRA_IDENTITY: identityFile, PGPASSWORD: pg.password },
    });
    const local = azureDeploymentFromEnv(process.env, executions);
    deployment = {
      ...local,
      launcher: {
        launch: (request) => {
          launched.push(request);
          const command = request.command.map((arg) => (arg === SIDECAR_URL ? sidecarUrl() : arg));
          return executions.launch({ ...request, command });
        },
      },
    };
    catalog = AzureTableCatalog.fromUrl(platform.catalogUrl);
  });

  afterAll(async () => {
    await receiver?.close();
    await vault?.close();
    await dropDatabase(pg, source).catch(() => undefined);
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
  const ofKind = (runs: DispatchedRun[], kind: DispatchedRun['kind']) => runs.filter((run) => run.kind === kind && run.outcome !== 'duplicate');

  it('drills the newest backup at the drill\'s fire time: the drill job and identity, every table checked, an RTO recorded, the scratch database gone', async () => {
    // The backups of both jobs at :00.
    const backups = await tick(at(5 * 60_000));
    expect(backups.runs.map((run) => `${run.kind} ${run.job} ${run.outcome}`).sort()).toEqual(['backup shop started', 'backup strict started']);
    for (const exit of backups.exits) expect(exit.exitCode, exit.stderr).toBe(0);
    const shopBackup = backups.runs.find((run) => run.job === 'shop')!;

    // Act: the tick after :10 starts shop's drill.
    const { runs, exits, reconciled } = await tick(at(15 * 60_000));

    // Assess
    const [drill] = ofKind(runs, 'drill');
    expect(drill).toMatchObject({ job: 'shop', kind: 'drill', scheduledTime: at(10 * 60_000).toISOString(), runId: drillRunId('shop', at(10 * 60_000).toISOString()), outcome: 'started' });
    expect(exits[0]?.exitCode, exits[0]?.stderr).toBe(0);
    expect(reconciled.find((one) => one.runId === drill!.runId)).toEqual({ job: 'shop', runId: drill!.runId, outcome: 'succeeded' });

    const request = launched.find((candidate) => candidate.runId === drill!.runId)!;
    expect(request).toMatchObject({ drill: true, readsBackups: true });
    expect(request.command).toEqual(['drill', 'latest', '--job', 'shop', '--from', platform.storageUrl, '--run-id', drill!.runId, '--scratch', SIDECAR_URL, '--rto', '1800000ms', '--check', JSON.stringify({ name: 'some rows', query: 'select count(*) > 0 from customers', expect: 't' }), '--json', '--no-progress']);
    expectNoCanary(plantCanaries(pg.password), 'the drill launch request', JSON.stringify(request));

    const result = JSON.parse(exits[0]!.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ drillRunId: drill!.runId, backupRunId: shopBackup.runId, status: 'passed', scratchRemoved: true });
    const run = await catalog.get('shop', drill!.runId);
    expect(run).toMatchObject({ kind: 'drill', status: 'succeeded', taskId: drill!.taskId, drill: { backupRunId: shopBackup.runId, rtoBudgetMs: 30 * 60_000, failedChecks: 0 } });
    expect(run!.drill!.checks).toBeGreaterThan(2);
    expect(run!.drill!.rtoMs).toBeGreaterThan(0);
    // The sidecar's database was created, restored into and dropped.
    expect(await psqlQuery(pg, 'postgres', "select count(*) from pg_database where datname = 'vaultra_drill'")).toBe('0');
  });

  it('a drill whose check fails: the runner exits 3, reconcile records it failed and a signed drill-failed alert goes out', async () => {
    receiver.requests.length = 0;
    const { runs, exits, reconciled } = await tick(at(25 * 60_000));
    const [drill] = ofKind(runs, 'drill');
    expect(drill).toMatchObject({ job: 'strict', outcome: 'started' });
    expect(exits[0]?.exitCode).toBe(3);
    expect(exits[0]?.stderr).toMatch(/vaultra: error: 1 of \d+ drill checks failed: no customers: returned "f", expected "t"/);
    expect(reconciled.find((one) => one.runId === drill!.runId)).toEqual({ job: 'strict', runId: drill!.runId, outcome: 'failed' });
    expect(await catalog.get('strict', drill!.runId)).toMatchObject({ kind: 'drill', status: 'failed', drill: { failedChecks: 1 } });

    const alerts = await receiver.waitFor(1);
    const alert = alerts.find((one) => JSON.parse(one.body).kind === 'drill-failed')!;
    expect(verifyWebhookSignature(alert.body, alert.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
    expect(JSON.parse(alert.body)).toMatchObject({ kind: 'drill-failed', severity: 'critical', environment: 'e2e', job: 'strict', runId: drill!.runId });
    expect(alert.body).not.toContain(pg.password);
    expect(await psqlQuery(pg, 'postgres', "select count(*) from pg_database where datname = 'vaultra_drill'")).toBe('0');
  });

  it('later ticks see the drill fire times again and start nothing new', async () => {
    const before = launched.length;
    const { runs } = await tick(at(29 * 60_000));
    expect(runs.filter((run) => run.kind === 'drill').map((run) => `${run.job} ${run.outcome}`).sort()).toEqual(['shop duplicate', 'strict duplicate']);
    expect(launched.length).toBe(before);
  });
});

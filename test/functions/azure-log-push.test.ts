/**
 * Log catch-ups through the Azure functions, deployed as the Terraform module leaves them (catalog
 * on Azure Table, backups on Azure Blob, both on Azurite; Container Apps ARM REST mocked by
 * `FakeArm`): the dispatcher starts the newest due push of each job with `logs` under its own run
 * id, lock and size; reconcile settles it; the watchdog logs the archive's lag per job. Every time
 * comes from a fixed clock.
 */
import { InvocationContext, type Timer } from '@azure/functions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AzureTableCatalog } from '../../core/adapters/catalog/azure-table-catalog.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { logPushLockName } from '../../core/config/log-schedule.js';
import { parseBackupSpecJson } from '../../core/domain/backup-spec.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { logPushRunId } from '../../core/usecases/start-log-push.js';
import type { AzureDeployment } from '../../functions/azure/shared/deployment-types.js';
import { createHandler as dispatch } from '../../functions/azure/dispatch.js';
import { createHandler as reconcile } from '../../functions/azure/reconcile.js';
import { createHandler as watchdog } from '../../functions/azure/watchdog.js';
import { requireAzurite } from '../support/requirements.js';
import { azureDeploymentFromEnv, deployAzurePlatform, FakeArm, type AzurePlatform } from '../support/azure-platform.js';

const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';
const KMS_KEY = 'azure-keyvault:https://vaultratest.vault.azure.net/keys/backups/0123456789abcdef0123456789abcdef';
const MINUTE = 60_000;

const CONFIG = `
version: 1
environments:
  pitr:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-vaultra-pitr, storageAccount: devstoreaccount1 }
    defaults:
      timeout: 2h
      encryption: { kms: true, recipients: [${RECIPIENT}] }
    jobs:
      shop:
        source: "secret+azure://vaultratest/shop-db"
        schedule: { cron: "0 4 * * *", timeZone: Europe/Paris }
        logs: { every: 5m, timeout: 30m }
      ledger:
        source: "secret+azure://vaultratest/ledger-db"
        schedule: { cron: "0 1 * * *" }
        logs: { every: 1m, runtime: { cpu: 512, memoryMiB: 1024 } }
      plain:
        source: "secret+azure://vaultratest/plain-db"
        schedule: { cron: "0 5 * * *" }
`;

const timer = (): Timer => ({ isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } });

function invocation(functionName: string): { context: InvocationContext; lines: string[] } {
  const lines: string[] = [];
  const context = new InvocationContext({ functionName, invocationId: `inv-${functionName}`, logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')) });
  return { context, lines };
}

describe('log catch-ups through the Azure functions (Azurite; Container Apps ARM mocked)', () => {
  const azurite = requireAzurite();
  if (!azurite) return;

  let arm: FakeArm;
  let platform: AzurePlatform;
  let deployment: AzureDeployment;
  let catalog: AzureTableCatalog;
  const deploy = () => Promise.resolve(deployment);
  const starts = () => arm.take().filter((request) => request.method === 'POST');
  type StartBody = { containers: { args: string[]; env: { name: string; value?: string }[]; resources: unknown }[] };

  beforeAll(async () => {
    arm = await FakeArm.start();
    arm.defineJob('vaultra-runner', [{ name: 'runner', image: 'vaultratest.azurecr.io/vaultra-runner:0.1.0', env: [], resources: { cpu: 1, memory: '2Gi' } }]);
    platform = await deployAzurePlatform(azurite, { environmentName: 'pitr', configJson: bundledEnvironmentJson(CONFIG, 'pitr'), subscriptionId: arm.subscriptionId, resourceGroup: arm.resourceGroup, jobName: 'vaultra-runner' });
    Object.assign(process.env, platform.env, { [FUNCTION_ENV.kmsKey]: KMS_KEY });
    catalog = AzureTableCatalog.fromUrl(platform.catalogUrl);
  });

  afterAll(async () => {
    await arm?.close();
  });

  beforeEach(() => {
    deployment = azureDeploymentFromEnv(process.env, arm);
    arm.take();
  });

  it('a tick starts the newest due push of each job with logs, at its size, beside a due backup', async () => {
    // 03:00 UTC is 04:00 in Paris: shop's backup is due, and both jobs' pushes.
    const now = new Date('2026-11-20T03:02:30Z');
    const result = await dispatch(deploy, { now: () => now })(timer(), invocation('dispatch').context);
    const shopPush = logPushRunId('shop', '2026-11-20T03:00:00.000Z');
    const ledgerPush = logPushRunId('ledger', '2026-11-20T03:02:00.000Z');
    const shopBackup = scheduledRunId('shop', '2026-11-20T03:00:00.000Z');
    expect(result.runs.map(({ job, kind, runId, outcome }) => ({ job, kind, runId, outcome }))).toEqual([
      { job: 'shop', kind: 'backup', runId: shopBackup, outcome: 'started' },
      { job: 'shop', kind: 'log', runId: shopPush, outcome: 'started' },
      { job: 'ledger', kind: 'log', runId: ledgerPush, outcome: 'started' },
    ]);

    const bodies = starts().map((request) => request.body as StartBody);
    expect(bodies).toHaveLength(3);
    const byRun = (runId: string) => bodies.find((body) => body.containers[0]!.env.some((variable) => variable.value === runId))!.containers[0]!;
    const push = byRun(shopPush);
    expect(push.args.slice(0, 3)).toEqual(['logs', 'push', '--spec']);
    expect(parseBackupSpecJson(push.args[3]!)).toMatchObject({ job: 'shop', runId: shopPush, source: 'secret+azure://vaultratest/shop-db', destinations: [platform.storageUrl], timeoutMs: 30 * MINUTE, encryption: { kmsKeys: [KMS_KEY] } });
    // The smallest Consumption pair by default; a job's own logs.runtime otherwise.
    expect(push.resources).toEqual({ cpu: 0.25, memory: '0.5Gi' });
    expect(byRun(ledgerPush).resources).toEqual({ cpu: 0.5, memory: '1Gi' });
    expect(byRun(shopBackup).args[0]).toBe('backup');
    expect(await catalog.get('shop', shopPush)).toMatchObject({ kind: 'log', status: 'pending', timeoutMs: 30 * MINUTE });

    // The next tick: the backup's fire time is seen again (a duplicate); shop's push of 03:00 still
    // runs (its lock held), so its 03:05 push is skipped without a page, and ledger's 03:07 one too.
    const next = await dispatch(deploy, { now: () => new Date('2026-11-20T03:07:30Z') })(timer(), invocation('dispatch').context);
    expect(next.runs.map(({ job, kind, outcome }) => `${kind}:${job}:${outcome}`)).toEqual(['backup:shop:duplicate', 'log:shop:skipped', 'log:ledger:skipped']);
    expect(starts()).toHaveLength(0);

    // reconcile settles the ended pushes like backups, releasing the log-push lock only.
    for (const execution of arm.executionsOf('vaultra-runner')) arm.endExecution('vaultra-runner', execution.name, 'Failed', '2026-11-20T03:08:00Z');
    deployment = { ...deployment, now: () => new Date('2026-11-20T03:10:00Z') };
    const settled = await reconcile(deploy)(timer(), invocation('reconcile').context);
    expect(settled.runs.filter((run) => run.runId === shopPush)).toMatchObject([{ job: 'shop', outcome: 'failed' }]);
    expect(await catalog.get('shop', shopPush)).toMatchObject({ kind: 'log', status: 'failed' });
    expect(await catalog.acquireLock(logPushLockName('shop'), 'probe', MINUTE)).toBe(true);
    await catalog.releaseLock(logPushLockName('shop'), 'probe');
  });

  it('the watchdog logs the archive\'s lag per job with logs', async () => {
    const now = new Date('2026-11-25T12:00:00Z');
    const base = new Date(now.getTime() - 6 * 3_600_000);
    await catalog.create({ runId: scheduledRunId('plain', base.toISOString()), job: 'plain', kind: 'backup', status: 'succeeded', startedAt: base.toISOString(), finishedAt: base.toISOString() });
    const pushedAt = new Date(now.getTime() - 4 * MINUTE);
    await catalog.create({
      runId: logPushRunId('ledger', pushedAt.toISOString()),
      job: 'ledger',
      kind: 'log',
      status: 'succeeded',
      startedAt: pushedAt.toISOString(),
      finishedAt: new Date(pushedAt.getTime() + MINUTE).toISOString(),
      log: { kind: 'binlog', format: 'binlog-tar/v1', start: 'binlog.000002:4', end: 'binlog.000002:900', coveredUntil: new Date(now.getTime() - 3 * MINUTE).toISOString(), events: 4 },
    });
    deployment = { ...deployment, now: () => now };
    const { context, lines } = invocation('watchdog');
    const { jobs } = await watchdog(deploy)(timer(), context);
    expect(jobs.find((job) => job.job === 'ledger')!.logs).toEqual({ lagSeconds: 180, lagBreached: false });
    expect(jobs.find((job) => job.job === 'plain')!.logs).toBeUndefined();
    expect(lines.find((line) => line.startsWith('job health {"environment":"pitr","job":"ledger"'))).toContain('"logs":{"lagSeconds":180,"lagBreached":false}');
  });
});

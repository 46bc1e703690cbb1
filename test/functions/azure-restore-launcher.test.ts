/**
 * Write-only backups on Azure: restores and verifies (`readsBackups`) start the restore job, under
 * the restore identity, and backups the runner job, whose identity cannot unwrap or delete; a
 * deployment without a restore job refuses restores and verifies; the tracker finds restore
 * executions. Real `ContainerAppsAPIClient` against a MOCK of ARM (`FakeArm`: no Container Apps
 * emulator exists).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContainerAppsExecutionTracker } from '../../core/adapters/launchers/container-apps-execution-tracker.js';
import { ContainerAppsJobLauncher } from '../../core/adapters/launchers/container-apps-job-launcher.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { LaunchFailedError } from '../../core/errors.js';
import { AZURE_FUNCTION_ENV, FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { azureSettingsFromEnv } from '../../functions/azure/shared/settings.js';
import { FakeArm, type ArmRequest, type WireContainer } from '../support/azure-platform.js';

const IMAGE = 'vaultratest.azurecr.io/vaultra-runner:0.1.0';
const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
const RUNNER_JOB = 'vaultra-prod-runner';
const RESTORE_JOB = 'vaultra-prod-restore';

const request = (runId: string, extra: Partial<LaunchRequest> = {}): LaunchRequest => ({ job: 'shop', runId, command: ['restore', 'latest', '--job', 'shop'], environment: { VAULTRA_CATALOG: 'aztable://acct/runs' }, ...extra });

describe('ContainerAppsJobLauncher picks the job by what the run reads (ARM REST mocked: no Container Apps emulator)', () => {
  let arm: FakeArm;
  const container = (identity: string): WireContainer => ({ name: 'runner', image: IMAGE, env: [{ name: 'AZURE_CLIENT_ID', value: identity }, { name: 'VAULTRA_DEDUP_KEY', secretRef: 'dedup-key' }], resources: { cpu: 1, memory: '2Gi' } });
  const target = (restoreJobName?: string) => ({ resourceGroup: arm.resourceGroup, jobName: RUNNER_JOB, ...(restoreJobName ? { restoreJobName } : {}) });
  const starts = (requests: ArmRequest[]) => requests.filter((sent) => sent.method === 'POST');

  beforeAll(async () => {
    arm = await FakeArm.start();
  });
  afterAll(async () => {
    await arm?.close();
  });
  beforeEach(() => {
    arm.defineJob(RUNNER_JOB, [container('runner-identity')]);
    arm.defineJob(RESTORE_JOB, [container('restore-identity')]);
    arm.take();
  });

  it('starts a restore or verify on the restore job, its container as the restore job defines it (its identity), and a backup on the runner job', async () => {
    const launcher = new ContainerAppsJobLauncher(target(RESTORE_JOB), arm.client(), FAST);
    const restored = await launcher.launch(request('20261207T010000.000Z-r00001', { readsBackups: true }));
    const verified = await launcher.launch(request('20261207T010000.000Z-v00001', { command: ['verify', 'latest'], readsBackups: true }));
    const backedUp = await launcher.launch(request('20261207T010000.000Z-b00001', { command: ['backup'] }));

    const sent = arm.take();
    expect(starts(sent).map((start) => start.path)).toEqual([`${arm.jobPath(RESTORE_JOB)}/start`, `${arm.jobPath(RESTORE_JOB)}/start`, `${arm.jobPath(RUNNER_JOB)}/start`]);
    expect(restored.taskId).toMatch(new RegExp(`^${RESTORE_JOB}-`));
    expect(verified.taskId).toMatch(new RegExp(`^${RESTORE_JOB}-`));
    expect(backedUp.taskId).toMatch(new RegExp(`^${RUNNER_JOB}-`));
    const [restoreStart] = starts(sent);
    expect((restoreStart!.body as { containers: WireContainer[] }).containers).toEqual([
      {
        name: 'runner',
        image: IMAGE,
        args: ['restore', 'latest', '--job', 'shop'],
        env: [
          { name: 'AZURE_CLIENT_ID', value: 'restore-identity' },
          { name: 'VAULTRA_DEDUP_KEY', secretRef: 'dedup-key' },
          { name: 'VAULTRA_CATALOG', value: 'aztable://acct/runs' },
          { name: 'VAULTRA_JOB', value: 'shop' },
          { name: 'VAULTRA_RUN_ID', value: '20261207T010000.000Z-r00001' },
        ],
        resources: { cpu: 1, memory: '2Gi' },
      },
    ]);
  });

  it('refuses a restore or verify when the deployment names no restore job, in one line that says to re-apply, without calling ARM; backups still start', async () => {
    const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
    const launching = launcher.launch(request('20261207T010000.000Z-r00002', { readsBackups: true }));
    await expect(launching).rejects.toThrow(LaunchFailedError);
    await expect(launching).rejects.toMatchObject({
      retryable: false,
      message: 'cannot start a restore or verify: the deployment names no restore job (VAULTRA_CONTAINER_APPS_RESTORE_JOB); run terraform apply with the Vaultra module again, which creates it',
    });
    expect(arm.take()).toEqual([]);
    await launcher.launch(request('20261207T010000.000Z-b00002', { command: ['backup'] }));
    expect(starts(arm.take()).map((start) => start.path)).toEqual([`${arm.jobPath(RUNNER_JOB)}/start`]);
  });

  it('says which variable to check when the named restore job does not exist', async () => {
    const launcher = new ContainerAppsJobLauncher(target('vaultra-prod-restore-gone'), arm.client(), FAST);
    await expect(launcher.launch(request('20261207T010000.000Z-r00004', { readsBackups: true }))).rejects.toThrow(/404.*check VAULTRA_CONTAINER_APPS_RESTORE_JOB, or run terraform apply/);
  });

  it('tracks the runner job, then the restore job for the runs it did not find', async () => {
    const launcher = new ContainerAppsJobLauncher(target(RESTORE_JOB), arm.client(), FAST);
    const backup = await launcher.launch(request('20261207T030000.000Z-b00003', { command: ['backup'] }));
    const restore = await launcher.launch(request('20261207T040000.000Z-r00003', { readsBackups: true }));
    arm.endExecution(RESTORE_JOB, restore.taskId, 'Succeeded', '2026-12-07T04:10:00Z');
    const tracker = new ContainerAppsExecutionTracker(target(RESTORE_JOB), arm.client());
    arm.take();

    expect((await tracker.statusOf(['20261207T030000.000Z-b00003'])).get('20261207T030000.000Z-b00003')).toMatchObject({ taskId: backup.taskId, state: 'running' });
    expect(arm.take().map((sent) => sent.path)).toEqual([`${arm.jobPath(RUNNER_JOB)}/executions`]);

    const both = await tracker.statusOf(['20261207T030000.000Z-b00003', '20261207T040000.000Z-r00003']);
    expect(arm.take().map((sent) => sent.path)).toEqual([`${arm.jobPath(RUNNER_JOB)}/executions`, `${arm.jobPath(RESTORE_JOB)}/executions`]);
    expect(both.get('20261207T040000.000Z-r00003')).toMatchObject({ taskId: restore.taskId, state: 'succeeded', finishedAt: '2026-12-07T04:10:00.000Z' });
  });
});

describe('functions/azure settings with the restore job', () => {
  const config = `
version: 1
environments:
  prod:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-prod, storageAccount: acmeprod01 }
    jobs:
      shop:
        source: "secret+azure://acme/shop-db"
        schedule: { cron: "0 3 * * *" }
`;
  const env = {
    [FUNCTION_ENV.environmentName]: 'prod',
    [FUNCTION_ENV.configJson]: bundledEnvironmentJson(config, 'prod'),
    [FUNCTION_ENV.storageUrl]: 'azblob://acmeprod01/vaultra/backups',
    [FUNCTION_ENV.catalogUrl]: 'aztable://acmeprod01/runs',
    [AZURE_FUNCTION_ENV.subscriptionId]: '00000000-0000-0000-0000-000000000000',
    [AZURE_FUNCTION_ENV.containerAppsJob]: RUNNER_JOB,
  };

  it('reads VAULTRA_CONTAINER_APPS_RESTORE_JOB as Terraform writes it; a deployment from before it has none', () => {
    expect(azureSettingsFromEnv({ ...env, [AZURE_FUNCTION_ENV.containerAppsRestoreJob]: RESTORE_JOB }).containerApps).toMatchObject({ jobName: RUNNER_JOB, restoreJobName: RESTORE_JOB });
    expect(azureSettingsFromEnv(env).containerApps).not.toHaveProperty('restoreJobName');
    expect(azureSettingsFromEnv({ ...env, [AZURE_FUNCTION_ENV.containerAppsRestoreJob]: '  ' }).containerApps).not.toHaveProperty('restoreJobName');
  });
});

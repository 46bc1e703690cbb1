/**
 * Write-only backups on GCP: restores and verifies (`readsBackups`) run on the restore job, under
 * the restore service account, and backups on the runner job, whose account cannot decrypt or
 * delete; a deployment without a restore job refuses restores and verifies; the tracker finds
 * restore executions. Cloud Run has no emulator: the real `@google-cloud/run` clients talk REST to
 * the local stand-in of test/support/gcp-platform.ts, whose requests are asserted.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CloudRunJobLauncher } from '../../core/adapters/launchers/cloud-run-job-launcher.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { ConfigError, LaunchFailedError } from '../../core/errors.js';
import { FUNCTION_ENV, GCP_FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { launcherOf, trackerOf } from '../../functions/gcp/shared/clients.js';
import { gcpSettingsFromEnv } from '../../functions/gcp/shared/settings.js';
import { startCloudRunApi, type CloudRunApi } from '../support/gcp-platform.js';

const RUNNER_JOB = 'projects/vaultra-test/locations/europe-west1/jobs/vaultra-prod-runner';
const RESTORE_JOB = 'projects/vaultra-test/locations/europe-west1/jobs/vaultra-prod-restore';
const DRILL_JOB = 'projects/vaultra-test/locations/europe-west1/jobs/vaultra-prod-drill-shop';

const CONFIG = `
version: 1
environments:
  prod:
    cloud: gcp
    region: europe-west1
    gcp: { project: vaultra-test }
    defaults: { encryption: { kms: true } }
    jobs:
      shop:
        source: "secret+gcp://projects/vaultra-test/secrets/shop"
        schedule: { cron: "0 3 * * *" }
`;

const ENV = {
  [FUNCTION_ENV.environmentName]: 'prod',
  [FUNCTION_ENV.configJson]: bundledEnvironmentJson(CONFIG, 'prod'),
  [FUNCTION_ENV.storageUrl]: 'gs://acme-backups/vaultra',
  [FUNCTION_ENV.catalogUrl]: 'firestore://vaultra-test/vaultra-runs',
  [GCP_FUNCTION_ENV.runJob]: RUNNER_JOB,
};

const request = (runId: string, extra: Partial<LaunchRequest> = {}): LaunchRequest => ({ job: 'shop', runId, command: ['restore', 'latest', '--job', 'shop'], environment: { VAULTRA_CATALOG: 'firestore://vaultra-test/runs' }, ...extra });

describe('CloudRunJobLauncher picks the job by what the run reads (Cloud Run Admin API v2 on a local REST server: no emulator exists)', () => {
  let cloudRun: CloudRunApi;
  beforeAll(async () => {
    cloudRun = await startCloudRunApi();
  });
  afterAll(async () => {
    await cloudRun?.close();
  });
  beforeEach(() => {
    cloudRun.requests.length = 0;
  });

  it('starts a restore or verify on the restore job with the same overrides a backup gets, and a backup on the runner job', async () => {
    const launcher = new CloudRunJobLauncher({ jobName: RUNNER_JOB, restoreJobName: RESTORE_JOB }, cloudRun.jobsClient());
    const restored = await launcher.launch(request('20261207T010000.000Z-r00001', { readsBackups: true }));
    const verified = await launcher.launch(request('20261207T010000.000Z-v00001', { command: ['verify', 'latest', '--job', 'shop'], readsBackups: true }));
    const backedUp = await launcher.launch(request('20261207T010000.000Z-b00001', { command: ['backup', '--spec', '{}'] }));

    expect(cloudRun.requests.map((sent) => sent.path)).toEqual([`/v2/${RESTORE_JOB}:run`, `/v2/${RESTORE_JOB}:run`, `/v2/${RUNNER_JOB}:run`]);
    expect(restored.taskId).toMatch(new RegExp(`^${RESTORE_JOB}/executions/`));
    expect(verified.taskId).toMatch(new RegExp(`^${RESTORE_JOB}/executions/`));
    expect(backedUp.taskId).toMatch(new RegExp(`^${RUNNER_JOB}/executions/`));
    expect(cloudRun.requests[0]!.body).toEqual({
      overrides: {
        containerOverrides: [
          {
            args: ['restore', 'latest', '--job', 'shop'],
            env: [
              { name: 'VAULTRA_CATALOG', value: 'firestore://vaultra-test/runs' },
              { name: 'VAULTRA_JOB', value: 'shop' },
              { name: 'VAULTRA_RUN_ID', value: '20261207T010000.000Z-r00001' },
            ],
          },
        ],
        taskCount: 1,
      },
    });
  });

  it('starts a drill on its drill job even though it reads backups: the drill identity, not the restore one', async () => {
    const launcher = new CloudRunJobLauncher({ jobName: RUNNER_JOB, restoreJobName: RESTORE_JOB, drillJobNames: { shop: DRILL_JOB } }, cloudRun.jobsClient());
    await launcher.launch(request('20261207T010000.000Z-d00001', { command: ['drill', 'latest'], readsBackups: true, drill: true }));
    expect(cloudRun.requests.map((sent) => sent.path)).toEqual([`/v2/${DRILL_JOB}:run`]);
  });

  it('refuses a restore or verify when the deployment names no restore job, in one line that says to re-apply, without calling Cloud Run; backups still start', async () => {
    const launcher = new CloudRunJobLauncher({ jobName: RUNNER_JOB }, cloudRun.jobsClient());
    const launching = launcher.launch(request('20261207T010000.000Z-r00002', { readsBackups: true }));
    await expect(launching).rejects.toThrow(LaunchFailedError);
    await expect(launching).rejects.toMatchObject({
      retryable: false,
      message: 'cannot start a restore or verify: the deployment names no restore job (VAULTRA_CLOUD_RUN_RESTORE_JOB); apply the Vaultra Terraform module again, which creates it',
    });
    expect(cloudRun.requests).toEqual([]);
    await launcher.launch(request('20261207T010000.000Z-b00002', { command: ['backup'] }));
    expect(cloudRun.requests.map((sent) => sent.path)).toEqual([`/v2/${RUNNER_JOB}:run`]);
  });

  it('refuses a malformed restore job name when built', () => {
    expect(() => new CloudRunJobLauncher({ jobName: RUNNER_JOB, restoreJobName: 'vaultra-prod-restore' })).toThrow(
      new ConfigError('"vaultra-prod-restore", the restore job, is not a Cloud Run job name: expected projects/<project>/locations/<region>/jobs/<job>'),
    );
  });
});

describe('functions/gcp settings, launcher and tracker with the restore job', () => {
  it('reads VAULTRA_CLOUD_RUN_RESTORE_JOB as Terraform writes it; a deployment from before it has none', () => {
    expect(gcpSettingsFromEnv({ ...ENV, [GCP_FUNCTION_ENV.restoreJob]: RESTORE_JOB }).restoreJob).toBe(RESTORE_JOB);
    expect(gcpSettingsFromEnv(ENV).restoreJob).toBeUndefined();
    expect(launcherOf(gcpSettingsFromEnv({ ...ENV, [GCP_FUNCTION_ENV.restoreJob]: RESTORE_JOB })).target.restoreJobName).toBe(RESTORE_JOB);
  });

  it('tracks the runner job, then the restore job for the runs it did not find', async () => {
    const cloudRun = await startCloudRunApi();
    try {
      const settings = gcpSettingsFromEnv({ ...ENV, [GCP_FUNCTION_ENV.restoreJob]: RESTORE_JOB });
      const launcher = launcherOf(settings, cloudRun.jobsClient());
      const backup = await launcher.launch(request('20261207T030000.000Z-b00003', { command: ['backup'] }));
      const restore = await launcher.launch(request('20261207T040000.000Z-r00003', { readsBackups: true }));
      cloudRun.finish(restore.taskId, 'succeeded');
      const tracker = trackerOf(settings, cloudRun.executionsClient());

      cloudRun.requests.length = 0;
      const onlyBackup = await tracker.statusOf(['20261207T030000.000Z-b00003']);
      expect(cloudRun.requests.map((sent) => sent.path)).toEqual([`/v2/${RUNNER_JOB}/executions`]);
      expect(onlyBackup.get('20261207T030000.000Z-b00003')).toMatchObject({ taskId: backup.taskId, state: 'running' });

      cloudRun.requests.length = 0;
      const both = await tracker.statusOf(['20261207T030000.000Z-b00003', '20261207T040000.000Z-r00003']);
      expect(cloudRun.requests.map((sent) => sent.path)).toEqual([`/v2/${RUNNER_JOB}/executions`, `/v2/${RESTORE_JOB}/executions`]);
      expect(both.get('20261207T040000.000Z-r00003')).toMatchObject({ taskId: restore.taskId, state: 'succeeded' });
    } finally {
      await cloudRun.close();
    }
  });
});

/**
 * Scheduled drills on Container Apps (issue 20): the launcher starts the config job's drill job
 * (named by `containerAppsDrillJobName`, the convention infra/azure follows) with the runner's
 * arguments and its scratch-server container repeated as defined, and the tracker finds drill
 * executions in the drill jobs. Real `ContainerAppsAPIClient` against a MOCK of ARM (`FakeArm`:
 * no Container Apps emulator exists).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { containerAppsDrillJobName } from '../../core/adapters/launchers/container-apps-drill-job.js';
import { ContainerAppsExecutionTracker } from '../../core/adapters/launchers/container-apps-execution-tracker.js';
import { ContainerAppsJobLauncher } from '../../core/adapters/launchers/container-apps-job-launcher.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { FakeArm, type WireContainer } from '../support/azure-platform.js';

const IMAGE = 'vaultratest.azurecr.io/vaultra-runner:0.1.0';
const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
const RUNNER_JOB = 'vaultra-prod-runner';
const DRILL_JOB = 'vaultra-prod-drill-shop';

describe('containerAppsDrillJobName', () => {
  it('is readable when it can be, a short hash otherwise, never longer than 32 characters', () => {
    expect(containerAppsDrillJobName(RUNNER_JOB, 'shop')).toBe(DRILL_JOB);
    // A job name Container Apps refuses (`.`, `_`, `--`) or one too long gets the hash form.
    const hashed = ['shop.eu', 'shop_eu', 'a--b', 'a-very-long-job-name-indeed'].map((job) => containerAppsDrillJobName(RUNNER_JOB, job));
    for (const name of hashed) expect(name).toMatch(/^vaultra-prod-d[0-9a-f]{6}$/);
    expect(new Set(hashed).size).toBe(4);
    expect(containerAppsDrillJobName('vaultra-a-long-envi-1f2e-runner', 'x.y')).toHaveLength(32);
  });
});

describe('Container Apps drills (ARM REST mocked: no Container Apps emulator)', () => {
  let arm: FakeArm;
  const runner: WireContainer = { name: 'runner', image: IMAGE, env: [{ name: 'AZURE_CLIENT_ID', value: 'drill-identity' }], resources: { cpu: 0.5, memory: '1Gi' } };
  const server: WireContainer = { name: 'scratch-server', image: 'postgres:17', command: ['sh', '-c', 'docker-entrypoint.sh postgres'], env: [{ name: 'POSTGRES_HOST_AUTH_METHOD', value: 'trust' }], resources: { cpu: 0.5, memory: '1Gi' } };
  const target = () => ({ resourceGroup: arm.resourceGroup, jobName: RUNNER_JOB });
  const drill = (runId: string, extra: Partial<LaunchRequest> = {}): LaunchRequest => ({
    job: 'shop',
    runId,
    command: ['drill', 'latest', '--job', 'shop', '--run-id', runId, '--scratch', 'postgres://postgres@127.0.0.1:5432/vaultra_drill', '--json'],
    environment: { VAULTRA_CATALOG: 'aztable://acct/runs' },
    readsBackups: true,
    drill: true,
    cpu: 1024,
    memoryMiB: 2048,
    ...extra,
  });

  beforeAll(async () => {
    arm = await FakeArm.start();
  });
  afterAll(async () => {
    await arm?.close();
  });
  beforeEach(() => {
    arm.defineJob(RUNNER_JOB, [{ ...runner, env: [{ name: 'AZURE_CLIENT_ID', value: 'runner-identity' }] }]);
    arm.defineJob(DRILL_JOB, [runner, server]);
    arm.take();
  });

  it('starts the drill job, not the runner\'s, with the run\'s arguments and the scratch server as defined, at the size the job splits', async () => {
    const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
    const runId = '20261122T050000.000Z-d1d1d1';
    const { taskId } = await launcher.launch(drill(runId));

    expect(taskId).toMatch(new RegExp(`^${DRILL_JOB}-`));
    expect(arm.executionsOf(RUNNER_JOB)).toEqual([]);
    const start = arm.take().find((seen) => seen.method === 'POST')!;
    expect(start.path).toBe(`${arm.jobPath(DRILL_JOB)}/start`);
    expect(start.body).toEqual({
      containers: [
        {
          name: 'runner',
          image: IMAGE,
          args: drill(runId).command,
          env: [
            { name: 'AZURE_CLIENT_ID', value: 'drill-identity' },
            { name: 'VAULTRA_CATALOG', value: 'aztable://acct/runs' },
            { name: 'VAULTRA_JOB', value: 'shop' },
            { name: 'VAULTRA_RUN_ID', value: runId },
          ],
          // The job's own split, not the request's 1024/2048 on the runner alone (the sum would be refused).
          resources: { cpu: 0.5, memory: '1Gi' },
        },
        server,
      ],
    });
  });

  it('a job without a drill job (no drill.schedule, or not applied yet) fails at once saying what to do', async () => {
    const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
    await expect(launcher.launch(drill('20261122T050000.000Z-d2d2d2', { job: 'orders' }))).rejects.toMatchObject({
      name: 'LaunchFailedError',
      retryable: false,
      message: expect.stringMatching(/vaultra-prod-drill-orders .*404 .*no drill job for this config job: give it drill.schedule and run terraform apply/),
    });
  });

  it('the tracker finds a drill\'s execution in its drill job and a backup\'s in the runner\'s', async () => {
    const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
    const drillRun = '20261122T050000.000Z-d3d3d3';
    const backupRun = '20261122T030000.000Z-b3b3b3';
    const drilled = await launcher.launch(drill(drillRun));
    const backedUp = await launcher.launch({ job: 'shop', runId: backupRun, command: ['backup'], environment: {} });
    arm.endExecution(DRILL_JOB, drilled.taskId, 'Failed', '2026-11-22T05:10:00Z');

    const tracker = new ContainerAppsExecutionTracker(target(), arm.client(), [DRILL_JOB]);
    const found = await tracker.statusOf([drillRun, backupRun]);

    expect(found.get(drillRun)).toMatchObject({ taskId: drilled.taskId, state: 'failed', reason: `Container Apps execution ${drilled.taskId} ended Failed` });
    expect(found.get(backupRun)).toMatchObject({ taskId: backedUp.taskId, state: 'running' });
  });

  it('a drill job that does not exist lists nothing, and the runner\'s executions are still reported', async () => {
    const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
    const backupRun = '20261122T030000.000Z-b4b4b4';
    const backedUp = await launcher.launch({ job: 'shop', runId: backupRun, command: ['backup'], environment: {} });
    const tracker = new ContainerAppsExecutionTracker(target(), arm.client(), ['vaultra-prod-drill-not-applied', DRILL_JOB]);
    expect((await tracker.statusOf([backupRun])).get(backupRun)).toMatchObject({ taskId: backedUp.taskId, state: 'running' });
  });
});

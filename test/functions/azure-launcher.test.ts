/**
 * ContainerAppsJobLauncher and ContainerAppsExecutionTracker against the real
 * `ContainerAppsAPIClient` and a MOCK of ARM (`FakeArm`: HTTPS on 127.0.0.1, since no Container
 * Apps emulator exists). Each test asserts the exact requests the SDK sent.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContainerAppsJobLauncher } from '../../core/adapters/launchers/container-apps-job-launcher.js';
import { ContainerAppsExecutionTracker } from '../../core/adapters/launchers/container-apps-execution-tracker.js';
import { ConfigError, LaunchFailedError, NotFoundError } from '../../core/errors.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { FakeArm, type ArmRequest, type FakeExecution, type WireContainer } from '../support/azure-platform.js';

const IMAGE = 'vaultratest.azurecr.io/vaultra-runner:0.1.0';
const FAST = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };
const API_VERSION = '2025-07-01';

const request = (runId: string, extra: Partial<LaunchRequest> = {}): LaunchRequest => ({
  job: 'shop',
  runId,
  command: ['backup', 'secret+azure://vault/shop', '--run-id', runId],
  environment: { VAULTRA_CATALOG: 'aztable://acct/runs' },
  ...extra,
});

const execution = (name: string, status: string, env: { name: string; value?: string }[], extra: Partial<FakeExecution> = {}): FakeExecution => ({
  name,
  status,
  startTime: '2026-11-22T03:00:05Z',
  template: { containers: [{ name: 'runner', image: IMAGE, env }] },
  ...extra,
});

describe('Container Apps launcher and tracker (ARM REST mocked: no Container Apps emulator)', () => {
  let arm: FakeArm;
  const JOB = 'vaultra-runner';
  const runner: WireContainer = { name: 'runner', image: IMAGE, env: [{ name: 'AZURE_CLIENT_ID', value: 'runner-identity' }, { name: 'VAULTRA_CATALOG', value: 'from-the-job' }], resources: { cpu: 0.5, memory: '1Gi' } };
  const target = () => ({ resourceGroup: arm.resourceGroup, jobName: JOB });
  const paths = (requests: ArmRequest[]) => requests.map((seen) => `${seen.method} ${seen.path.replace(arm.jobPath(JOB), '<job>').replace(/containerappsjobOperationResults\/.*/, 'containerappsjobOperationResults/<id>')}`);

  beforeAll(async () => {
    arm = await FakeArm.start();
  });
  afterAll(async () => {
    await arm?.close();
  });
  beforeEach(() => {
    arm.defineJob(JOB, [runner]);
    arm.take();
  });

  describe('ContainerAppsJobLauncher', () => {
    it('repeats what the job defines (entrypoint, environment with secret references, init containers) and overrides arguments, run variables and size', async () => {
      arm.defineJob(
        JOB,
        [{ ...runner, command: ['node', '/app/vaultra.mjs'], env: [...runner.env!, { name: 'PGSSLROOTCERT_PEM', secretRef: 'pg-ca' }] }],
        [{ name: 'wait-for-network', image: 'busybox:1.36', command: ['sh', '-c', 'sleep 1'], resources: { cpu: 0.25, memory: '0.5Gi' } }],
      );
      const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
      const { taskId } = await launcher.launch(request('20261122T030000.000Z-aaaaaa', { cpu: 1024, memoryMiB: 3072 }));
      expect(taskId).toMatch(/^vaultra-runner-[0-9a-f]{7}$/);
      const seen = arm.take();
      expect(paths(seen)).toEqual(['GET <job>', 'POST <job>/start', `GET /subscriptions/${arm.subscriptionId}/providers/Microsoft.App/locations/westeurope/containerappsjobOperationResults/<id>`]);
      expect(seen.every((one) => one.apiVersion === API_VERSION && one.authorization === `Bearer ${arm.credential.token}`)).toBe(true);
      expect(seen[1]!.body).toEqual({
        containers: [
          {
            name: 'runner',
            image: IMAGE,
            command: ['node', '/app/vaultra.mjs'],
            args: ['backup', 'secret+azure://vault/shop', '--run-id', '20261122T030000.000Z-aaaaaa'],
            env: [
              { name: 'AZURE_CLIENT_ID', value: 'runner-identity' },
              { name: 'PGSSLROOTCERT_PEM', secretRef: 'pg-ca' },
              // The run's own variables replace the job's of the same name.
              { name: 'VAULTRA_CATALOG', value: 'aztable://acct/runs' },
              { name: 'VAULTRA_JOB', value: 'shop' },
              { name: 'VAULTRA_RUN_ID', value: '20261122T030000.000Z-aaaaaa' },
            ],
            resources: { cpu: 1, memory: '3Gi' },
          },
        ],
        initContainers: [{ name: 'wait-for-network', image: 'busybox:1.36', command: ['sh', '-c', 'sleep 1'], resources: { cpu: 0.25, memory: '0.5Gi' } }],
      });
      expect(arm.executionsOf(JOB).find((one) => one.name === taskId)).toMatchObject({ status: 'Running' });
    });

    it('reads the job once, then again after ten minutes, so a redeployed image is picked up', async () => {
      let now = Date.parse('2026-11-22T03:00:00Z');
      const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST, () => now);
      await launcher.launch(request('20261122T030000.000Z-bbbbb1'));
      await launcher.launch(request('20261122T030000.000Z-bbbbb2'));
      arm.defineJob(JOB, [{ ...runner, image: `${IMAGE}-patched` }]);
      now += 9 * 60_000;
      await launcher.launch(request('20261122T030000.000Z-bbbbb3'));
      now += 2 * 60_000;
      await launcher.launch(request('20261122T030000.000Z-bbbbb4'));
      const seen = arm.take().filter((one) => !one.path.includes('OperationResults'));
      expect(paths(seen)).toEqual(['GET <job>', 'POST <job>/start', 'POST <job>/start', 'POST <job>/start', 'GET <job>', 'POST <job>/start']);
      const images = seen.filter((one) => one.method === 'POST').map((one) => (one.body as { containers: WireContainer[] }).containers[0]!.image);
      expect(images).toEqual([IMAGE, IMAGE, IMAGE, `${IMAGE}-patched`]);
    });

    it('an execution ARM accepted is started, even if the SDK\'s first look at the operation fails', async () => {
      arm.failNext('operation', { status: 500, code: 'InternalServerError', message: 'operation status unavailable' });
      const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
      const { taskId } = await launcher.launch(request('20261122T030000.000Z-cccccc'));
      expect(arm.executionsOf(JOB).map((one) => one.name)).toContain(taskId);
      expect(paths(arm.take()).filter((path) => path.startsWith('POST'))).toHaveLength(1);
    });

    it('gives up after its attempts on throttling, as a retryable LaunchFailedError naming ARM\'s code', async () => {
      const throttled = { status: 429, code: 'TooManyRequests', message: 'Too many requests', headers: { 'retry-after': '1' } };
      arm.failNext('start', throttled, throttled, throttled);
      const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
      const error = await launcher.launch(request('20261122T030000.000Z-dddddd')).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(LaunchFailedError);
      expect(error).toMatchObject({ retryable: true, message: expect.stringContaining('429 TooManyRequests') });
      expect(paths(arm.take())).toEqual(['GET <job>', 'POST <job>/start', 'POST <job>/start', 'POST <job>/start']);
    });

    it('a job that does not exist, or has no runner container, fails at once with what to check; a failed read is not cached', async () => {
      const launcher = new ContainerAppsJobLauncher({ resourceGroup: arm.resourceGroup, jobName: 'no-such-job' }, arm.client(), FAST);
      await expect(launcher.launch(request('20261122T030000.000Z-eeeee1'))).rejects.toMatchObject({ name: 'LaunchFailedError', retryable: false, message: expect.stringMatching(/404 ResourceNotFound .*check VAULTRA_CONTAINER_APPS_JOB/) });
      expect(paths(arm.take())).toEqual([`GET ${arm.jobPath('no-such-job')}`]);

      arm.defineJob(JOB, [{ name: 'sidecar', image: 'nginx' }]);
      const wrong = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
      await expect(wrong.launch(request('20261122T030000.000Z-eeeee2'))).rejects.toThrow('Container Apps job vaultra-runner has no container named runner (it has sidecar)');
      arm.defineJob(JOB, [runner]);
      await expect(wrong.launch(request('20261122T030000.000Z-eeeee3'))).resolves.toMatchObject({ taskId: expect.stringMatching(/^vaultra-runner-/) });
    });

    it('a refused identity is not retried and says which permissions the function app needs', async () => {
      arm.failNext('get-job', { status: 403, code: 'AuthorizationFailed', message: "The client 'x' does not have authorization to perform action 'Microsoft.App/jobs/read'" });
      const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
      await expect(launcher.launch(request('20261122T030000.000Z-ffffff'))).rejects.toMatchObject({ retryable: false, message: expect.stringContaining('needs Microsoft.App/jobs/read and Microsoft.App/jobs/start/action') });
      expect(paths(arm.take())).toEqual(['GET <job>']);
    });

    it('an aborted launch rejects with the abort, not as a launch failure', async () => {
      const launcher = new ContainerAppsJobLauncher(target(), arm.client(), FAST);
      const error = await launcher.launch(request('20261122T030000.000Z-abcabc'), AbortSignal.abort()).catch((caught: unknown) => caught);
      expect(error).not.toBeInstanceOf(LaunchFailedError);
      expect((error as Error).name).toBe('AbortError');
    });
  });

  describe('ContainerAppsExecutionTracker', () => {
    const env = (runId: string) => [{ name: 'VAULTRA_JOB', value: 'shop' }, { name: 'VAULTRA_RUN_ID', value: runId }];

    it('maps every Container Apps state, matching executions to runs by VAULTRA_RUN_ID over all pages', async () => {
      arm.pageSize = 2;
      arm.defineJob('states', [runner]);
      const states = ['Running', 'Processing', 'Unknown', 'Succeeded', 'Failed', 'Stopped', 'Degraded'];
      states.forEach((status, i) => arm.addExecution('states', execution(`exec-${i}`, status, env(`20261122T030000.000Z-00000${i}`), status === 'Running' || status === 'Processing' || status === 'Unknown' ? {} : { endTime: '2026-11-22T03:10:00Z' })));
      // Executions Vaultra did not start, or whose run id sits in another container, are ignored.
      arm.addExecution('states', execution('by-hand', 'Failed', []));
      arm.addExecution('states', { ...execution('sidecar-only', 'Failed', []), template: { containers: [{ name: 'sidecar', image: 'x', env: env('20261122T030000.000Z-000009') }] } });
      const tracker = new ContainerAppsExecutionTracker({ resourceGroup: arm.resourceGroup, jobName: 'states' }, arm.client());
      const ids = [...states.keys(), 9].map((i) => `20261122T030000.000Z-00000${i}`);
      const found = await tracker.statusOf([...ids, '20261122T030000.000Z-999999']);
      expect(Object.fromEntries([...found].map(([runId, status]) => [runId.slice(-1), `${status.taskId} ${status.state}`]))).toEqual({
        '0': 'exec-0 running',
        '1': 'exec-1 running',
        '2': 'exec-2 running',
        '3': 'exec-3 succeeded',
        '4': 'exec-4 failed',
        '5': 'exec-5 failed',
        '6': 'exec-6 failed',
      });
      expect(found.get(ids[5]!)).toEqual({ runId: ids[5], taskId: 'exec-5', state: 'failed', reason: 'Container Apps execution exec-5 ended Stopped', finishedAt: '2026-11-22T03:10:00.000Z' });
      expect(found.get(ids[0]!)).toEqual({ runId: ids[0], taskId: 'exec-0', state: 'running' });
      // Five pages of two, each following ARM's nextLink.
      const seen = arm.take();
      expect(seen.map((one) => `${one.method} ${one.path.replace(arm.jobPath('states'), '<job>')} ${one.apiVersion} ${one.query.$skiptoken ?? '-'}`)).toEqual(
        ['-', '2', '4', '6', '8'].map((skip) => `GET <job>/executions ${API_VERSION} ${skip}`),
      );
      arm.pageSize = 50;
    });

    it('a run with several executions (a retried start) reports the running one, else the one that succeeded', async () => {
      arm.defineJob('retried', [runner]);
      const tracker = new ContainerAppsExecutionTracker({ resourceGroup: arm.resourceGroup, jobName: 'retried' }, arm.client());
      const runId = '20261122T040000.000Z-aaaaaa';
      arm.addExecution('retried', execution('first', 'Failed', env(runId), { endTime: '2026-11-22T04:00:30Z' }));
      arm.addExecution('retried', execution('second', 'Running', env(runId)));
      expect((await tracker.statusOf([runId])).get(runId)).toMatchObject({ taskId: 'second', state: 'running' });
      arm.endExecution('retried', 'second', 'Succeeded', '2026-11-22T04:20:00Z');
      expect((await tracker.statusOf([runId])).get(runId)).toMatchObject({ taskId: 'second', state: 'succeeded', finishedAt: '2026-11-22T04:20:00.000Z' });
    });

    it('asks nothing for no runs; translates a missing job and a refused identity', async () => {
      const tracker = new ContainerAppsExecutionTracker(target(), arm.client());
      expect((await tracker.statusOf([])).size).toBe(0);
      expect(arm.take()).toEqual([]);
      const missing = new ContainerAppsExecutionTracker({ resourceGroup: arm.resourceGroup, jobName: 'gone' }, arm.client());
      await expect(missing.statusOf(['20261122T030000.000Z-000000'])).rejects.toBeInstanceOf(NotFoundError);
      arm.failNext('list-executions', { status: 403, code: 'AuthorizationFailed', message: 'no read on executions' });
      await expect(tracker.statusOf(['20261122T030000.000Z-000000'])).rejects.toThrow(ConfigError);
    });
  });
});

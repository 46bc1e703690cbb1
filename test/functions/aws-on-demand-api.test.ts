/**
 * The console's on-demand API client for AWS (`LambdaOnDemandApi`) through the real Lambda
 * client, against the real api handler (functions/aws/api.ts) over moto's DynamoDB and S3. moto
 * runs functions only in Docker, so a local server answers Lambda's Invoke path with that
 * handler; and ECS RunTask is a recording launcher (moto fails RunTask with awsvpc networking).
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaOnDemandApi } from '../../core/adapters/on-demand-api/lambda-on-demand-api.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { ConfigError, LaunchFailedError } from '../../core/errors.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { TASK_RUN_ENV } from '../../core/ports/job-launcher.js';
import type { AwsDeployment } from '../../functions/aws/shared/deployment-types.js';
import { createHandler as api } from '../../functions/aws/api.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { startCloudRun } from '../../runner/tui/cloud-actions.js';
import { awsDeploymentFromEnv, deployAwsPlatform } from '../support/aws-platform.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { requireMoto } from '../support/requirements.js';
import { startLambdaInvokeServer, type LambdaInvokeServer } from '../support/lambda-invoke-server.js';

const CONFIG = `
version: 1
environments:
  tui:
    cloud: aws
    region: eu-west-1
    defaults:
      encryption: { kms: true }
    jobs:
      shop:
        source: "secret+aws://tui/shop"
        schedule: { cron: "0 3 * * *" }
`;

describe('LambdaOnDemandApi → the real api handler over moto (Invoke served locally: moto runs functions only in Docker; RunTask recorded)', () => {
  const moto = requireMoto();
  if (!moto) return;

  let server: LambdaInvokeServer;
  let deployment: AwsDeployment;
  let catalog: DynamoDbCatalog;
  const launched: LaunchRequest[] = [];
  const clientFor = (functionName: string) =>
    new LambdaOnDemandApi({ functionName, region: 'eu-west-1', client: new LambdaClient({ ...motoClientConfig(moto, 'eu-west-1'), endpoint: server.endpoint, maxAttempts: 1 }) });

  beforeAll(async () => {
    const platform = await deployAwsPlatform(moto, { environmentName: 'tui', configJson: bundledEnvironmentJson(CONFIG, 'tui') });
    Object.assign(process.env, platform.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });
    deployment = {
      ...awsDeploymentFromEnv(process.env),
      launcher: {
        launch: (request) => {
          launched.push(request);
          return Promise.resolve({ taskId: `arn:aws:ecs:eu-west-1:123456789012:task/vaultra-tui/${String(launched.length).padStart(32, '0')}` });
        },
      },
    };
    catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
    const handler = api(() => Promise.resolve(deployment));
    server = await startLambdaInvokeServer({ 'vaultra-tui-api': (event) => handler(event) }, { deny: new Set(['vaultra-denied-api']) });
  });
  afterAll(() => server?.close());

  it('starts a verify and answers the run id the runner will record it under (the launched task gets it as VAULTRA_RUN_ID)', async () => {
    const started = await startCloudRun(clientFor('vaultra-tui-api'), { action: 'verify', job: 'shop', runId: 'latest' });

    const request = launched.at(-1)!;
    expect(started.job).toBe('shop');
    expect(started.runId).toBe(request.runId);
    expect(started.taskId).toMatch(/^arn:aws:ecs:eu-west-1:123456789012:task\/vaultra-tui\/0+1$/);
    expect(request.command.slice(0, 2)).toEqual(['verify', 'latest']);
    expect(request.readsBackups).toBe(true);
    // The launcher puts the request's run id in the task's environment: what launchedRunId() reads.
    expect(TASK_RUN_ENV.runId).toBe('VAULTRA_RUN_ID');
    expect(server.invocations.at(-1)).toMatchObject({ functionName: 'vaultra-tui-api', invocationType: 'RequestResponse', payload: { action: 'verify', job: 'shop', runId: 'latest' } });
  });

  it("answers a refusal as the function's one line, which the console turns into the error its kind names", async () => {
    const answer = await clientFor('vaultra-tui-api').send({ action: 'status', job: 'shop', runId: '20261122T031502.123Z-3f9c2a' });
    expect(answer).toEqual({ ok: false, error: { kind: 'not-found', message: 'job shop has no run 20261122T031502.123Z-3f9c2a' } });

    const refused = startCloudRun(clientFor('vaultra-tui-api'), { action: 'verify', job: 'nope' });
    await expect(refused).rejects.toBeInstanceOf(ConfigError);
    await expect(refused).rejects.toThrow(/^vaultra-tui-api refused the verify: .*nope/);
    await expect(startCloudRun(clientFor('vaultra-tui-api'), { action: 'restore', job: 'shop', target: 'postgres://app:hunter2@db/shop' })).rejects.toThrow(/carries a password/);
  });

  it('says which permission or name is missing when Lambda refuses the call', async () => {
    await expect(clientFor('vaultra-denied-api').send({ action: 'list' })).rejects.toThrow(new ConfigError('invoking vaultra-denied-api (list) was refused (AccessDeniedException): the caller needs lambda:InvokeFunction on it'));
    await expect(clientFor('vaultra-gone-api').send({ action: 'list' })).rejects.toThrow(
      new ConfigError('invoking vaultra-gone-api (list) failed: no such function in eu-west-1; deploy the environment, or name the function with api: in the config'),
    );
  });

  it('reports an unhandled error in the function as a launch failure, not an answer', async () => {
    const crashing = await startLambdaInvokeServer({ 'vaultra-tui-api': () => Promise.reject(new TypeError('boom')) });
    try {
      const client = new LambdaOnDemandApi({ functionName: 'vaultra-tui-api', region: 'eu-west-1', client: new LambdaClient({ ...motoClientConfig(moto, 'eu-west-1'), endpoint: crashing.endpoint, maxAttempts: 1 }) });
      const sent = client.send({ action: 'list' });
      await expect(sent).rejects.toBeInstanceOf(LaunchFailedError);
      await expect(sent).rejects.toThrow('invoking vaultra-tui-api (list) failed: the function ended with Unhandled error "boom"; see its CloudWatch log');
    } finally {
      await crashing.close();
    }
  });

  /** The stop event ECS sends for a launched task, which carries the launch's run id. */
  const stopped = (runId: string, exitCode: number, taskArn: string) => ({
    source: 'aws.ecs',
    'detail-type': 'ECS Task State Change',
    detail: {
      taskArn,
      lastStatus: 'STOPPED',
      stoppedReason: exitCode === 137 ? 'OutOfMemoryError: Container killed due to memory usage' : 'Essential container in task exited',
      stoppedAt: '2026-11-22T03:05:00.000Z',
      containers: [{ name: 'runner', exitCode }],
      overrides: { containerOverrides: [{ name: 'runner', environment: [{ name: 'VAULTRA_JOB', value: 'shop' }, { name: 'VAULTRA_RUN_ID', value: runId }] }] },
    },
  });

  it("settles an on-demand verify's own record when its task stops: the task noted, an unfinished record failed, no manifest asked of it", async () => {
    const finish = taskFinished(() => Promise.resolve(deployment));
    const done = { runId: '20261122T030000.000Z-a1a1a1', job: 'shop', kind: 'verify' as const, status: 'succeeded' as const, startedAt: '2026-11-22T03:00:00.000Z', finishedAt: '2026-11-22T03:04:00.000Z', durationMs: 240_000 };
    await catalog.create(done);
    const doneTask = 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra-tui/00000000000000000000000000000aaa';
    expect(await finish(stopped(done.runId, 0, doneTask))).toMatchObject({ outcome: 'succeeded' });
    expect(await catalog.get('shop', done.runId)).toEqual({ ...done, taskId: doneTask });

    const killed = { runId: '20261122T030000.000Z-b2b2b2', job: 'shop', kind: 'verify' as const, status: 'running' as const, startedAt: '2026-11-22T03:00:00.000Z' };
    await catalog.create(killed);
    expect(await finish(stopped(killed.runId, 137, 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra-tui/00000000000000000000000000000bbb'))).toMatchObject({ outcome: 'failed' });
    expect(await catalog.get('shop', killed.runId)).toMatchObject({
      status: 'failed',
      finishedAt: '2026-11-22T03:05:00.000Z',
      error: { kind: 'task', message: 'the runner stopped with exit code 137 (OutOfMemoryError: Container killed due to memory usage) while the run was running' },
    });
  });
});

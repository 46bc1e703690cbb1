/**
 * The AWS functions against moto (DynamoDB catalog, S3, SNS → SQS, KMS), deployed the way the
 * stack leaves them. ECS RunTask is an SDK mock: moto 5.1.22 fails RunTask with awsvpc networking.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client, ListObjectsV2Command, ListObjectVersionsCommand } from '@aws-sdk/client-s3';
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { manifestKey, runFolder } from '../../core/domain/object-layout.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import type { Manifest } from '../../core/domain/manifest.js';
import type { RunRecord } from '../../core/domain/run.js';
import type { AwsDeployment } from '../../functions/aws/shared/deployment-types.js';
import { createHandler as scheduledBackup, handler as scheduledBackupEntry } from '../../functions/aws/scheduled-backup.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import { createHandler as watchdog } from '../../functions/aws/watchdog.js';
import { createHandler as api } from '../../functions/aws/api.js';
import { AbortedError } from '../../core/errors.js';
import { AWS_FUNCTION_ENV } from '../../core/platform/aws-deployment.js';
import { INLINE_SETTLE_SOURCE } from '../../core/adapters/settlement/lambda-run-settler.js';
import { lambdaContext } from '../support/lambda-context.js';
import { requireMoto } from '../support/requirements.js';
import { recentFireTime } from '../support/test-clock.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { awsDeploymentFromEnv, deployAwsPlatform, type AwsPlatform } from '../support/aws-platform.js';
import { launchedSpec } from '../support/launched-spec.js';

const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';

const CONFIG = `
version: 1
environments:
  test:
    cloud: aws
    region: eu-west-1
    storage: { prefix: backups }
    defaults:
      timeout: 1h
      encryption: { kms: true, recipients: [${RECIPIENT}] }
    jobs:
      shop:
        source: "secret+aws://test/shop"
        schedule: { cron: "0 3 * * *", timeZone: Europe/Paris }
        rpo: 26h
        compression: { id: zstd, level: 9 }
      billing:
        source: "secret+aws://test/billing"
        schedule: { cron: "0 */6 * * *" }
        runtime: { cpu: 2048, memoryMiB: 4096 }
`;

/** An environment whose bucket has Object Lock: backups are locked for 7 days, retention keeps the newest one. */
const LOCKED_CONFIG = `
version: 1
environments:
  vault:
    cloud: aws
    region: eu-west-1
    storage: { prefix: backups, objectLock: { mode: GOVERNANCE, days: 7 } }
    defaults:
      timeout: 1h
      encryption: { kms: true }
    jobs:
      ledger:
        source: "secret+aws://vault/ledger"
        schedule: { cron: "0 3 * * *" }
        retention: { last: 1 }
`;

function taskStoppedEvent(job: string, runId: string, exitCode: number | undefined, options: { taskArn?: string; reason?: string; stoppedReason?: string } = {}) {
  return {
    version: '0',
    source: 'aws.ecs',
    'detail-type': 'ECS Task State Change',
    region: 'eu-west-1',
    detail: {
      taskArn: options.taskArn ?? `arn:aws:ecs:eu-west-1:123456789012:task/vaultra/${runId.slice(-6)}`,
      clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/vaultra',
      lastStatus: 'STOPPED',
      desiredStatus: 'STOPPED',
      stopCode: 'EssentialContainerExited',
      stoppedReason: options.stoppedReason ?? 'Essential container in task exited',
      stoppedAt: new Date().toISOString(),
      containers: [{ name: 'runner', ...(exitCode === undefined ? {} : { exitCode }), ...(options.reason ? { reason: options.reason } : {}), lastStatus: 'STOPPED' }],
      overrides: { containerOverrides: [{ name: 'runner', command: ['backup'], environment: [{ name: 'VAULTRA_JOB', value: job }, { name: 'VAULTRA_RUN_ID', value: runId }] }] },
    },
  };
}

describe('AWS functions on moto (ECS RunTask mocked: moto cannot run awsvpc tasks)', () => {
  const moto = requireMoto();
  if (!moto) return;

  let platform: AwsPlatform;
  let deployment: AwsDeployment;
  let catalog: DynamoDbCatalog;
  let s3: S3Client;
  const ecs = mockClient(ECSClient);
  const deploy = () => Promise.resolve(deployment);

  beforeAll(async () => {
    platform = await deployAwsPlatform(moto, { environmentName: 'test', configJson: bundledEnvironmentJson(CONFIG, 'test') });
    // The SDK clients read the endpoint and credentials from the process, as in Lambda.
    Object.assign(process.env, platform.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });
    deployment = awsDeploymentFromEnv(process.env);
    catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
    s3 = new S3Client({ ...motoClientConfig(moto, 'eu-west-1'), forcePathStyle: true });
  });

  afterEach(() => {
    ecs.reset();
  });

  const runTaskStarts = (taskArn = 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/abc') => ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn }], failures: [] });

  describe('scheduled-backup', () => {
    it('records the run as pending, takes the lock and starts the task with the runner command line', async () => {
      runTaskStarts();
      const scheduledTime = '2026-11-22T02:00:00Z';
      const result = await scheduledBackup(deploy)({ job: 'shop', scheduledTime, executionId: 'e-1' });
      const runId = scheduledRunId('shop', scheduledTime);
      expect(result).toMatchObject({ outcome: 'started', job: 'shop', runId });

      const calls = ecs.commandCalls(RunTaskCommand);
      expect(calls).toHaveLength(1);
      const input = calls[0]!.args[0].input;
      expect(input).toMatchObject({
        cluster: platform.env.VAULTRA_CLUSTER_ARN,
        taskDefinition: platform.env.VAULTRA_TASK_DEFINITION_ARN,
        launchType: 'FARGATE',
        clientToken: runId,
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-0abc1234def567890', 'subnet-0123456789abcdef0'], securityGroups: ['sg-0abc1234def567890'], assignPublicIp: 'DISABLED' } },
      });
      // No role override: a backup runs as the task definition's write-only backup role.
      expect(input.overrides).not.toHaveProperty('taskRoleArn');
      const override = input.overrides!.containerOverrides![0]!;
      expect(override.name).toBe('runner');
      expect(launchedSpec(override.command)).toEqual({
        type: 'full',
        job: 'shop',
        runId,
        source: 'secret+aws://test/shop',
        destinations: [`s3://${platform.bucket}/backups?region=eu-west-1`],
        compression: { id: 'zstd', level: 9 },
        encryption: { mode: 'recipients', recipients: [RECIPIENT], kmsKeys: [`aws-kms:${platform.keyArn}`] },
        signingKey: `aws-kms:${platform.signingKeyArn}`,
        timeoutMs: 3_600_000,
        engine: {},
      });
      expect(Object.fromEntries(override.environment!.map((entry) => [entry.name, entry.value]))).toMatchObject({
        VAULTRA_CATALOG: `dynamodb://${platform.tableName}?region=eu-west-1`,
        VAULTRA_JOB: 'shop',
        VAULTRA_RUN_ID: runId,
      });

      expect(await catalog.get('shop', runId)).toMatchObject({ status: 'pending', kind: 'backup' });
      // The lock is the run's: another owner cannot take it.
      expect(await catalog.acquireLock('shop', 'someone-else', 60_000)).toBe(false);
      await catalog.releaseLock('shop', runId);
    });

    it("middy's signal reaches the catalog: an invocation already cancelled records nothing and starts no task", async () => {
      runTaskStarts();
      const scheduledTime = '2026-11-24T02:00:00Z';
      const cancelled = { signal: AbortSignal.abort(new Error('the Lambda is about to time out')) };
      await expect(scheduledBackup(deploy)({ job: 'shop', scheduledTime }, undefined, cancelled)).rejects.toBeInstanceOf(AbortedError);
      expect(await catalog.get('shop', scheduledRunId('shop', scheduledTime))).toBeUndefined();
      expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
      expect(await api(deploy)({ action: 'status', job: 'shop' }, undefined, cancelled)).toMatchObject({ ok: false, error: { kind: 'aborted' } });
    });

    it('a duplicate delivery of the same trigger starts nothing new', async () => {
      runTaskStarts();
      const event = { job: 'shop', scheduledTime: '2026-11-23T02:00:00Z' };
      expect((await scheduledBackup(deploy)(event)).outcome).toBe('started');
      expect((await scheduledBackup(deploy)(event)).outcome).toBe('duplicate');
      expect((await scheduledBackup(deploy)(event)).outcome).toBe('duplicate');
      expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(1);
      await catalog.releaseLock('shop', scheduledRunId('shop', event.scheduledTime));
    });

    it('an overlapping trigger is recorded as skipped and notified through SNS', async () => {
      runTaskStarts();
      await platform.snsMessages(0);
      const first = await scheduledBackup(deploy)({ job: 'billing', scheduledTime: '2026-11-22T06:00:00Z' });
      const second = await scheduledBackup(deploy)({ job: 'billing', scheduledTime: '2026-11-22T12:00:00Z' });
      expect(first.outcome).toBe('started');
      expect(second.outcome).toBe('skipped');
      expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(1);
      expect(await catalog.get('billing', second.runId)).toMatchObject({ status: 'skipped', error: { kind: 'overlap' } });
      const [message] = await platform.snsMessages();
      expect(message?.Subject).toContain('billing: scheduled backup skipped');
      expect(message?.MessageAttributes?.kind?.Value).toBe('run-skipped');
      await catalog.releaseLock('billing', first.runId);
    });

    it('passes the per-job runtime size as task overrides', async () => {
      runTaskStarts();
      const result = await scheduledBackup(deploy)({ job: 'billing', scheduledTime: '2026-11-24T06:00:00Z' });
      expect(ecs.commandCalls(RunTaskCommand)[0]!.args[0].input.overrides).toMatchObject({ cpu: '2048', memory: '4096' });
      await catalog.releaseLock('billing', result.runId);
    });

    it('retries RunTask throttling and capacity shortages, then starts the task', async () => {
      ecs
        .on(RunTaskCommand)
        .rejectsOnce(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }))
        .resolvesOnce({ tasks: [], failures: [{ reason: 'Capacity is unavailable at this time. Please try again later or in a different availability zone' }] })
        .resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/retried' }] });
      const result = await scheduledBackup(deploy)({ job: 'shop', scheduledTime: '2026-11-25T02:00:00Z' });
      expect(result).toMatchObject({ outcome: 'started', taskId: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/retried' });
      const calls = ecs.commandCalls(RunTaskCommand);
      expect(calls).toHaveLength(3);
      // The same client token every time: a retry after a lost answer cannot start a second task.
      expect(new Set(calls.map((call) => call.args[0].input.clientToken))).toEqual(new Set([result.runId]));
      await catalog.releaseLock('shop', result.runId);
    }, 60_000);

    it('a task that cannot start: failed run, lock released, alert sent, nothing thrown', async () => {
      ecs.on(RunTaskCommand).rejects(Object.assign(new Error('TaskDefinition is inactive'), { name: 'ClientException' }));
      await platform.snsMessages(0);
      const result = await scheduledBackup(deploy)({ job: 'shop', scheduledTime: '2026-11-26T02:00:00Z' });
      expect(result.outcome).toBe('launch-failed');
      expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(1);
      const run = await catalog.get('shop', result.runId);
      expect(run).toMatchObject({ status: 'failed', error: { kind: 'launch', message: expect.stringContaining('TaskDefinition is inactive') } });
      expect(await catalog.acquireLock('shop', 'next-run', 1000)).toBe(true);
      await catalog.releaseLock('shop', 'next-run');
      const [message] = await platform.snsMessages();
      expect(message?.Subject).toContain('shop: the backup task could not be started');
    });

    it('refuses an event for a job the environment does not have, naming its jobs', async () => {
      await expect(scheduledBackup(deploy)({ job: 'ghost', scheduledTime: '2026-11-22T02:00:00Z' })).rejects.toThrow('environment test has no job "ghost": it has shop, billing');
      await expect(scheduledBackup(deploy)({ job: 'shop' })).rejects.toThrow(/event\.scheduledTime/);
    });

    it('the deployed entry point runs under middy with Powertools and reads its deployment from the environment', async () => {
      runTaskStarts();
      const result = (await scheduledBackupEntry({ job: 'shop', scheduledTime: '2026-11-27T02:00:00Z' }, lambdaContext('vaultra-test-scheduled-backup'))) as { outcome: string; runId: string };
      expect(result.outcome).toBe('started');
      await catalog.releaseLock('shop', result.runId);
    });
  });

  describe('task-finished', () => {
    const pending = async (job: string, runId: string, patch: Partial<RunRecord> = {}): Promise<RunRecord> => {
      const run: RunRecord = { runId, job, kind: 'backup', status: 'pending', startedAt: new Date(Date.now() - 60_000).toISOString(), ...patch };
      await catalog.create(run);
      expect(await catalog.acquireLock(job, runId, 3_600_000)).toBe(true);
      return run;
    };

    it('a runner that died mid-run (OOM, exit 137): failed run, its stray objects removed, lock released, alert', async () => {
      const runId = scheduledRunId('shop', '2026-12-01T02:00:00Z');
      await pending('shop', runId, { status: 'running', location: `s3://${platform.bucket}/backups/${runFolder('shop', runId)}` });
      const stray = `backups/${runFolder('shop', runId)}/data.pgdump.zst.age`;
      await s3.send(new PutObjectCommand({ Bucket: platform.bucket, Key: stray, Body: 'partial' }));
      await platform.snsMessages(0);

      const result = await taskFinished(deploy)(taskStoppedEvent('shop', runId, 137, { reason: 'OutOfMemoryError: Container killed due to memory usage' }));
      expect(result.outcome).toBe('failed');
      const run = await catalog.get('shop', runId);
      expect(run).toMatchObject({ status: 'failed', error: { kind: 'task', message: expect.stringContaining('exit code 137') } });
      expect(run?.error?.message).toContain('OutOfMemoryError');
      const { KeyCount } = await s3.send(new ListObjectsV2Command({ Bucket: platform.bucket, Prefix: `backups/${runFolder('shop', runId)}/` }));
      expect(KeyCount).toBe(0);
      expect(await catalog.acquireLock('shop', 'next', 1000)).toBe(true);
      await catalog.releaseLock('shop', 'next');
      const [message] = await platform.snsMessages();
      expect(message?.Subject).toBe('[test] CRITICAL shop: backup failed');
      expect(message?.Message).toContain('exit code 137');
    });

    it('a runner that recorded success without a manifest in storage is a failure', async () => {
      const runId = scheduledRunId('shop', '2026-12-02T02:00:00Z');
      await pending('shop', runId, { status: 'succeeded', finishedAt: new Date().toISOString(), manifestKey: manifestKey('shop', runId) });
      const result = await taskFinished(deploy)(taskStoppedEvent('shop', runId, 0));
      expect(result.outcome).toBe('failed');
      expect((await catalog.get('shop', runId))?.error).toMatchObject({ kind: 'integrity', message: expect.stringContaining('manifest cannot be read') });
    });

    it('a task that never started its container (image pull failed) fails the pending run', async () => {
      const runId = scheduledRunId('shop', '2026-12-03T02:00:00Z');
      await pending('shop', runId);
      const result = await taskFinished(deploy)(taskStoppedEvent('shop', runId, undefined, { stoppedReason: 'CannotPullContainerError: pull image manifest has been retried 5 time(s)' }));
      expect(result.outcome).toBe('failed');
      expect((await catalog.get('shop', runId))?.error?.message).toBe('the runner stopped before the runner started (CannotPullContainerError: pull image manifest has been retried 5 time(s)) while the run was pending');
    });

    it('a redelivered stop event changes nothing and alerts once', async () => {
      const runId = scheduledRunId('shop', '2026-12-04T02:00:00Z');
      await pending('shop', runId, { status: 'running' });
      await platform.snsMessages(0);
      const event = taskStoppedEvent('shop', runId, 1);
      expect((await taskFinished(deploy)(event)).outcome).toBe('failed');
      expect((await taskFinished(deploy)(event)).outcome).toBe('already-finished');
      expect(await platform.snsMessages()).toHaveLength(1);
    });

    it('an on-demand task with no run record of its own that fails still alerts', async () => {
      await platform.snsMessages(0);
      const result = await taskFinished(deploy)(taskStoppedEvent('shop', '20261205T020000.000Z-abcdef', 5));
      expect(result.outcome).toBe('unknown-run');
      const [message] = await platform.snsMessages();
      expect(message?.Subject).toContain('shop: an on-demand runner task failed');
      expect(message?.Message).toContain('exit code 5');
    });

    it('an inline hand-off (source vaultra.inline) of a runner killed at the invocation\'s end fails the running run with the stop reason; a repeated hand-off changes nothing', async () => {
      const runId = scheduledRunId('shop', '2026-12-06T02:00:00Z');
      await pending('shop', runId, { status: 'running' });
      await platform.snsMessages(0);
      const handOff = { source: INLINE_SETTLE_SOURCE, detail: { job: 'shop', runId, taskId: `inline:stream:${runId}`, stoppedReason: 'stopped: the Lambda invocation was about to time out', stoppedAt: new Date().toISOString() } };
      expect(await taskFinished(deploy)(handOff)).toMatchObject({ outcome: 'failed', job: 'shop', runId });
      expect(await catalog.get('shop', runId)).toMatchObject({ status: 'failed', taskId: handOff.detail.taskId, error: { kind: 'task', message: expect.stringContaining('the Lambda invocation was about to time out') } });
      expect(await catalog.acquireLock('shop', 'next', 1000)).toBe(true);
      await catalog.releaseLock('shop', 'next');
      expect((await taskFinished(deploy)(handOff)).outcome).toBe('already-finished');
      expect(await platform.snsMessages()).toHaveLength(1);
    });

    it('refuses an inline hand-off that names no run, saying which field', async () => {
      await expect(taskFinished(deploy)({ source: INLINE_SETTLE_SOURCE, detail: { job: 'shop', taskId: 'inline:x' } })).rejects.toThrow(/runId/);
    });

    it('ignores tasks Vaultra did not start and tasks not yet stopped', async () => {
      const foreign = taskStoppedEvent('shop', 'x', 0);
      foreign.detail.overrides.containerOverrides = [];
      expect(await taskFinished(deploy)(foreign)).toMatchObject({ outcome: 'ignored' });
      const running = taskStoppedEvent('shop', 'x', 0);
      running.detail.lastStatus = 'RUNNING';
      expect(await taskFinished(deploy)(running)).toMatchObject({ outcome: 'ignored' });
    });
  });

  describe('watchdog', () => {
    it('alerts on a job past its RPO and fails a run stuck past its timeout', async () => {
      const watchdogDeployment: AwsDeployment = { ...deployment, catalog: DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}`) };
      // shop: last success 30 h ago (RPO 26 h); a run stuck running for 3 h (timeout 1 h).
      const old = new Date(Date.now() - 30 * 3_600_000);
      const oldRunId = scheduledRunId('shop', old.toISOString());
      await catalog.create({ runId: oldRunId, job: 'shop', kind: 'backup', status: 'succeeded', startedAt: old.toISOString(), finishedAt: old.toISOString() });
      // Newer runs of the earlier tests must not count as successes: they are all failed/pending/skipped.
      const stuckAt = new Date(Date.now() - 3 * 3_600_000);
      const stuckRunId = scheduledRunId('shop', stuckAt.toISOString());
      await catalog.create({ runId: stuckRunId, job: 'shop', kind: 'backup', status: 'running', startedAt: stuckAt.toISOString() });
      await platform.snsMessages(0);

      const { jobs } = await watchdog(() => Promise.resolve(watchdogDeployment))();
      const shop = jobs.find((job) => job.job === 'shop')!;
      expect(shop.rpoBreached).toBe(true);
      expect(shop.secondsSinceLastSuccess).toBeGreaterThan(29 * 3600);
      expect(shop.stuckRuns).toContain(stuckRunId);
      expect(await catalog.get('shop', stuckRunId)).toMatchObject({ status: 'failed', error: { kind: 'timeout' } });
      const subjects = (await platform.snsMessages()).map((message) => message.Subject);
      expect(subjects).toEqual(expect.arrayContaining([expect.stringContaining('shop: no successful backup for 30h (RPO 26h)'), expect.stringContaining(`shop: run ${stuckRunId} was running past its 1h timeout`)]));
    });
  });

  describe('api', () => {
    it('validates requests and answers with JSON errors that never echo a password', async () => {
      const answer = await api(deploy)({ action: 'restore', job: 'shop', target: 'postgres://app:CANARY-hunter2@db/shop' });
      expect(answer).toMatchObject({ ok: false, error: { kind: 'config' } });
      expect(JSON.stringify(answer)).not.toContain('CANARY-hunter2');
      expect(await api(deploy)({ action: 'drop-tables', job: 'shop' })).toMatchObject({ ok: false, error: { kind: 'config', message: expect.stringContaining('request.action') } });
      expect(await api(deploy)({ action: 'status', job: 'nope' })).toMatchObject({ ok: false, error: { message: expect.stringContaining('has no job "nope"') } });
    });

    it('backup on demand starts a task; list and status read the catalog', async () => {
      runTaskStarts('arn:aws:ecs:eu-west-1:123456789012:task/vaultra/on-demand');
      await catalog.releaseLock('billing', 'anyone');
      const started = await api(deploy)({ action: 'backup', job: 'billing' });
      expect(started).toMatchObject({ ok: true, action: 'backup', outcome: 'started', taskId: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/on-demand' });
      const runId = (started as unknown as { runId: string }).runId;
      expect(ecs.commandCalls(RunTaskCommand)[0]!.args[0].input.overrides, 'an on-demand backup runs as the backup role too').not.toHaveProperty('taskRoleArn');
      const listed = await api(deploy)({ action: 'list', job: 'billing', limit: 50 });
      expect((listed as unknown as { runs: RunRecord[] }).runs.map((run) => run.runId)).toContain(runId);
      expect(await api(deploy)({ action: 'status', job: 'billing', runId })).toMatchObject({ ok: true, run: { runId, status: 'pending' } });
      expect(await api(deploy)({ action: 'status', job: 'billing' })).toMatchObject({ ok: true, job: 'billing', rpoSeconds: 7 * 3600 });
      await catalog.releaseLock('billing', runId);
    });

    it('restore on demand starts the runner with a restore command line of references only', async () => {
      runTaskStarts('arn:aws:ecs:eu-west-1:123456789012:task/vaultra/restore');
      const answer = await api(deploy)({ action: 'restore', job: 'shop', runId: 'latest', target: 'secret+aws://test/shop-staging', tables: ['public.orders'], dryRun: true });
      expect(answer).toMatchObject({ ok: true, action: 'restore', taskId: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/restore' });
      const overrides = ecs.commandCalls(RunTaskCommand)[0]!.args[0].input.overrides!;
      expect(overrides.taskRoleArn, 'a restore runs as the restore role, the one that may decrypt').toBe(platform.env.VAULTRA_RESTORE_TASK_ROLE_ARN);
      const override = overrides.containerOverrides![0]!;
      expect(override.command).toEqual(['restore', 'latest', '--target', 'secret+aws://test/shop-staging', '--from', `s3://${platform.bucket}/backups?region=eu-west-1`, '--job', 'shop', '--tables', 'public.orders', '--dry-run', '--trust', `aws-kms:${platform.signingKeyArn}`, '--json', '--no-progress']);
    });

    it('verify on demand runs as the restore role; scheduled and on-demand backups never name it', async () => {
      runTaskStarts('arn:aws:ecs:eu-west-1:123456789012:task/vaultra/verify');
      expect(await api(deploy)({ action: 'verify', job: 'shop' })).toMatchObject({ ok: true, action: 'verify' });
      const [verify] = ecs.commandCalls(RunTaskCommand).map((call) => call.args[0].input.overrides!);
      expect(verify!.containerOverrides![0]!.command![0]).toBe('verify');
      expect(verify!.taskRoleArn).toBe(platform.env.VAULTRA_RESTORE_TASK_ROLE_ARN);
    });

    it('a deployment without the restore role refuses restores and verifies instead of starting them as the backup role', async () => {
      runTaskStarts();
      const { [AWS_FUNCTION_ENV.restoreTaskRoleArn]: _restoreRole, ...withoutRestoreRole } = process.env;
      const older = awsDeploymentFromEnv(withoutRestoreRole);
      for (const request of [{ action: 'verify', job: 'shop' }, { action: 'restore', job: 'shop', target: 'secret+aws://test/shop-staging' }]) {
        expect(await api(() => Promise.resolve(older))(request)).toMatchObject({ ok: false, error: { kind: 'launch', message: expect.stringContaining('redeploy the Vaultra stack') } });
      }
      expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
    });
  });

  describe('storage.objectLock: a bucket created with Object Lock, used through the deployed settings', () => {
    let vault: AwsPlatform;
    let vaultDeployment: AwsDeployment;
    let vaultCatalog: DynamoDbCatalog;
    const deployVault = () => Promise.resolve(vaultDeployment);
    const lockedUrl = () => `s3://${vault.bucket}/backups?region=eu-west-1&retentionDays=7&objectLockMode=GOVERNANCE`;

    beforeAll(async () => {
      vault = await deployAwsPlatform(moto, { environmentName: 'vault', configJson: bundledEnvironmentJson(LOCKED_CONFIG, 'vault'), objectLock: { mode: 'GOVERNANCE', days: 7 } });
      // The stack's variables for this environment, over the moto endpoint the outer suite set.
      vaultDeployment = awsDeploymentFromEnv({ ...process.env, ...vault.env });
      vaultCatalog = DynamoDbCatalog.fromUrl(`dynamodb://${vault.tableName}?region=eu-west-1`);
    });

    /** What a runner leaves after a successful backup: its data, the manifest (last), its record marked succeeded. */
    const runnerSucceeded = async (job: string, runId: string, finishedAt: Date): Promise<void> => {
      const { storage } = vaultDeployment;
      const data = Buffer.from(`age-encrypted dump of ${runId}`);
      await storage.put(`${runFolder(job, runId)}/data.pgdump.zst.age`, Readable.from([data]));
      const manifest: Manifest = {
        schema: 'vaultra.manifest/v1',
        runId,
        job,
        startedAt: new Date(finishedAt.getTime() - 60_000).toISOString(),
        finishedAt: finishedAt.toISOString(),
        source: { engine: 'postgres', database: 'ledger', serverVersion: '15.8' },
        dump: { tool: 'pg_dump', toolVersion: '15.8', format: 'custom', consistency: 'snapshot' },
        compression: { id: 'zstd', level: 3, implementation: 'zstd' },
        encryption: { format: 'age-v1', recipients: [{ type: 'x25519', recipient: RECIPIENT }] },
        plaintextBytes: 1234,
        objects: [{ name: 'data.pgdump.zst.age', role: 'data', sizeBytes: data.length, sha256: createHash('sha256').update(data).digest('hex') }],
        contents: [],
        vaultraVersion: '0.0.0-test',
      };
      await storage.put(manifestKey(job, runId), Readable.from([Buffer.from(JSON.stringify(manifest))]));
      const run = (await vaultCatalog.get(job, runId))!;
      await vaultCatalog.update({ ...run, status: 'succeeded', finishedAt: finishedAt.toISOString(), engine: 'postgres', manifestKey: manifestKey(job, runId), bytesStored: data.length });
    };

    it('every function and the runner use the lock: the destination of a scheduled backup and the --from of a restore carry it', async () => {
      expect(vaultDeployment.target.storageUrl).toBe(lockedUrl());
      runTaskStarts();
      const started = await scheduledBackup(deployVault)({ job: 'ledger', scheduledTime: recentFireTime(2, 3) });
      expect(started.outcome).toBe('started');
      const command = ecs.commandCalls(RunTaskCommand)[0]!.args[0].input.overrides!.containerOverrides![0]!.command!;
      expect(launchedSpec(command).destinations).toEqual([lockedUrl()]);
      await vaultCatalog.releaseLock('ledger', started.runId);

      runTaskStarts('arn:aws:ecs:eu-west-1:123456789012:task/vaultra/restore');
      await api(deployVault)({ action: 'restore', job: 'ledger', runId: 'latest', target: 'secret+aws://vault/ledger-staging' });
      const restore = ecs.commandCalls(RunTaskCommand)[1]!.args[0].input.overrides!.containerOverrides![0]!.command!;
      expect(restore[restore.indexOf('--from') + 1]).toBe(lockedUrl());
    });

    it('retention of a run still under its lock: the refusal is reported, the run stays listed and unpruned, no delete marker hides it', async () => {
      // Prepare: an earlier backup of ledger, then a newer one whose task just stopped; retention keeps the last one.
      const olderAt = new Date(Date.now() - 2 * 86_400_000);
      const older = scheduledRunId('ledger', olderAt.toISOString());
      await vaultCatalog.create({ runId: older, job: 'ledger', kind: 'backup', status: 'running', startedAt: new Date(olderAt.getTime() - 60_000).toISOString() });
      await runnerSucceeded('ledger', older, olderAt);
      const newer = scheduledRunId('ledger', new Date(Date.now() - 120_000).toISOString());
      await vaultCatalog.create({ runId: newer, job: 'ledger', kind: 'backup', status: 'running', startedAt: new Date(Date.now() - 120_000).toISOString() });
      expect(await vaultCatalog.acquireLock('ledger', newer, 3_600_000)).toBe(true);
      await runnerSucceeded('ledger', newer, new Date());

      // Act
      const result = await taskFinished(deployVault)(taskStoppedEvent('ledger', newer, 0));

      // Assess: the new backup succeeded; S3 refused to delete the locked one, and said so.
      expect(result).toMatchObject({ outcome: 'succeeded', runId: newer });
      expect((result as { retention?: unknown }).retention).toEqual({
        kept: [newer],
        pruned: [],
        failed: [{ runId: older, error: expect.stringMatching(/refused: it is under Object Lock retention \(GOVERNANCE\) until \d{4}-/) }],
      });
      expect((await vaultCatalog.get('ledger', older))?.prunedAt).toBeUndefined();
      const listed = (await api(deployVault)({ action: 'list', job: 'ledger', limit: 50 })) as unknown as { runs: RunRecord[] };
      expect(listed.runs.find((run) => run.runId === older)).toMatchObject({ status: 'succeeded' });
      expect(listed.runs.find((run) => run.runId === older)?.prunedAt).toBeUndefined();
      const folder = `backups/${runFolder('ledger', older)}/`;
      const versions = await s3.send(new ListObjectVersionsCommand({ Bucket: vault.bucket, Prefix: folder }));
      expect(versions.DeleteMarkers ?? []).toEqual([]);
      const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: vault.bucket, Prefix: folder }));
      expect(Contents.map((object) => object.Key).sort()).toEqual([`${folder}data.pgdump.zst.age`, `${folder}manifest.json`]);
    });
  });
});

/**
 * Log catch-ups through the AWS functions on moto (DynamoDB catalog, SNS → SQS): the log-push
 * event of a job's rate schedule records a pending `log` run and launches `vaultra logs push` at
 * the push's size; task-finished settles it; the watchdog alerts on lag and gap and publishes
 * LogArchiveLagSeconds. ECS RunTask is an SDK mock (moto cannot run awsvpc tasks). Every time is
 * computed from the deployment's fixed clock.
 */
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { logPushLockName } from '../../core/config/log-schedule.js';
import { parseBackupSpecJson } from '../../core/domain/backup-spec.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import type { RunRecord } from '../../core/domain/run.js';
import { METRIC } from '../../core/platform/aws-deployment.js';
import { logPushRunId } from '../../core/usecases/start-log-push.js';
import type { AwsDeployment } from '../../functions/aws/shared/deployment-types.js';
import { createHandler as scheduledBackup } from '../../functions/aws/scheduled-backup.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import { createHandler as watchdog } from '../../functions/aws/watchdog.js';
import { metrics } from '../../functions/aws/shared/observability.js';
import { requireMoto } from '../support/requirements.js';
import { awsDeploymentFromEnv, deployAwsPlatform, type AwsPlatform } from '../support/aws-platform.js';

const CONFIG = `
version: 1
environments:
  pitr:
    cloud: aws
    region: eu-west-1
    storage: { prefix: backups }
    defaults:
      timeout: 2h
      encryption: { kms: true }
    jobs:
      shop:
        source: "secret+aws://pitr/shop"
        schedule: { cron: "0 3 * * *" }
        runtime: { cpu: 2048, memoryMiB: 4096 }
        logs: { every: 5m, timeout: 30m }
      ledger:
        source: "secret+aws://pitr/ledger"
        schedule: { cron: "0 4 * * *" }
        logs: { every: 10m, runtime: { cpu: 512, memoryMiB: 1024 } }
`;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const NOW = new Date('2026-11-22T12:00:00.000Z');
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

describe('log catch-ups through the AWS functions (moto; ECS RunTask mocked)', () => {
  const moto = requireMoto();
  if (!moto) return;

  let platform: AwsPlatform;
  let deployment: AwsDeployment;
  let catalog: DynamoDbCatalog;
  const ecs = mockClient(ECSClient);
  const deploy = () => Promise.resolve(deployment);
  const runTaskStarts = (taskArn: string) => ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn }], failures: [] });

  beforeAll(async () => {
    platform = await deployAwsPlatform(moto, { environmentName: 'pitr', configJson: bundledEnvironmentJson(CONFIG, 'pitr') });
    Object.assign(process.env, platform.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });
    deployment = { ...awsDeploymentFromEnv(process.env), now: () => NOW };
    catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
  });

  afterEach(() => {
    ecs.reset();
  });

  it('a log-push event records a pending log run and launches vaultra logs push at the push size', async () => {
    runTaskStarts('arn:aws:ecs:eu-west-1:123456789012:task/vaultra/push1');
    const scheduledTime = '2026-11-22T11:55:00Z';
    const result = await scheduledBackup(deploy)({ job: 'shop', kind: 'log', scheduledTime, executionId: 'e-1' });
    const runId = logPushRunId('shop', scheduledTime);
    expect(result).toMatchObject({ outcome: 'started', kind: 'log', job: 'shop', runId });

    const input = ecs.commandCalls(RunTaskCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ taskDefinition: platform.env.VAULTRA_TASK_DEFINITION_ARN, clientToken: runId });
    // The smallest Fargate size, not the job's 2048/4096: a push moves minutes of log.
    expect(input.overrides).toMatchObject({ cpu: '256', memory: '512' });
    expect(input.overrides).not.toHaveProperty('taskRoleArn');
    const command = input.overrides!.containerOverrides![0]!.command!;
    expect(command.slice(0, 3)).toEqual(['logs', 'push', '--spec']);
    expect(command.slice(4)).toEqual(['--json', '--no-progress']);
    expect(parseBackupSpecJson(command[3]!)).toMatchObject({
      job: 'shop',
      runId,
      source: 'secret+aws://pitr/shop',
      destinations: [`s3://${platform.bucket}/backups?region=eu-west-1`],
      encryption: { mode: 'recipients', kmsKeys: [`aws-kms:${platform.keyArn}`] },
      signingKey: `aws-kms:${platform.signingKeyArn}`,
      timeoutMs: 30 * MINUTE,
    });
    expect(await catalog.get('shop', runId)).toMatchObject({ kind: 'log', status: 'pending', startedAt: NOW.toISOString(), timeoutMs: 30 * MINUTE });

    // The push holds its own lock: the job's backup still starts.
    runTaskStarts('arn:aws:ecs:eu-west-1:123456789012:task/vaultra/base1');
    expect((await scheduledBackup(deploy)({ job: 'shop', scheduledTime })).outcome).toBe('started');
    expect(await catalog.acquireLock(logPushLockName('shop'), 'someone-else', MINUTE)).toBe(false);

    // A redelivered log-push event starts nothing; the next push while this one runs is skipped, unpaged.
    expect((await scheduledBackup(deploy)({ job: 'shop', kind: 'log', scheduledTime })).outcome).toBe('duplicate');
    await platform.snsMessages(0);
    const next = await scheduledBackup(deploy)({ job: 'shop', kind: 'log', scheduledTime: '2026-11-22T12:00:00Z' });
    expect(next.outcome).toBe('skipped');
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(2);
    expect(await platform.snsMessages(0)).toEqual([]);

    // task-finished settles the push and frees its lock (not the backup's).
    const stopped = await taskFinished(deploy)({
      'detail-type': 'ECS Task State Change',
      detail: {
        taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/push1',
        lastStatus: 'STOPPED',
        stoppedReason: 'Essential container in task exited',
        containers: [{ name: 'runner', exitCode: 1 }],
        overrides: { containerOverrides: [{ name: 'runner', environment: [{ name: 'VAULTRA_JOB', value: 'shop' }, { name: 'VAULTRA_RUN_ID', value: runId }] }] },
      },
    });
    expect(stopped).toMatchObject({ outcome: 'failed', runId });
    expect(await catalog.acquireLock(logPushLockName('shop'), 'next-push', MINUTE)).toBe(true);
    expect(await catalog.acquireLock('shop', 'someone-else', MINUTE)).toBe(false);
    const [page] = await platform.snsMessages();
    expect(page?.Subject).toContain('shop: log push failed');
    await catalog.releaseLock(logPushLockName('shop'), 'next-push');
    await catalog.releaseLock('shop', scheduledRunId('shop', scheduledTime));
  });

  it('a job\'s own push size is passed as task overrides', async () => {
    runTaskStarts('arn:aws:ecs:eu-west-1:123456789012:task/vaultra/ledger1');
    const scheduledTime = '2026-11-22T11:50:00Z';
    await scheduledBackup(deploy)({ job: 'ledger', kind: 'log', scheduledTime });
    expect(ecs.commandCalls(RunTaskCommand)[0]!.args[0].input.overrides).toMatchObject({ cpu: '512', memory: '1024' });
    await catalog.releaseLock(logPushLockName('ledger'), logPushRunId('ledger', scheduledTime));
  });

  it('refuses an event of another kind', async () => {
    await expect(scheduledBackup(deploy)({ job: 'shop', kind: 'restore', scheduledTime: '2026-11-22T11:00:00Z' })).rejects.toThrow(/event\.kind/);
  });

  it('the watchdog alerts on the archive\'s lag and on a gap, and publishes LogArchiveLagSeconds per job', async () => {
    const record = async (job: string, kind: 'backup' | 'log', startedAt: Date, patch: Partial<RunRecord> = {}) => {
      const run: RunRecord = { runId: kind === 'log' ? logPushRunId(job, startedAt.toISOString()) : scheduledRunId(job, startedAt.toISOString()), job, kind, status: 'succeeded', startedAt: startedAt.toISOString(), finishedAt: new Date(startedAt.getTime() + MINUTE).toISOString(), taskId: 'task', ...patch };
      await catalog.create(run);
      return run;
    };
    const range = (coveredUntil: Date, gapFrom?: string) => ({ kind: 'binlog' as const, format: 'binlog-tar/v1', start: 'binlog.000009:4', end: 'binlog.000009:512', coveredUntil: coveredUntil.toISOString(), events: 3, ...(gapFrom ? { gapFrom } : {}) });
    // ledger: its newest push covered 40 minutes ago (RPO 30m), and one push since the base lost log.
    await record('ledger', 'backup', at(-8 * HOUR));
    const gapped = await record('ledger', 'log', at(-2 * HOUR), { log: range(at(-2 * HOUR), 'binlog.000007:4') });
    await record('ledger', 'log', at(-41 * MINUTE), { log: range(at(-40 * MINUTE)) });
    await platform.snsMessages(0);

    const single = { addDimensions: vi.fn(), addMetric: vi.fn() };
    const spy = vi.spyOn(metrics, 'singleMetric').mockReturnValue(single as unknown as ReturnType<typeof metrics.singleMetric>);
    const result = await watchdog(deploy)();
    spy.mockRestore();

    const ledger = result.jobs.find((job) => job.job === 'ledger')!;
    expect(ledger.logs).toEqual({ lagSeconds: 2400, lagBreached: true, gap: { runId: gapped.runId, from: 'binlog.000007:4', to: 'binlog.000009:4' } });
    expect(single.addMetric).toHaveBeenCalledWith(METRIC.logArchiveLagSeconds, 'Seconds', 2400);
    const pages = await platform.snsMessages();
    const kinds = pages.map((page) => page.MessageAttributes?.kind?.Value).sort();
    expect(kinds).toEqual(expect.arrayContaining(['log-gap', 'log-lag']));
    expect(pages.find((page) => page.MessageAttributes?.kind?.Value === 'log-lag')?.Subject).toContain('ledger: archived log is 40m behind the server (log RPO 30m)');
  });
});

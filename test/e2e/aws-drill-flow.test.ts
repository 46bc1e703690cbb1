/**
 * Issue 20, a scheduled drill through the AWS functions with the real runner: the drill
 * schedule's event → the scheduled-backup handler (kind `drill`) → a launcher that runs the real
 * runner (`dist/vaultra.mjs`) as a process → task-finished, fed the stop event ECS would send. The
 * runner restores the newest backup of real PostgreSQL into a throwaway cluster of the installed
 * server (the drill task without `drill.server`: in Fargate the sidecar's URL would be passed
 * instead), proves it, and records the drill under the scheduler's run id. Only Fargate is
 * replaced (by the local process launcher); S3, DynamoDB, KMS and Secrets Manager are moto.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { LocalProcessLauncher, type LocalTaskExit } from '../../core/adapters/launchers/local-process-launcher.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { drillRunId } from '../../core/usecases/start-drill.js';
import type { AwsDeployment } from '../../functions/aws/shared/deployment-types.js';
import { createHandler as scheduledBackup } from '../../functions/aws/scheduled-backup.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { awsDeploymentFromEnv, deployAwsPlatform, type AwsPlatform } from '../support/aws-platform.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, vaultraBin } from '../support/cli.js';
import { recentFireTime, runnerProcessEnvironment } from '../support/test-clock.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';

function config(): string {
  return `
version: 1
environments:
  e2e:
    cloud: aws
    region: eu-west-1
    storage: { prefix: backups }
    defaults:
      timeout: 30m
      encryption: { kms: true }
    jobs:
      shop:
        source: "secret+aws://e2e/drill-shop"
        schedule: { cron: "0 3 * * *" }
        drill:
          schedule: { cron: "0 5 * * 0" }
          rto: 30m
          checks:
            - { name: some rows, query: "select count(*) > 0 from customers", expect: t }
      strict:
        source: "secret+aws://e2e/drill-shop"
        schedule: { cron: "0 4 * * *" }
        drill:
          schedule: { cron: "0 6 * * 0" }
          checks:
            - { name: no customers, query: "select count(*) = 0 from customers", expect: t }
`;
}

describe('AWS scheduled drill end to end: drill event → scheduled-backup → real runner drills the newest backup → task-finished (Fargate replaced by a local process launcher)', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !moto || !tools) return;

  const source = uniqueDatabaseName('e2e_drill_src');
  let home = '';
  let platform: AwsPlatform;
  let deployment: AwsDeployment;
  let launcher: LocalProcessLauncher;
  let catalog: DynamoDbCatalog;
  const launched: LaunchRequest[] = [];
  const deploy = () => Promise.resolve(deployment);

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'vaultra-e2e-drill-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    platform = await deployAwsPlatform(moto, { environmentName: 'e2e', configJson: bundledEnvironmentJson(config(), 'e2e') });
    const secrets = new SecretsManagerClient(motoClientConfig(moto, 'eu-west-1'));
    await secrets.send(new CreateSecretCommand({ Name: 'e2e/drill-shop', SecretString: databaseUrl(pg, source) }));
    Object.assign(process.env, platform.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });
    launcher = new LocalProcessLauncher({ runnerPath: vaultraBin, baseEnvironment: { ...platform.env, ...runnerProcessEnvironment(home, pg.binDir) } });
    deployment = {
      ...awsDeploymentFromEnv(process.env),
      launcher: {
        launch: (request) => {
          launched.push(request);
          return launcher.launch(request);
        },
      },
    };
    catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
  });

  afterAll(async () => {
    await dropDatabase(pg, source).catch(() => undefined);
    if (home) await rm(home, { recursive: true, force: true });
  });

  const stoppedEvent = (exit: LocalTaskExit) => ({
    source: 'aws.ecs',
    'detail-type': 'ECS Task State Change',
    detail: {
      taskArn: exit.taskId,
      lastStatus: 'STOPPED',
      stoppedReason: exit.stoppedReason ?? 'Essential container in task exited',
      stoppedAt: exit.stoppedAt,
      containers: [{ name: 'runner', ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }) }],
      overrides: { containerOverrides: [{ name: 'runner', environment: [{ name: 'VAULTRA_JOB', value: exit.job }, { name: 'VAULTRA_RUN_ID', value: exit.runId }] }] },
    },
  });

  const trigger = async (event: Record<string, string>) => {
    const started = await scheduledBackup(deploy)({ executionId: `exec-${event.scheduledTime}`, ...event });
    if (started.outcome !== 'started') return { started };
    const exit = await launcher.completion(started.taskId!);
    const finished = await taskFinished(deploy)(stoppedEvent(exit));
    return { started, exit, finished };
  };

  it('drills the newest backup under the scheduler\'s run id: every table checked, the job\'s check run, an RTO recorded, as the drill task and identity', async () => {
    const backup = await trigger({ job: 'shop', scheduledTime: recentFireTime(0, 3) });
    expect(backup.exit?.exitCode, backup.exit?.stderr).toBe(0);

    const drillTime = recentFireTime(0, 5);
    const { started, exit, finished } = await trigger({ job: 'shop', kind: 'drill', scheduledTime: drillTime });
    expect(started).toMatchObject({ outcome: 'started', kind: 'drill', job: 'shop', runId: drillRunId('shop', drillTime) });
    expect(exit?.exitCode, exit?.stderr).toBe(0);
    expect(finished).toMatchObject({ outcome: 'succeeded', runId: started.runId });

    // Launched as a drill (the ECS launcher picks the job's drill task definition and role from this), reading backups.
    const request = launched.find((candidate) => candidate.runId === started.runId)!;
    expect(request).toMatchObject({ drill: true, readsBackups: true, cpu: 1024, memoryMiB: 2048 });
    expect(request.command.slice(0, 8)).toEqual(['drill', 'latest', '--job', 'shop', '--from', 's3://' + platform.bucket + '/backups?region=eu-west-1', '--run-id', started.runId]);
    expectNoCanary(plantCanaries(pg.password), 'the drill launch request', JSON.stringify(request));

    const result = JSON.parse(exit!.stdout) as Record<string, unknown>;
    expect(result).toMatchObject({ drillRunId: started.runId, backupRunId: backup.started.runId, status: 'passed', scratchRemoved: true, signature: { verified: true } });
    // The job's check keeps its config name through the task's command line.
    expect(result.checks).toContainEqual({ kind: 'user', name: 'some rows', passed: true, detail: 'returned "t"' });

    const run = await catalog.get('shop', started.runId);
    expect(run).toMatchObject({ kind: 'drill', status: 'succeeded', drill: { backupRunId: backup.started.runId, rtoBudgetMs: 30 * 60_000, failedChecks: 0 } });
    expect(run!.drill!.checks).toBeGreaterThan(2);
    expect(run!.drill!.rtoMs).toBeGreaterThan(0);
  });

  it('a drill whose check fails: the runner exits 3, task-finished records the drill failed', async () => {
    const backup = await trigger({ job: 'strict', scheduledTime: recentFireTime(0, 4) });
    expect(backup.exit?.exitCode, backup.exit?.stderr).toBe(0);
    const { started, exit, finished } = await trigger({ job: 'strict', kind: 'drill', scheduledTime: recentFireTime(0, 6) });
    expect(exit?.exitCode).toBe(3);
    expect(exit?.stderr).toMatch(/vaultra: error: 1 of \d+ drill checks failed: no customers: returned "f", expected "t"/);
    expect(finished).toMatchObject({ outcome: 'failed', runId: started.runId });
    expect(await catalog.get('strict', started.runId)).toMatchObject({ kind: 'drill', status: 'failed', drill: { failedChecks: 1 } });
  });

  it('a duplicate delivery of the drill event starts nothing new', async () => {
    const before = launched.length;
    const { started } = await trigger({ job: 'shop', kind: 'drill', scheduledTime: recentFireTime(0, 5) });
    expect(started.outcome).toBe('duplicate');
    expect(launched.length).toBe(before);
  });
});

/**
 * The whole AWS flow on one machine: a scheduler event → the scheduled-backup handler → a
 * launcher that runs the real runner (`dist/vaultra.mjs`) as a process against a real
 * PostgreSQL → the task-finished handler, fed the stop event ECS would send → the catalog
 * (DynamoDB on moto), the bucket (S3 on moto) and a local webhook receiver. Only Fargate itself
 * is replaced, by the local process launcher; every other piece is the deployed code.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { LocalProcessLauncher, type LocalTaskExit } from '../../core/adapters/launchers/local-process-launcher.js';
import { verifyWebhookSignature } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { runFolder } from '../../core/domain/object-layout.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import type { AwsDeployment } from '../../functions/aws/shared/deployment-types.js';
import { createHandler as scheduledBackup } from '../../functions/aws/scheduled-backup.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { awsDeploymentFromEnv, deployAwsPlatform, type AwsPlatform } from '../support/aws-platform.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, runVaultra, vaultraBin } from '../support/cli.js';
import { recentFireTime, runnerProcessEnvironment } from '../support/test-clock.js';
import { exportingTo, runnerRootSpan, startFlowCollector, type OtelCollector } from '../support/otel-collector.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';
import { launchedSpec } from '../support/launched-spec.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';

const SIGNING_KEY = 'e2e-signing-key-0123456789';
// An X-Ray trace id (its first 8 hex digits are the epoch seconds X-Ray wants) and a parent segment id.
const XRAY_TRACE = '5759e988bd862e3fe1be46a994272793';
const XRAY_PARENT = '53995c3f42cd8ad8';

function config(): string {
  return `
version: 1
environments:
  e2e:
    cloud: aws
    region: eu-west-1
    storage: { prefix: backups }
    notifications:
      webhooks:
        - { kind: generic, url: "env://VAULTRA_E2E_WEBHOOK_URL", signingSecret: "env://VAULTRA_E2E_WEBHOOK_KEY" }
    defaults:
      timeout: 30m
      encryption: { kms: true }
    jobs:
      shop:
        source: "secret+aws://e2e/shop"
        schedule: { cron: "0 3 * * *", timeZone: Europe/Paris }
        notifyOnSuccess: true
        retention: { last: 2 }
      broken:
        source: "secret+aws://e2e/broken"
        schedule: { cron: "0 4 * * *" }
`;
}

describe('AWS flow end to end: scheduler event → scheduled-backup → runner process on real PostgreSQL → task-finished (Fargate replaced by a local process launcher)', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !moto || !tools) return;

  const source = uniqueDatabaseName('e2e_src');
  const restored = uniqueDatabaseName('e2e_restored');
  let home = '';
  let platform: AwsPlatform;
  let receiver: WebhookReceiver;
  let deployment: AwsDeployment;
  let launcher: LocalProcessLauncher;
  let collector: OtelCollector | undefined;
  let catalog: DynamoDbCatalog;
  let s3: S3Client;
  let launches = 0;
  const launched: LaunchRequest[] = [];
  const deploy = () => Promise.resolve(deployment);

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'vaultra-e2e-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    receiver = await startWebhookReceiver();
    platform = await deployAwsPlatform(moto, { environmentName: 'e2e', configJson: bundledEnvironmentJson(config(), 'e2e') });
    const secrets = new SecretsManagerClient(motoClientConfig(moto, 'eu-west-1'));
    await secrets.send(new CreateSecretCommand({ Name: 'e2e/shop', SecretString: databaseUrl(pg, source) }));
    await secrets.send(new CreateSecretCommand({ Name: 'e2e/broken', SecretString: databaseUrl(pg, 'no_such_database') }));

    Object.assign(process.env, platform.env, {
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      VAULTRA_E2E_WEBHOOK_URL: `${receiver.url}/hooks/vaultra`,
      VAULTRA_E2E_WEBHOOK_KEY: SIGNING_KEY,
    });
    // The runner's process: what the task definition gives the container (no identity file, a
    // private HOME), plus the server's own PostgreSQL client tools first on PATH.
    collector = await startFlowCollector();
    launcher = new LocalProcessLauncher({
      runnerPath: vaultraBin,
      baseEnvironment: { ...platform.env, ...runnerProcessEnvironment(home, pg.binDir), ...exportingTo(collector) },
    });
    const fromEnv = awsDeploymentFromEnv(process.env);
    deployment = {
      ...fromEnv,
      launcher: {
        launch: (request) => {
          launches++;
          launched.push(request);
          return launcher.launch(request);
        },
      },
    };
    catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
    s3 = new S3Client({ ...motoClientConfig(moto, 'eu-west-1'), forcePathStyle: true });
  });

  afterAll(async () => {
    await collector?.stop();
    await receiver?.close();
    await dropDatabase(pg, source).catch(() => undefined);
    await dropDatabase(pg, restored).catch(() => undefined);
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** What ECS would put on EventBridge when the runner's task stops. */
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

  /** One scheduled trigger through the whole flow. */
  const trigger = async (job: string, scheduledTime: string) => {
    const started = await scheduledBackup(deploy)({ job, scheduledTime, executionId: `exec-${scheduledTime}` });
    if (started.outcome !== 'started') return { started };
    const exit = await launcher.completion(started.taskId!);
    const finished = await taskFinished(deploy)(stoppedEvent(exit));
    return { started, exit, finished };
  };

  const readObject = async (key: string): Promise<string> => (await s3.send(new GetObjectCommand({ Bucket: platform.bucket, Key: key }))).Body!.transformToString();

  const folderKeys = async (job: string, runId: string): Promise<string[]> => {
    const { Contents = [] } = await s3.send(new ListObjectsV2Command({ Bucket: platform.bucket, Prefix: `backups/${runFolder(job, runId)}/` }));
    return Contents.map((object) => object.Key!.split('/').pop()!).sort();
  };

  it('a scheduled backup runs, is reconciled as succeeded, is announced by a signed webhook, and restores content-equal with the KMS key alone', async () => {
    // The X-Ray trace Lambda runs the function in (its header, as Lambda sets it).
    process.env._X_AMZN_TRACE_ID = `Root=1-${XRAY_TRACE.slice(0, 8)}-${XRAY_TRACE.slice(8)};Parent=${XRAY_PARENT};Sampled=1`;
    const { started, exit, finished } = await trigger('shop', recentFireTime(0)).finally(() => delete process.env._X_AMZN_TRACE_ID);
    expect(exit?.exitCode, exit?.stderr).toBe(0);
    expect(finished).toMatchObject({ outcome: 'succeeded', job: 'shop', runId: started.runId });
    // One trace from the function into the runner: the X-Ray root and parent, as W3C ids, are the runner's trace and parent.
    if (collector) {
      const { root, children } = await runnerRootSpan(collector, `00-${XRAY_TRACE}-${XRAY_PARENT}-01`);
      expect(root.attributes).toMatchObject({ 'vaultra.job': 'shop', 'vaultra.run_id': started.runId, 'vaultra.run.status': 'succeeded' });
      expect(children.map((span) => span.name)).toEqual(expect.arrayContaining(['resolve secrets', 'dump, compress, encrypt, upload', 'commit', 'catalog']));
    }

    // The runner got its run as a spec of references: the secret's reference, never the password it holds.
    const request = launched.find((candidate) => candidate.runId === started.runId)!;
    expect(launchedSpec(request.command)).toMatchObject({ job: 'shop', runId: started.runId, source: 'secret+aws://e2e/shop' });
    expectNoCanary(plantCanaries(pg.password), 'the launch request', JSON.stringify(request));

    const run = await catalog.get('shop', started.runId);
    expect(run).toMatchObject({ status: 'succeeded', kind: 'backup', engine: 'postgres', taskId: exit!.taskId });
    expect(await folderKeys('shop', started.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
    expect(await catalog.acquireLock('shop', 'probe', 1000)).toBe(true);
    await catalog.releaseLock('shop', 'probe');

    const [delivery] = await receiver.waitFor(1);
    expect(delivery!.path).toBe('/hooks/vaultra');
    expect(verifyWebhookSignature(delivery!.body, delivery!.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
    expect(JSON.parse(delivery!.body)).toMatchObject({ kind: 'run-succeeded', environment: 'e2e', job: 'shop', runId: started.runId });

    // The runner signed it with the stack's KMS signing key (kms:Sign only): a restore trusts that key by name.
    const signature = JSON.parse(await readObject(`backups/${runFolder('shop', started.runId)}/manifest.json.sig`)) as { algorithm: string; keyId: string };
    expect(signature).toMatchObject({ algorithm: 'ecdsa-p256-sha256', keyId: `aws-kms:${platform.signingKeyArn}` });

    // Proven by a restore: no identity file anywhere, only the KMS stanza opens it.
    const restoreArgs = ['restore', started.runId, '--target', databaseUrl(pg, restored), '--from', `s3://${platform.bucket}/backups?region=eu-west-1`, '--job', 'shop', '--json', '--no-progress'];
    const untrusted = await runVaultra(restoreArgs, {
      env: { ...platform.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_STATE_HOME: join(home, '.state'), PATH: `${pg.binDir}:${process.env.PATH}`, VAULTRA_CATALOG: `dynamodb://${platform.tableName}?region=eu-west-1` },
    });
    expect(untrusted.code, untrusted.stderr).toBe(8);
    const restore = await runVaultra([...restoreArgs, '--trust', `aws-kms:${platform.signingKeyArn}`], {
      env: { ...platform.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_STATE_HOME: join(home, '.state'), PATH: `${pg.binDir}:${process.env.PATH}`, VAULTRA_CATALOG: `dynamodb://${platform.tableName}?region=eu-west-1` },
    });
    expect(restore.code, restore.stderr).toBe(0);
    expect(await tableFingerprints(pg, restored)).toEqual(await tableFingerprints(pg, source));
  });

  it('a duplicate delivery of the same trigger starts nothing new', async () => {
    const before = launches;
    const { started } = await trigger('shop', recentFireTime(0));
    expect(started.outcome).toBe('duplicate');
    expect(launches).toBe(before);
  });

  it('a runner that exits non-zero: failed run, alert received, lock released, nothing listed', async () => {
    receiver.requests.length = 0;
    const { started, exit, finished } = await trigger('broken', recentFireTime(0, 3));
    expect(exit?.exitCode).not.toBe(0);
    expect(finished).toMatchObject({ outcome: 'failed' });
    const run = await catalog.get('broken', started.runId);
    expect(run).toMatchObject({ status: 'failed', taskId: exit!.taskId });
    expect(run?.error?.message).toMatch(/no_such_database/);
    expect(await folderKeys('broken', started.runId)).toEqual([]);
    expect(await catalog.acquireLock('broken', 'probe', 1000)).toBe(true);
    await catalog.releaseLock('broken', 'probe');

    const [alert] = await receiver.waitFor(1);
    expect(verifyWebhookSignature(alert!.body, alert!.headers as Record<string, string>, SIGNING_KEY)).toBe(true);
    expect(JSON.parse(alert!.body)).toMatchObject({ kind: 'run-failed', severity: 'critical', job: 'broken', runId: started.runId });
    // The database URL's password lives in the secret only.
    expect(alert!.body).not.toContain(pg.password);
  });

  it('retention runs after each success: with last: 2, the third backup prunes the first', async () => {
    const first = scheduledRunId('shop', recentFireTime(0));
    const second = await trigger('shop', recentFireTime(1));
    const third = await trigger('shop', recentFireTime(2));
    expect(second.finished?.outcome).toBe('succeeded');
    expect(third.finished).toMatchObject({ outcome: 'succeeded', retention: { pruned: [first] } });
    expect(await folderKeys('shop', first)).toEqual([]);
    expect((await catalog.get('shop', first))?.prunedAt).toBeDefined();
    expect(await folderKeys('shop', third.started.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
    expect(await folderKeys('shop', second.started.runId)).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
  });
});

/**
 * Inline runs through the functions' code (docs/inline-runs.md): a scheduler event → the
 * inline-backup handler → the runner as a child process of the function (the built
 * `dist/vaultra.mjs`, as the function's asset ships it) against a real PostgreSQL, into the
 * catalog (DynamoDB on moto) and the bucket (S3 on moto) → the ended run handed off by the SDK's
 * real asynchronous Lambda invoke to the Invoke REST path, served locally by the REAL task-finished
 * handler (no emulator here runs Lambda functions: lambda-invoke-server.ts) → settled there,
 * retention included; then a restore request → the inline-restore handler → a second database, content-equal. The
 * failover cases send the run to Fargate: there, and only there, a recording launcher stands in
 * for ECS RunTask (moto's RunTask fails with awsvpc networking), and the test names say so.
 * This file runs the host's tools first on PATH (PostgreSQL's own bin folder) as the layer's
 * stand-in; aws-inline-layer.test.ts runs the same handler under a foreign root with the layer's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { createHandler as inlineBackup, type InlineDeployment } from '../../functions/aws/inline-backup.js';
import { createHandler as inlineRestore } from '../../functions/aws/inline-restore.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import { LambdaRunSettler, INLINE_SETTLE_SOURCE } from '../../core/adapters/settlement/lambda-run-settler.js';
import { inlineTestLauncher, recordingFargateLauncher } from '../support/inline-test-launchers.js';
import { startLambdaInvokeServer, type LambdaInvokeServer } from '../support/lambda-invoke-server.js';
import { HttpReceiver } from '../support/http-receiver.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { awsDeploymentFromEnv, deployAwsPlatform, type AwsPlatform } from '../support/aws-platform.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl } from '../support/cli.js';
import { recentFireTime } from '../support/test-clock.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';
import { launchedSpec } from '../support/launched-spec.js';

function config(): string {
  return `
version: 1
environments:
  e2e:
    cloud: aws
    region: eu-west-1
    storage: { prefix: backups }
    defaults:
      timeout: 10m
      runtime: inline
      encryption: { kms: true }
    jobs:
      shop:
        source: "secret+aws://inline/shop"
        schedule: { cron: "0 3 * * *" }
        retention: { last: 3 }
      pruned:
        source: "secret+aws://inline/shop"
        schedule: { cron: "0 5 * * *" }
        retention: { last: 1 }
      unsettled:
        source: "secret+aws://inline/shop"
        schedule: { cron: "0 6 * * *" }
      grown:
        source: "secret+aws://inline/shop"
        schedule: { cron: "0 4 * * *" }
        inline: { maxShare: 0.2 }
`;
}

describe('inline runs end to end: scheduler event → inline-backup handler → runner child process on real PostgreSQL → settled in the catalog; restore through inline-restore', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !moto || !tools) return;

  const source = uniqueDatabaseName('inline_src');
  const restored = uniqueDatabaseName('inline_restored');
  let scratch = '';
  let platform: AwsPlatform;
  let deployment: InlineDeployment;
  let catalog: DynamoDbCatalog;
  let runnerOutput = '';
  let taskFinishedFunction: LambdaInvokeServer;
  const fargateLaunches: LaunchRequest[] = [];
  const deploy = () => Promise.resolve(deployment);

  /** A Lambda that has just started: Lambda's 15 minutes, less a little. */
  const freshInvocation = { getRemainingTimeInMillis: () => 14 * 60_000 + 59_000 };

  const inlineLauncher = (home: string) =>
    inlineTestLauncher({
      toolsBinDir: pg.binDir,
      home,
      env: platform.env,
      onOutput: (text) => {
        runnerOutput += text;
      },
    });

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'vaultra-inline-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    platform = await deployAwsPlatform(moto, { environmentName: 'e2e', configJson: bundledEnvironmentJson(config(), 'e2e') });
    const secrets = new SecretsManagerClient(motoClientConfig(moto, 'eu-west-1'));
    await secrets.send(new CreateSecretCommand({ Name: 'inline/shop', SecretString: databaseUrl(pg, source) }));
    await secrets.send(new CreateSecretCommand({ Name: 'inline/restored', SecretString: databaseUrl(pg, restored) }));
    Object.assign(process.env, platform.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });

    const fromEnv = awsDeploymentFromEnv(process.env);
    const recordingFargate = recordingFargateLauncher(fargateLaunches);
    // task-finished as deployed: its own handler, over the same catalog and bucket, reached by the SDK's Invoke.
    taskFinishedFunction = await startLambdaInvokeServer({ 'vaultra-e2e-task-finished': taskFinished(() => Promise.resolve(awsDeploymentFromEnv(process.env))) });
    const settler = new LambdaRunSettler('vaultra-e2e-task-finished', { endpoint: taskFinishedFunction.endpoint, region: 'eu-west-1' });
    deployment = { ...fromEnv, inline: inlineLauncher(join(scratch, 'backup')), fargate: recordingFargate, settler };
    catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
  });

  afterAll(async () => {
    await taskFinishedFunction?.close();
    await dropDatabase(pg, source).catch(() => undefined);
    await dropDatabase(pg, restored).catch(() => undefined);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('backs up inside the function, hands the run to the real task-finished handler (async Invoke served locally), which settles it; restores through the inline-restore function content-equal', async () => {
    const scheduledTime = recentFireTime(0, 3);
    const started = Date.now();
    const result = await inlineBackup(deploy)({ job: 'shop', scheduledTime, executionId: 'exec-1' }, freshInvocation);
    const wallMs = Date.now() - started;
    const runId = scheduledRunId('shop', scheduledTime);
    expect(result, runnerOutput).toMatchObject({ outcome: 'ended', job: 'shop', runId, runtime: 'inline', exitCode: 0, settling: 'handed-off' });
    expect(fargateLaunches).toEqual([]);

    // One asynchronous invoke of task-finished, with the run's exit; task-finished settled it.
    const handOff = taskFinishedFunction.invocations.at(-1)!;
    expect(handOff).toMatchObject({ functionName: 'vaultra-e2e-task-finished', invocationType: 'Event', payload: { source: INLINE_SETTLE_SOURCE, detail: { job: 'shop', runId, taskId: result.taskId, exitCode: 0 } } });
    expect(await handOff.result).toMatchObject({ outcome: 'succeeded', job: 'shop', runId });

    // The run record is the runner's own, settled by task-finished as after a Fargate task's stop.
    const run = await catalog.get('shop', runId);
    expect(run).toMatchObject({ status: 'succeeded', kind: 'backup', engine: 'postgres', taskId: result.taskId });
    expect(run!.durationMs).toBeGreaterThan(0);
    expect(await catalog.acquireLock('shop', 'probe', 1000)).toBe(true);
    await catalog.releaseLock('shop', 'probe');
    console.info(`inline backup of ${source} through the function code: ${wallMs} ms wall, run ${run!.durationMs} ms, ${run!.bytesRaw} bytes dumped, ${run!.bytesStored} stored`);

    // A restore request, as the api function would get one, run inline under the restore identity.
    const restoreLauncher = inlineLauncher(join(scratch, 'restore'));
    const answer = await inlineRestore(() => Promise.resolve({ ...deployment, launcher: restoreLauncher }))({ action: 'restore', job: 'shop', runId, target: 'secret+aws://inline/restored' });
    expect(answer, runnerOutput).toMatchObject({ ok: true, action: 'restore', exitCode: 0 });
    expect(await tableFingerprints(pg, restored)).toEqual(await tableFingerprints(pg, source));

    // Neither the runner's command line nor its output carries the database password.
    const canaries = plantCanaries(pg.password);
    expectNoCanary(canaries, 'the inline runner output', runnerOutput);
    expectNoCanary(canaries, 'the inline answers', JSON.stringify([result, answer]));
    expectNoCanary(canaries, 'the hand-off event', JSON.stringify(handOff.payload));
  });

  it('task-finished applies retention after an inline run it settled: keep-last-1 prunes the older inline backup', async () => {
    const [olderTime, newerTime] = [recentFireTime(1, 5), recentFireTime(2, 5)];
    const [older, newer] = [scheduledRunId('pruned', olderTime), scheduledRunId('pruned', newerTime)];
    for (const scheduledTime of [olderTime, newerTime]) {
      const result = await inlineBackup(deploy)({ job: 'pruned', scheduledTime }, freshInvocation);
      expect(result, runnerOutput).toMatchObject({ outcome: 'ended', runtime: 'inline', exitCode: 0, settling: 'handed-off' });
      // Lambda queues an asynchronous invoke: the next schedule may fire before it is settled, but not before the lock is free.
      await taskFinishedFunction.drained();
    }
    const settledNewer = (await taskFinishedFunction.drained()).at(-1);
    expect(settledNewer).toMatchObject({ outcome: 'succeeded', runId: newer, retention: { pruned: [older] } });
    expect(await catalog.get('pruned', newer)).toMatchObject({ status: 'succeeded' });
    expect((await catalog.get('pruned', older))?.prunedAt).toBeDefined();
    // Deleted by task-finished's role in a real deployment: the inline backup role may not delete versions.
    const left: string[] = [];
    for await (const object of awsDeploymentFromEnv(process.env).storage.list('pruned/')) left.push(object.key);
    expect(left.some((key) => key.includes(older))).toBe(false);
    expect(left.some((key) => key.includes(newer))).toBe(true);
    expect(await catalog.acquireLock('pruned', 'probe', 1000)).toBe(true);
    await catalog.releaseLock('pruned', 'probe');
  });

  it('a hand-off Lambda refuses (no invoke permission) is logged and answered, not thrown: the run stays as the runner recorded it', async () => {
    const refusing = await new HttpReceiver({ status: 403, headers: { 'x-amzn-errortype': 'AccessDeniedException', 'content-type': 'application/json' }, body: '{"Message":"not authorized"}' }).start();
    try {
      const settler = new LambdaRunSettler('vaultra-e2e-task-finished', { endpoint: refusing.url(), region: 'eu-west-1' });
      const scheduledTime = recentFireTime(0, 6);
      const result = await inlineBackup(() => Promise.resolve({ ...deployment, settler }))({ job: 'unsettled', scheduledTime }, freshInvocation);
      expect(result, runnerOutput).toMatchObject({ outcome: 'ended', runtime: 'inline', exitCode: 0, settling: 'hand-off-failed' });
      expect(refusing.requests).toHaveLength(1);
      // Unsettled: the runner's own record (no execution stamped on it), the lock still held until it expires.
      const run = await catalog.get('unsettled', scheduledRunId('unsettled', scheduledTime));
      expect(run).toMatchObject({ status: 'succeeded' });
      expect(run!.taskId).toBeUndefined();
      expect(await catalog.acquireLock('unsettled', 'probe', 1000)).toBe(false);
    } finally {
      await refusing.stop();
    }
  });

  it('fails over to Fargate (a recording mock of RunTask) when the last successful backup took more than its share of 15 minutes', async () => {
    const lastRun = scheduledRunId('grown', recentFireTime(0, 4));
    const startedAt = new Date(Date.parse(recentFireTime(0, 4)));
    // The job's last backup took 4 minutes: over its 0.2 share (3 minutes).
    await catalog.create({ runId: lastRun, job: 'grown', kind: 'backup', status: 'succeeded', startedAt: startedAt.toISOString(), finishedAt: new Date(startedAt.getTime() + 240_000).toISOString(), durationMs: 240_000 });
    const scheduledTime = recentFireTime(1, 4);
    const result = await inlineBackup(deploy)({ job: 'grown', scheduledTime }, freshInvocation);
    expect(result).toMatchObject({ outcome: 'started', runtime: 'fargate', failover: 'last-backup-too-long' });
    expect(fargateLaunches.map((request) => request.runId)).toEqual([scheduledRunId('grown', scheduledTime)]);
    // Exactly what the scheduled-backup function would have launched: the runner's backup command, references only.
    expect(launchedSpec(fargateLaunches[0]!.command)).toMatchObject({ job: 'grown', source: 'secret+aws://inline/shop' });
    expect(await catalog.get('grown', scheduledRunId('grown', scheduledTime))).toMatchObject({ status: 'pending', kind: 'backup' });
  });

  it('fails over to Fargate (a recording mock of RunTask) when the invocation has too little time left', async () => {
    const scheduledTime = recentFireTime(2, 3);
    const result = await inlineBackup(deploy)({ job: 'shop', scheduledTime }, { getRemainingTimeInMillis: () => 5 * 60_000 });
    expect(result).toMatchObject({ outcome: 'started', runtime: 'fargate', failover: 'invocation-too-short' });
    expect(fargateLaunches.at(-1)!.runId).toBe(scheduledRunId('shop', scheduledTime));
  });
});

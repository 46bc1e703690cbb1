/**
 * On-demand runs of `runtime: inline` jobs through the api function (docs/inline-runs.md, "On
 * demand"): the REAL api handler hands an inline job's backup, restore or verify to the inline
 * functions by the SDK's real asynchronous Lambda invoke, to the Invoke REST path served locally
 * by the REAL inline-backup, inline-restore and task-finished handlers (no emulator here runs
 * Lambda functions: lambda-invoke-server.ts); the runner runs as their child process (the built
 * `dist/vaultra.mjs`) against a real PostgreSQL, into DynamoDB and S3 on moto. The run is then
 * recorded under the run id the api answered with, and a backup is settled by task-finished as a
 * scheduled one is. A Fargate job's on-demand backup still goes to RunTask, which a recording
 * launcher stands in for (moto's RunTask fails with awsvpc networking): the test name says so.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { LambdaInlineRunQueue, ON_DEMAND_INLINE_SOURCE } from '../../core/adapters/launchers/lambda-inline-run-queue.js';
import { LambdaRunSettler } from '../../core/adapters/settlement/lambda-run-settler.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import type { LaunchRequest } from '../../core/ports/job-launcher.js';
import { createHandler as apiHandler } from '../../functions/aws/api.js';
import { createHandler as inlineBackup } from '../../functions/aws/inline-backup.js';
import { createHandler as inlineRestore } from '../../functions/aws/inline-restore.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import { inlineTestLauncher, recordingFargateLauncher } from '../support/inline-test-launchers.js';
import { startLambdaInvokeServer, type LambdaInvokeServer } from '../support/lambda-invoke-server.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { awsDeploymentFromEnv, deployAwsPlatform, type AwsPlatform } from '../support/aws-platform.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl } from '../support/cli.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';

const FUNCTIONS = { inlineBackup: 'vaultra-e2e-inline-backup', inlineRestore: 'vaultra-e2e-inline-restore', taskFinished: 'vaultra-e2e-task-finished' } as const;

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
      encryption: { kms: true }
    jobs:
      shop:
        source: "secret+aws://on-demand/shop"
        schedule: { cron: "0 3 * * *" }
        runtime: inline
      big:
        source: "secret+aws://on-demand/shop"
        schedule: { cron: "0 4 * * *" }
`;
}

type Answer = { ok: boolean; action?: string; runId?: string; taskId?: string; error?: { kind: string; message: string } } & Record<string, unknown>;

describe('on-demand runs of inline jobs: api handler → asynchronous invoke of the inline functions → runner child process on real PostgreSQL → recorded under the answered run id', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !moto || !tools) return;

  const source = uniqueDatabaseName('ondemand_src');
  const restored = uniqueDatabaseName('ondemand_restored');
  let scratch = '';
  let platform: AwsPlatform;
  let catalog: DynamoDbCatalog;
  let functions: LambdaInvokeServer;
  let api: (event: unknown) => Promise<Answer>;
  let runnerOutput = '';
  const fargateLaunches: LaunchRequest[] = [];

  const inlineLauncher = (home: string) =>
    inlineTestLauncher({
      toolsBinDir: pg.binDir,
      home,
      env: platform.env,
      onOutput: (text) => {
        runnerOutput += text;
      },
    });

  /** The invocations of `name` so far. */
  const invocationsOf = (name: string) => functions.invocations.filter((invocation) => invocation.functionName === name);

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'vaultra-inline-on-demand-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    platform = await deployAwsPlatform(moto, { environmentName: 'e2e', configJson: bundledEnvironmentJson(config(), 'e2e') });
    const secrets = new SecretsManagerClient(motoClientConfig(moto, 'eu-west-1'));
    await secrets.send(new CreateSecretCommand({ Name: 'on-demand/shop', SecretString: databaseUrl(pg, source) }));
    await secrets.send(new CreateSecretCommand({ Name: 'on-demand/restored', SecretString: databaseUrl(pg, restored) }));
    Object.assign(process.env, platform.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });

    const fromEnv = awsDeploymentFromEnv(process.env);
    const recordingFargate = recordingFargateLauncher(fargateLaunches);
    // The three functions as deployed, each its own handler over the same catalog and bucket, reached by the
    // SDK's Invoke (their deployments are built per invocation, once the server's endpoint is known).
    const lambda = () => ({ endpoint: functions.endpoint, region: 'eu-west-1' });
    functions = await startLambdaInvokeServer({
      [FUNCTIONS.inlineBackup]: inlineBackup(() => Promise.resolve({ ...fromEnv, inline: inlineLauncher(join(scratch, 'backup')), fargate: recordingFargate, settler: new LambdaRunSettler(FUNCTIONS.taskFinished, lambda()) })),
      [FUNCTIONS.inlineRestore]: inlineRestore(() => Promise.resolve({ ...fromEnv, launcher: inlineLauncher(join(scratch, 'restore')) })),
      [FUNCTIONS.taskFinished]: taskFinished(() => Promise.resolve(awsDeploymentFromEnv(process.env))),
    });
    const inlineRuns = new LambdaInlineRunQueue({ backupFunction: FUNCTIONS.inlineBackup, restoreFunction: FUNCTIONS.inlineRestore, client: lambda() });
    const handler = apiHandler(() => Promise.resolve({ ...fromEnv, launcher: recordingFargate, inlineRuns }));
    api = (event) => handler(event) as Promise<Answer>;
    catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
  });

  afterAll(async () => {
    await functions?.close();
    await dropDatabase(pg, source).catch(() => undefined);
    await dropDatabase(pg, restored).catch(() => undefined);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  let backupRunId = '';

  it('an inline job\'s on-demand backup is queued for the inline backup function, run there, settled by task-finished, and recorded under the run id the api answered with', async () => {
    // Act
    const answer = await api({ action: 'backup', job: 'shop' });
    // Assess: answered at once, with the run id and the queued invocation, before the run exists.
    expect(answer).toMatchObject({ ok: true, action: 'backup', outcome: 'queued', runtime: 'inline', runId: expect.any(String) });
    backupRunId = answer.runId!;
    const [queued] = invocationsOf(FUNCTIONS.inlineBackup);
    expect(queued).toMatchObject({ invocationType: 'Event', payload: { source: ON_DEMAND_INLINE_SOURCE, job: 'shop', runId: backupRunId } });
    expect(answer.taskId).toBe(`inline-invocation:${queued!.requestId}`);

    const ended = (await queued!.result) as Answer;
    expect(ended, runnerOutput).toMatchObject({ outcome: 'ended', runtime: 'inline', job: 'shop', runId: backupRunId, exitCode: 0, settling: 'handed-off' });
    const [handOff] = invocationsOf(FUNCTIONS.taskFinished);
    expect(await handOff!.result).toMatchObject({ outcome: 'succeeded', job: 'shop', runId: backupRunId });
    expect(await catalog.get('shop', backupRunId)).toMatchObject({ kind: 'backup', status: 'succeeded', engine: 'postgres', taskId: ended.taskId });
    expect(fargateLaunches).toEqual([]);
    // The job's lock was released by the settling: the next run may start.
    expect(await catalog.acquireLock('shop', 'probe', 1000)).toBe(true);
    await catalog.releaseLock('shop', 'probe');
  });

  it('an inline job\'s on-demand restore and verify are queued for the inline restore function and recorded under the answered run ids; the restore is content-equal', async () => {
    // Act
    const restore = await api({ action: 'restore', job: 'shop', runId: backupRunId, target: 'secret+aws://on-demand/restored' });
    const verify = await api({ action: 'verify', job: 'shop', runId: backupRunId });
    // Assess
    for (const [answer, action] of [[restore, 'restore'], [verify, 'verify']] as const) {
      expect(answer).toMatchObject({ ok: true, action, outcome: 'queued', runtime: 'inline', runId: expect.any(String) });
    }
    const queued = invocationsOf(FUNCTIONS.inlineRestore);
    expect(queued.map((invocation) => [invocation.invocationType, invocation.payload])).toEqual([
      ['Event', { source: ON_DEMAND_INLINE_SOURCE, runId: restore.runId, request: { action: 'restore', job: 'shop', runId: backupRunId, target: 'secret+aws://on-demand/restored' } }],
      ['Event', { source: ON_DEMAND_INLINE_SOURCE, runId: verify.runId, request: { action: 'verify', job: 'shop', runId: backupRunId } }],
    ]);
    const ended = (await Promise.all(queued.map((invocation) => invocation.result))) as Answer[];
    expect(ended, runnerOutput).toMatchObject([
      { ok: true, action: 'restore', runId: restore.runId, exitCode: 0 },
      { ok: true, action: 'verify', runId: verify.runId, exitCode: 0 },
    ]);
    expect(await catalog.get('shop', restore.runId!)).toMatchObject({ kind: 'restore', status: 'succeeded' });
    expect(await catalog.get('shop', verify.runId!)).toMatchObject({ kind: 'verify', status: 'succeeded' });
    expect(await tableFingerprints(pg, restored)).toEqual(await tableFingerprints(pg, source));
    expect(fargateLaunches).toEqual([]);

    // Neither the events, the answers nor the runner's output carry the database password.
    const canaries = plantCanaries(pg.password);
    expectNoCanary(canaries, 'the inline runner output', runnerOutput);
    expectNoCanary(canaries, 'the answers and events', JSON.stringify([restore, verify, ended, functions.invocations.map((invocation) => invocation.payload)]));
  });

  it('a Fargate job\'s on-demand backup still starts a task (a recording mock of RunTask), not an inline function', async () => {
    const before = functions.invocations.length;
    const answer = await api({ action: 'backup', job: 'big' });
    expect(answer).toMatchObject({ ok: true, action: 'backup', outcome: 'started', taskId: expect.stringMatching(/^arn:aws:ecs:/) });
    expect(fargateLaunches.map((request) => request.runId)).toEqual([answer.runId]);
    expect(functions.invocations.length).toBe(before);
  });

  it('an inline function the api role may not invoke: answered as a failed launch, in one line that says what to check', async () => {
    // Prepare: Lambda refuses the invoke (AccessDeniedException).
    const refusing = await startLambdaInvokeServer({}, { deny: new Set([FUNCTIONS.inlineBackup]) });
    try {
      const inlineRuns = new LambdaInlineRunQueue({ backupFunction: FUNCTIONS.inlineBackup, restoreFunction: FUNCTIONS.inlineRestore, client: { endpoint: refusing.endpoint, region: 'eu-west-1', maxAttempts: 1 } });
      const handler = apiHandler(() => Promise.resolve({ ...awsDeploymentFromEnv(process.env), inlineRuns }));
      // Act
      const answer = (await handler({ action: 'backup', job: 'shop' })) as Answer;
      // Assess
      expect(answer).toMatchObject({ ok: false, error: { kind: 'launch' } });
      expect(answer.error!.message).toMatch(/^cannot hand the backup of job shop to vaultra-e2e-inline-backup: AccessDeniedException: .*; check that the api function's role may invoke it$/);
    } finally {
      await refusing.close();
    }
  });
});

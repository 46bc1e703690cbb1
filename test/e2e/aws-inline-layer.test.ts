/**
 * Inline runs with the LAYER's tools, not this machine's: the inline functions' asset (bundled as
 * the CDK bundles it) at /var/task and the tools layer (layers/build.sh) at /opt of a foreign root
 * (Ubuntu jammy with no database tools, read-only, a fresh /tmp: test/support/layer-root.ts), the
 * handlers invoked there by Node as the Lambda runtime would, Lambda's PATH (/opt/bin last) and
 * LD_LIBRARY_PATH. A scheduled backup of a real PostgreSQL into the S3/DynamoDB emulators (moto),
 * handed by the function's own Lambda client (an asynchronous Invoke) to the real task-finished
 * handler, served on the Invoke REST path by this process (test/support/lambda-invoke-server.ts)
 * and settled there, then a restore through the inline-restore function into another
 * database, content-equal. Also the figures docs/inline-runs.md quotes: the invocation's wall time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { manifestKey } from '../../core/domain/object-layout.js';
import { AWS_FUNCTION_ENV } from '../../core/platform/aws-deployment.js';
import { requireMoto, requirePostgres } from '../support/requirements.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { deployAwsPlatform, type AwsPlatform } from '../support/aws-platform.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, psqlQuery } from '../support/cli.js';
import { recentFireTime } from '../support/test-clock.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';
import { buildLayer, LAMBDA_LD_LIBRARY_PATH, layerRoot, requireLayerRoot, type LayerRoot } from '../support/layer-root.js';
import { bundleInlineFunctions, INLINE_HANDLERS, INVOKE_DRIVER, invocationResult } from '../support/inline-function-bundle.js';
import { startLambdaInvokeServer, type LambdaInvokeServer } from '../support/lambda-invoke-server.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import { awsDeploymentFromEnv } from '../support/aws-platform.js';

/** Lambda's own PATH for Node.js runtimes: the layer's /opt/bin comes last; the inline launcher puts it first for the runner. */
const LAMBDA_PATH = '/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin';

function config(): string {
  return `
version: 1
environments:
  e2e:
    cloud: aws
    region: eu-west-1
    storage: { prefix: backups }
    jobs:
      shop:
        source: "secret+aws://layer/shop"
        schedule: { cron: "0 3 * * *" }
        runtime: inline
        timeout: 10m
        encryption: { kms: true }
`;
}

describe('inline runs under a foreign root with the tools layer: the functions\' asset at /var/task, the layer at /opt, a real PostgreSQL, moto', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const rootable = requireLayerRoot();
  if (!pg || !moto || !rootable) return;

  const source = uniqueDatabaseName('layer_src');
  const restored = uniqueDatabaseName('layer_restored');
  let asset = '';
  let platform: AwsPlatform;
  let lambda: LayerRoot;
  let functionEnv: Record<string, string>;
  let taskFinishedFunction: LambdaInvokeServer;

  beforeAll(async () => {
    asset = await mkdtemp(join(tmpdir(), 'vaultra-inline-asset-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    // A few MB more, so the measured run moves some bytes: about the size of the pagila sample database.
    await psqlQuery(pg, source, "CREATE TABLE rentals AS SELECT g AS id, md5(g::text) AS customer, now() - g * interval '1 minute' AS rented_at, repeat(md5(g::text), 2) AS note FROM generate_series(1, 100000) g");
    const configJson = bundledEnvironmentJson(config(), 'e2e');
    platform = await deployAwsPlatform(moto, { environmentName: 'e2e', configJson });
    // This process reads the catalog back as the functions' clients would: moto's endpoint and credentials.
    Object.assign(process.env, platform.env);
    const secrets = new SecretsManagerClient(motoClientConfig(moto, 'eu-west-1'));
    await secrets.send(new CreateSecretCommand({ Name: 'layer/shop', SecretString: databaseUrl(pg, source) }));
    await secrets.send(new CreateSecretCommand({ Name: 'layer/restored', SecretString: databaseUrl(pg, restored) }));
    const dedup = await secrets.send(new CreateSecretCommand({ Name: 'layer/dedup-key', SecretString: 'd'.repeat(64) }));

    taskFinishedFunction = await startLambdaInvokeServer({ 'vaultra-e2e-task-finished': taskFinished(() => Promise.resolve(awsDeploymentFromEnv(process.env))) });
    const [layer] = await Promise.all([buildLayer(), bundleInlineFunctions(asset, configJson)]);
    // jammy (glibc 2.35): the runner's zstd-napi addon, built on this machine, needs 2.34 as Lambda's OS has it.
    lambda = await layerRoot({ layerDir: layer.optDir, suite: 'jammy' });
    // What Lambda gives the function: its variables (the stack's), the role's credentials (moto's), the runtime's paths.
    functionEnv = {
      ...platform.env,
      [AWS_FUNCTION_ENV.dedupKeySecretArn]: dedup.ARN!,
      [AWS_FUNCTION_ENV.taskFinishedFunction]: 'vaultra-e2e-task-finished',
      // The function's Lambda client (the hand-off) reaches task-finished here; every other client moto.
      AWS_ENDPOINT_URL_LAMBDA: taskFinishedFunction.endpoint,
      PATH: LAMBDA_PATH,
      LD_LIBRARY_PATH: LAMBDA_LD_LIBRARY_PATH,
      LAMBDA_TASK_ROOT: '/var/task',
      LANG: 'C.UTF-8',
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    };
  }, 900_000);

  afterAll(async () => {
    await taskFinishedFunction?.close();
    await dropDatabase(pg, source).catch(() => undefined);
    await dropDatabase(pg, restored).catch(() => undefined);
    if (asset) await rm(asset, { recursive: true, force: true });
  });

  /** One invocation of a handler of the asset, inside the root; the function's own /tmp is the root's fresh tmpfs. */
  const invoke = (handler: string, event: unknown) =>
    lambda.run(['node', `/var/task/${INVOKE_DRIVER}`, `./${handler}`, JSON.stringify(event)], { env: functionEnv, cwd: '/var/task', binds: [{ hostPath: asset, path: '/var/task', readOnly: true }], timeoutMs: 900_000 });

  it('has no dump tool of its own: only the layer\'s, which this machine cannot even start', async () => {
    const found = await lambda.run(['/bin/sh', '-c', 'command -v pg_dump psql zstd age; true'], { env: { ...functionEnv, PATH: '/usr/local/bin:/usr/bin:/bin' } });
    expect(found.stdout.trim()).toBe('');
    const layered = await lambda.run(['pg_dump', '--version'], { env: { ...functionEnv, PATH: `/opt/bin:${LAMBDA_PATH}` } });
    expect(layered.stdout).toMatch(/^pg_dump \(PostgreSQL\) \d+/);
  });

  it('backs up through the inline-backup function with the layer\'s tools, hands the run to task-finished (async Invoke served locally), and restores through inline-restore content-equal', async () => {
    const scheduledTime = recentFireTime(0, 3);
    const runId = scheduledRunId('shop', scheduledTime);
    const started = Date.now();
    const backup = await invoke(INLINE_HANDLERS.backup, { job: 'shop', scheduledTime, executionId: 'exec-1' });
    const backupWallMs = Date.now() - started;
    expect(invocationResult(backup.stdout), backup.stderr).toMatchObject({ outcome: 'ended', job: 'shop', runId, runtime: 'inline', exitCode: 0, settling: 'handed-off' });
    expect(await taskFinishedFunction.drained()).toMatchObject([{ outcome: 'succeeded', job: 'shop', runId }]);

    const catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
    const run = await catalog.get('shop', runId);
    expect(run).toMatchObject({ status: 'succeeded', kind: 'backup', engine: 'postgres' });
    expect(run!.taskId).toMatch(/^inline:/);
    // The manifest names the dump tool that ran: the layer's pg_dump, at /opt/bin's version.
    const s3 = new S3Client({ ...motoClientConfig(moto, 'eu-west-1'), forcePathStyle: true });
    const manifest = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: platform.bucket, Key: `backups/${manifestKey('shop', runId)}` }))).Body!.transformToString()) as { dump: { tool: string; toolVersion: string } };
    const layerVersion = (await lambda.run(['pg_dump', '--version'], { env: { ...functionEnv, PATH: '/opt/bin' } })).stdout.trim();
    expect(layerVersion).toContain(manifest.dump.toolVersion);

    const restoreStarted = Date.now();
    const restore = await invoke(INLINE_HANDLERS.restore, { action: 'restore', job: 'shop', runId, target: 'secret+aws://layer/restored' });
    const restoreWallMs = Date.now() - restoreStarted;
    expect(invocationResult(restore.stdout), restore.stderr).toMatchObject({ ok: true, action: 'restore', exitCode: 0 });
    expect(await tableFingerprints(pg, restored)).toEqual(await tableFingerprints(pg, source));

    const canaries = plantCanaries(pg.password);
    for (const [where, text] of [['the backup invocation', backup.stdout + backup.stderr], ['the restore invocation', restore.stdout + restore.stderr]] as const) expectNoCanary(canaries, where, text);

    // The figures docs/inline-runs.md quotes (wall time of each invocation, Node's start included).
    console.info(
      `inline under the layer root: backup invocation ${backupWallMs} ms wall (run record ${run!.durationMs} ms; ${run!.bytesRaw} bytes dumped, ${run!.bytesStored} stored), restore invocation ${restoreWallMs} ms wall; ${manifest.dump.tool} ${manifest.dump.toolVersion}`,
    );
  });
});

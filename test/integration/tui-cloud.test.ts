/**
 * `vaultra tui` on an AWS environment, in a real terminal (tmux), through the built CLI: the
 * catalog is DynamoDB and the bucket S3 on moto; the console's actions go through the real
 * Lambda client to the real api handler (functions/aws/api.ts), which a local server answers on
 * Lambda's Invoke path (moto runs functions only in Docker). Fargate is replaced by a launcher
 * that runs the real runner (`dist/vaultra.mjs`) as a process and, when it ends, puts its output
 * where the awslogs driver would: the task's stream in CloudWatch Logs on moto. Nothing here reads
 * a date off the screen.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { LocalProcessLauncher, type LocalTaskExit } from '../../core/adapters/launchers/local-process-launcher.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import type { JobLauncher } from '../../core/ports/job-launcher.js';
import { awsNames, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { createHandler as api } from '../../functions/aws/api.js';
import { createHandler as taskFinished } from '../../functions/aws/task-finished.js';
import type { AwsDeployment } from '../../functions/aws/shared/deployment-types.js';
import { awsSettingsFromEnv } from '../../functions/aws/shared/settings.js';
import { awsDeploymentFromEnv, deployAwsPlatform, type AwsPlatform } from '../support/aws-platform.js';
import { vaultraBin } from '../support/cli.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { requireMoto, requireTools } from '../support/requirements.js';
import { createSqliteFixture, sqliteExec, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { startLambdaInvokeServer, type LambdaInvokeServer } from '../support/lambda-invoke-server.js';
import { runnerProcessEnvironment } from '../support/test-clock.js';
import { TmuxTerminal } from '../support/tmux.js';

const ENVIRONMENT = 'cloud1';
const REGION = 'eu-west-1';

function config(): string {
  return `# the cloud console's test config
version: 1
environments:
  ${ENVIRONMENT}:
    cloud: aws
    region: ${REGION}
    storage: { prefix: backups }
    defaults:
      encryption: { kms: true }
    jobs:
      shop:
        source: "secret+aws://${ENVIRONMENT}/shop"
        schedule: { cron: "0 3 * * *" }
`;
}

describe('vaultra tui on an AWS environment (moto; the api function served on a local Invoke endpoint, Fargate by a local runner process logging to CloudWatch on moto)', () => {
  const moto = requireMoto();
  const tools = requireTools('tmux', 'sqlite3', 'zstd');
  if (!moto || !tools) return;

  let root = '';
  let platform: AwsPlatform;
  let server: LambdaInvokeServer;
  let terminal: TmuxTerminal | undefined;
  let configPath = '';
  const logGroup = `/vaultra/${ENVIRONMENT}/runner-${randomBytes(3).toString('hex')}`;
  const exits: Promise<LocalTaskExit>[] = [];

  /**
   * Fargate's stand-in: the real runner as a process under an ECS-like task ARN; when it ends,
   * its output put where awslogs puts it, and the stop event ECS would send handed to the real
   * task-finished handler (it settles the run and releases the job's lock).
   */
  function fargateStandIn(local: LocalProcessLauncher, deployment: () => Promise<AwsDeployment>): JobLauncher {
    const logs = new CloudWatchLogsClient(motoClientConfig(moto!, REGION));
    return {
      async launch(request) {
        const { taskId: localTask } = await local.launch(request);
        const taskHex = randomBytes(16).toString('hex');
        const taskArn = `arn:aws:ecs:${REGION}:123456789012:task/vaultra-${ENVIRONMENT}/${taskHex}`;
        exits.push(
          local.completion(localTask).then(async (exit) => {
            const stream = `runner/${RUNNER_CONTAINER_NAME}/${taskHex}`;
            const lines = `${exit.stderr}${exit.stdout}`.split('\n').filter((line) => line !== '');
            await logs.send(new CreateLogStreamCommand({ logGroupName: logGroup, logStreamName: stream }));
            const at = Date.now();
            await logs.send(new PutLogEventsCommand({ logGroupName: logGroup, logStreamName: stream, logEvents: lines.map((message, i) => ({ timestamp: at + i, message })) }));
            await taskFinished(deployment)({
              source: 'aws.ecs',
              'detail-type': 'ECS Task State Change',
              detail: {
                taskArn,
                lastStatus: 'STOPPED',
                stoppedReason: 'Essential container in task exited',
                stoppedAt: exit.stoppedAt,
                containers: [{ name: RUNNER_CONTAINER_NAME, ...(exit.exitCode === undefined ? {} : { exitCode: exit.exitCode }) }],
                overrides: { containerOverrides: [{ name: RUNNER_CONTAINER_NAME, environment: [{ name: 'VAULTRA_JOB', value: exit.job }, { name: 'VAULTRA_RUN_ID', value: exit.runId }] }] },
              },
            });
            return exit;
          }),
        );
        return { taskId: taskArn };
      },
    };
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-tui-cloud-'));
    await createSqliteFixture(join(root, 'shop.db'));
    configPath = join(root, 'vaultra.config.yaml');
    writeFileSync(configPath, config());
    platform = await deployAwsPlatform(moto, { environmentName: ENVIRONMENT, configJson: bundledEnvironmentJson(config(), ENVIRONMENT), region: REGION });
    const aws = motoClientConfig(moto, REGION);
    await new SecretsManagerClient(aws).send(new CreateSecretCommand({ Name: `${ENVIRONMENT}/shop`, SecretString: `sqlite:${join(root, 'shop.db')}` }));
    // What the stack deploys for the console to find the runner's log: the task definition's awslogs settings.
    await new ECSClient(aws).send(
      new RegisterTaskDefinitionCommand({
        family: awsNames.runnerTaskFamily(ENVIRONMENT),
        containerDefinitions: [{ name: RUNNER_CONTAINER_NAME, image: 'vaultra-runner', memoryReservation: 512, logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': logGroup, 'awslogs-stream-prefix': 'runner', 'awslogs-region': REGION } } }],
      }),
    );
    await new CloudWatchLogsClient(aws).send(new CreateLogGroupCommand({ logGroupName: logGroup }));

    Object.assign(process.env, platform.env, { POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_LOG_LEVEL: 'ERROR' });
    const home = mkdtempSync(join(root, 'runner-home-'));
    const local = new LocalProcessLauncher({ runnerPath: vaultraBin, baseEnvironment: { ...platform.env, ...runnerProcessEnvironment(home, '/usr/bin') } });
    const deploy = () => Promise.resolve(deployment);
    const deployment: AwsDeployment = { ...awsDeploymentFromEnv(process.env), launcher: fargateStandIn(local, deploy) };
    const handler = api(deploy);
    server = await startLambdaInvokeServer({ [awsNames.apiFunction(ENVIRONMENT)]: (event) => handler(event) });

    // A backup to act on, started the way the console's "backup now" starts one.
    expect(await handler({ action: 'backup', job: 'shop' })).toMatchObject({ ok: true, action: 'backup' });
    const exit = await exits.at(-1)!;
    expect(exit.exitCode, exit.stderr).toBe(0);
  });
  afterEach(() => {
    terminal?.close();
    terminal = undefined;
  });
  afterAll(async () => {
    await server?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  // The console's own AWS secret key and session token are canaries (moto checks no signature): no screen may show them.
  const canaries = plantCanaries('canary-unused-password');
  const screens: string[] = [];
  async function waitFor(pattern: RegExp, timeoutMs?: number): Promise<string[]> {
    const screen = await terminal!.waitFor(pattern, timeoutMs);
    screens.push(screen.join('\n'));
    return screen;
  }

  function startConsole(): TmuxTerminal {
    const { target } = awsSettingsFromEnv(platform.env);
    const credentials = { AWS_SECRET_ACCESS_KEY: canaries.awsSecretAccessKey, AWS_SESSION_TOKEN: canaries.awsSessionToken };
    const env = Object.fromEntries(
      Object.entries({ ...platform.env, ...credentials, AWS_ENDPOINT_URL_LAMBDA: server.endpoint, PATH: process.env.PATH, HOME: root, NO_COLOR: '1' }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    const command = `${process.execPath} ${vaultraBin} tui --config ${configPath} --env ${ENVIRONMENT} --from '${target.storageUrl}' --catalog '${target.catalogUrl}'; echo "vaultra exited $?"; exec sleep 600`;
    return TmuxTerminal.start({ socket: join(root, `tmux-${Date.now()}.sock`), command, env, columns: 120, rows: 40, cwd: root });
  }

  it("shows a run's CloudWatch log lines on its screen, verifies it through the api function and follows it to the end, restores only once the target is named, shows no secret, and q exits 0", async () => {
    const catalog = DynamoDbCatalog.fromUrl(awsSettingsFromEnv(platform.env).target.catalogUrl);
    terminal = startConsole();
    await waitFor(/^shop\s/m);
    await terminal.keys('Enter');
    await waitFor(/history of shop/);
    await waitFor(/1 run\(s\)/);
    await terminal.keys('Enter');
    await waitFor(/^manifest$/m);
    // The backup's own log, below its manifest: the lines its task wrote, read from CloudWatch Logs.
    await terminal.keys(...Array<string>(60).fill('Down'));
    // Each line after the time CloudWatch stamped it with (the runner's --json result among them).
    await waitFor(/^\s+[\d:.]+\s+"status": "succeeded",$/m);
    await terminal.keys(...Array<string>(60).fill('Up'));
    await waitFor(/^status\s+✓ succeeded \(backup\)/m);

    // Verify: one Invoke, the run it started followed in DynamoDB, its log read from CloudWatch.
    const invocations = server.invocations.length;
    await terminal.keys('v');
    let screen = await waitFor(/^started\s+run \S+ · task arn:aws:ecs:/m);
    // The command wraps over the frame's lines wherever the terminal's width puts the breaks.
    expect(screen.join(' ').replace(/\s+/g, ' ')).toMatch(/cli: aws lambda invoke --function-name vaultra-cloud1-api --region eu-west-1 --cli-binary-format raw-in-base64-out --payload '\{"action":"verify","job":"shop","runId":"\S+"\}' \/dev\/stdout/);
    screen = await waitFor(/✓ verify of job shop succeeded/, 60_000);
    const verifyRunId = /^started\s+run (\S+) · task/m.exec(screen.join('\n'))![1]!;
    expect(server.invocations.slice(invocations)).toHaveLength(1);
    expect(server.invocations.at(-1)!.payload).toMatchObject({ action: 'verify', job: 'shop' });
    // The run the console followed is the one the runner recorded, under the id the function answered.
    expect(await catalog.get('shop', verifyRunId)).toMatchObject({ kind: 'verify', status: 'succeeded' });
    // Once its task has stopped, the task-finished handler notes the task on it (where its log is) and leaves it succeeded.
    await exits.at(-1);
    expect(await catalog.get('shop', verifyRunId)).toMatchObject({ status: 'succeeded', taskId: expect.stringMatching(/^arn:aws:ecs:/) });
    screen = await waitFor(/^log$/m, 30_000);
    expect(screen.join('\n')).toMatch(/"structure": "PRAGMA integrity_check ok/);

    // Restore: the dry run's answer read from the runner's log; a wrong name refused, the right one restores.
    const copy = join(root, 'copy.db');
    await sqliteExec(copy, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO items (name) VALUES ('kept until confirmed');");
    const before = await sqliteFingerprints(copy);
    await terminal.keys('Enter');
    await waitFor(/^manifest$/m);
    await terminal.keys('r');
    await waitFor(/^target:$/m);
    terminal.type(`sqlite:${copy}`);
    await terminal.keys('Enter');
    await waitFor(/^tables:$/m);
    await terminal.keys('Enter');
    screen = await waitFor(/Type its name \(copy\.db\)/, 60_000);
    expect(screen.join('\n')).toMatch(/would replace\s+items/);
    expect(screen.join('\n')).toContain('dry run: the backup checks out; nothing was written');
    terminal.type('shop');
    await terminal.keys('Enter');
    await waitFor(/refused: "shop" is not copy\.db; nothing was changed/);
    expect(await sqliteFingerprints(copy)).toEqual(before);
    terminal.type('copy.db');
    await terminal.keys('Enter');
    await waitFor(/✓ restore of job shop succeeded/, 60_000);
    expect(await sqliteFingerprints(copy)).toEqual(await sqliteFingerprints(join(root, 'shop.db')));
    expect(server.invocations.slice(invocations).map((invocation) => invocation.payload)).toMatchObject([
      { action: 'verify' },
      { action: 'restore', target: `sqlite:${copy}`, dryRun: true },
      { action: 'restore', target: `sqlite:${copy}`, dryRun: false, force: true },
    ]);

    await terminal.keys('Enter');
    await waitFor(/^manifest$/m);
    await terminal.keys('q');
    await waitFor(/vaultra exited 0/);
    expectNoCanary(canaries, "the console's screens", screens.join('\n'));
  });

  it('stops following with esc and says the run goes on in the cloud', async () => {
    terminal = startConsole();
    await terminal.waitFor(/^shop\s/m);
    await terminal.keys('b');
    await terminal.waitFor(/^started\s+run \S+ · task arn:aws:ecs:/m);
    await terminal.keys('Escape');
    const screen = await terminal.waitFor(/stopped following: run \S+ goes on in the cloud \(task\s+arn:aws:ecs:/);
    expect(screen.join(' ').replace(/\s+/g, ' ')).toContain("find it in the job's history");
    // The run was not touched: the runner finishes it.
    const exit = await exits.at(-1)!;
    expect(exit.exitCode, exit.stderr).toBe(0);
  });
});

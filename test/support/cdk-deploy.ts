/**
 * `cdk bootstrap` and `cdk deploy` of the real Vaultra stack against moto, as a user runs them:
 * the pinned CDK CLI and cdk.json's app, with the emulator switches (`-c runnerImage=<uri>`,
 * `-c flowLogs=false`). The app is synthesized once into a temp assembly that bootstrap and
 * deploy both read (`--app <dir>`), so the functions are bundled once.
 *
 * moto-specific, from TESTING.md: the endpoint is `http://localhost:<port>` (with `127.0.0.1`
 * moto reads `127` as a bucket name), and the CLI gets an access key of its own per deployment
 * (the CDK CLI caches the account it found per key). moto's CloudFormation lacks
 * AWS::SecretsManager::Secret and makes every KMS key symmetric: start moto with
 * `cloudFormationFixes` (moto-cfn-fidelity.py).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { runOk } from './exec.js';
import type { MotoConnection } from './moto-server.js';
import { repoRoot } from './cli.js';

/** moto's default account: every key that is not an STS session acts in it. */
export const MOTO_ACCOUNT = '123456789012';

export interface CdkDeployOptions {
  readonly configPath: string;
  readonly environmentName: string;
  readonly region: string;
  /** Any URI the task definition accepts: moto never pulls it. */
  readonly runnerImage: string;
}

export interface CdkDeployment {
  readonly stackName: string;
  /** The synthesized cloud assembly that was deployed (templates, function assets). */
  readonly assemblyDir: string;
  /** The stack's outputs (`BucketName`, `CatalogTableName`, …) as DescribeStacks reports them. */
  readonly outputs: Readonly<Record<string, string>>;
  /** Seconds each CLI step took, for the report. */
  readonly seconds: { readonly synth: number; readonly bootstrap: number; readonly deploy: number };
  /** Removes the assembly. */
  remove(): void;
}

/** The CLI's environment: nothing of the machine's AWS settings, moto as the endpoint, a fresh key. */
function cdkCliEnv(moto: MotoConnection, region: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (/^(AWS_|CDK_)/.test(name)) delete env[name];
  return {
    ...env,
    AWS_ENDPOINT_URL: moto.endpoint.replace('127.0.0.1', 'localhost'),
    AWS_ACCESS_KEY_ID: `vaultra-cdk-${randomBytes(6).toString('hex')}`,
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    // cdk-synth.test.ts runs the full template validation; here it would only add time.
    CDK_VALIDATION: 'false',
  };
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return Math.round((performance.now() - started) / 100) / 10;
}

export async function cdkDeployToMoto(moto: MotoConnection, options: CdkDeployOptions): Promise<CdkDeployment> {
  const assemblyDir = mkdtempSync(path.join(tmpdir(), 'vaultra-cdk-deploy-'));
  const env = cdkCliEnv(moto, options.region);
  const stackName = `Vaultra-${options.environmentName}`;
  const cdk = (args: string[]) => runOk('npx', ['cdk', ...args, '--no-notices'], { cwd: repoRoot, env, timeoutMs: 240_000 });
  const context = ['-c', `env=${options.environmentName}`, '-c', `config=${options.configPath}`, '-c', `runnerImage=${options.runnerImage}`, '-c', 'flowLogs=false'];
  try {
    const synth = await timed(() => cdk(['synth', ...context, '--quiet', '--output', assemblyDir]));
    const bootstrap = await timed(() => cdk(['bootstrap', `aws://${MOTO_ACCOUNT}/${options.region}`, '--app', assemblyDir]));
    // Without a change set: moto computes a stack's outputs only when CreateStack makes it.
    const deploy = await timed(() => cdk(['deploy', stackName, '--app', assemblyDir, '--require-approval', 'never', '--method=direct']));
    const cloudformation = new CloudFormationClient({ region: options.region, endpoint: moto.endpoint, credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: 'testing' } });
    const { Stacks = [] } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs = Object.fromEntries((Stacks[0]?.Outputs ?? []).map((output) => [output.OutputKey!, output.OutputValue!]));
    return { stackName, assemblyDir, outputs, seconds: { synth, bootstrap, deploy }, remove: () => rmSync(assemblyDir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(assemblyDir, { recursive: true, force: true });
    throw error;
  }
}

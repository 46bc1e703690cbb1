/**
 * A Lambda function as `cdk deploy` left it on moto, run here: moto stores functions but cannot
 * run them without Docker, so this downloads the function's deployed package (the asset zip the
 * template names in the bootstrap bucket, checked against the function's CodeSha256), unzips it
 * and calls its `handler` in a child Node process with the function's deployed environment
 * variables, plus what the Lambda runtime would add (region, credentials; the endpoint is moto's).
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { CloudFormationClient, DescribeStackResourcesCommand, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { expect } from 'vitest';
import { runOk } from './exec.js';
import type { MotoClientConfig } from './moto-clients.js';

export interface DeployedFunction {
  readonly functionName: string;
  /** The deployed environment variables, as GetFunctionConfiguration reports them. */
  readonly environment: Readonly<Record<string, string>>;
  /** Calls the deployed `handler` with `event`; resolves to what it returned. */
  invoke(event: unknown, runtimeEnv: Readonly<Record<string, string>>): Promise<unknown>;
}

interface FunctionResource {
  readonly Type: string;
  readonly Properties: { readonly Code: { readonly S3Bucket: unknown; readonly S3Key: string }; readonly Handler: string };
}

/** The bootstrap bucket's name from the template's `Fn::Sub`. */
function assetBucket(value: unknown, account: string, region: string): string {
  const template = typeof value === 'string' ? value : (value as { 'Fn::Sub': string })['Fn::Sub'];
  return template.replace('${AWS::AccountId}', account).replace('${AWS::Region}', region);
}

const RESULT_MARK = 'VAULTRA_HANDLER_RESULT ';

/** Imports the handler and prints its result after a mark (the handler's own logs share stdout). */
const INVOKER = `
const [bundle, eventJson, functionName] = process.argv.slice(1);
const { handler } = await import(bundle);
const context = { functionName, functionVersion: '$LATEST', awsRequestId: 'cdk-deploy-test', getRemainingTimeInMillis: () => 60000, callbackWaitsForEmptyEventLoop: true };
const result = await handler(JSON.parse(eventJson), context);
console.log(${JSON.stringify(RESULT_MARK)} + JSON.stringify(result));
`;

async function stackFunction(cloudformation: CloudFormationClient, stackName: string, logicalIdPrefix: string) {
  const { StackResources = [] } = await cloudformation.send(new DescribeStackResourcesCommand({ StackName: stackName }));
  const resource = StackResources.find((candidate) => candidate.ResourceType === 'AWS::Lambda::Function' && candidate.LogicalResourceId!.startsWith(logicalIdPrefix));
  if (!resource) throw new Error(`no function ${logicalIdPrefix}* in ${stackName}`);
  return resource;
}

/** The name of the stack's function whose logical id starts with `logicalIdPrefix`. */
export async function stackFunctionName(config: MotoClientConfig, stackName: string, logicalIdPrefix: string): Promise<string> {
  return (await stackFunction(new CloudFormationClient(config), stackName, logicalIdPrefix)).PhysicalResourceId!;
}

/**
 * The deployed function whose logical id starts with `logicalIdPrefix` (e.g.
 * `FunctionsScheduledBackupFunction`), its package unpacked under `workDir`.
 */
export async function deployedFunction(config: MotoClientConfig, stackName: string, logicalIdPrefix: string, workDir: string, account: string): Promise<DeployedFunction> {
  const cloudformation = new CloudFormationClient(config);
  const resource = await stackFunction(cloudformation, stackName, logicalIdPrefix);
  const { TemplateBody } = await cloudformation.send(new GetTemplateCommand({ StackName: stackName }));
  const template = JSON.parse(TemplateBody!) as { Resources: Record<string, FunctionResource> };
  const { Code, Handler } = template.Resources[resource.LogicalResourceId!]!.Properties;

  const functionName = resource.PhysicalResourceId!;
  const configuration = await new LambdaClient(config).send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  const object = await new S3Client({ ...config, forcePathStyle: true }).send(new GetObjectCommand({ Bucket: assetBucket(Code.S3Bucket, account, config.region), Key: Code.S3Key }));
  const zip = Buffer.from(await object.Body!.transformToByteArray());
  // The package downloaded is the one the function was created from.
  expect(createHash('sha256').update(zip).digest('base64')).toBe(configuration.CodeSha256);

  const dir = path.join(workDir, logicalIdPrefix);
  const zipPath = `${dir}.zip`;
  writeFileSync(zipPath, zip);
  await runOk('unzip', ['-q', '-o', zipPath, '-d', dir]);
  const bundle = path.join(dir, `${Handler.split('.')[0]!}.mjs`);
  const environment = configuration.Environment?.Variables ?? {};

  return {
    functionName,
    environment,
    async invoke(event, runtimeEnv) {
      const { stdout } = await runOk(process.execPath, ['--input-type=module', '-e', INVOKER, bundle, JSON.stringify(event), functionName], {
        env: { PATH: process.env.PATH ?? '', ...environment, AWS_LAMBDA_FUNCTION_NAME: functionName, ...runtimeEnv },
        timeoutMs: 120_000,
      });
      const line = stdout.split('\n').find((candidate) => candidate.startsWith(RESULT_MARK));
      if (!line) throw new Error(`${functionName} returned nothing; stdout: ${stdout.slice(-2000)}`);
      return JSON.parse(line.slice(RESULT_MARK.length)) as unknown;
    },
  };
}

import { environmentOf, resolveConfig, type Environment } from '../../../core/config/environments.js';
import { AWS_FUNCTION_ENV, RUNNER_CONTAINER_NAME } from '../../../core/platform/aws-deployment.js';
import * as z from 'zod';
import { ConfigError } from '../../../core/errors.js';
import { parseAtEdge } from '../../../core/domain/validate.js';
import { formatS3Url } from '../../../core/adapters/storage/s3/s3-url.js';
import type { RunnerTarget } from '../../../core/usecases/runner-commands.js';
import type { EcsFargateTarget } from '../../../core/adapters/launchers/ecs-fargate-launcher.js';

/**
 * What the stack told a function about its deployment, read from the variables it sets
 * (core/platform/aws-deployment.ts). Plain data: each function then opens only the clients it
 * uses (catalog.ts, storage.ts, launcher.ts, notify.ts), so each bundle holds only their SDKs.
 */
export interface AwsSettings {
  readonly environment: Environment;
  readonly region: string;
  readonly tableName: string;
  readonly topicArn: string | undefined;
  readonly target: RunnerTarget;
  readonly ecs: EcsFargateTarget;
}

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`environment variable ${name} is not set: the function is not deployed by the Vaultra stack`);
  return value;
}

function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((part) => part.trim()).filter(Boolean);
}

/**
 * The bucket as every function and runner task uses it (task-finished's retention, the runner's
 * `--to` and `--from`). With `storage.objectLock` the URL carries the lock: the runner then locks
 * each object it writes, and a retention delete removes versions, so S3 refuses it while the lock
 * holds instead of hiding the backup behind a delete marker.
 */
function storageUrlOf(bucket: string, environment: Environment, region: string): string {
  const lock = environment.storage.objectLock;
  return formatS3Url({ bucket, prefix: environment.storage.prefix, region, ...(lock ? { retention: { days: lock.days, mode: lock.mode } } : {}) });
}

/** The environment's config arrives bundled in `VAULTRA_CONFIG_JSON` and is validated again here. */
export function awsSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const name = required(env, AWS_FUNCTION_ENV.environmentName);
  const environment = environmentOf(resolveConfig(JSON.parse(required(env, AWS_FUNCTION_ENV.configJson)), 'bundled config'), name);
  const region = env.AWS_REGION ?? environment.region!;
  const bucket = required(env, AWS_FUNCTION_ENV.bucketName);
  const tableName = required(env, AWS_FUNCTION_ENV.tableName);
  const keyArn = env[AWS_FUNCTION_ENV.keyArn];
  const signingKeyArn = env[AWS_FUNCTION_ENV.signingKeyArn];
  return {
    environment,
    region,
    tableName,
    topicArn: env[AWS_FUNCTION_ENV.topicArn],
    target: {
      storageUrl: storageUrlOf(bucket, environment, region),
      catalogUrl: `dynamodb://${tableName}?region=${region}`,
      ...(keyArn ? { kmsKey: `aws-kms:${keyArn}` } : {}),
      ...(signingKeyArn ? { signingKey: `aws-kms:${signingKeyArn}` } : {}),
      ...(environment.signing.trusted.length > 0 ? { trustedSigners: environment.signing.trusted } : {}),
    },
    ecs: {
      clusterArn: env[AWS_FUNCTION_ENV.clusterArn] ?? '',
      taskDefinitionArn: env[AWS_FUNCTION_ENV.taskDefinitionArn] ?? '',
      containerName: env[AWS_FUNCTION_ENV.containerName] ?? RUNNER_CONTAINER_NAME,
      subnetIds: list(env[AWS_FUNCTION_ENV.subnetIds]),
      securityGroupIds: list(env[AWS_FUNCTION_ENV.securityGroupIds]),
      assignPublicIp: env[AWS_FUNCTION_ENV.assignPublicIp] === 'ENABLED',
      ...(env[AWS_FUNCTION_ENV.restoreTaskRoleArn] ? { restoreTaskRoleArn: env[AWS_FUNCTION_ENV.restoreTaskRoleArn] } : {}),
      ...drillTaskDefinitionsOf(env[AWS_FUNCTION_ENV.drillTaskDefinitions]),
    },
  };
}

/** The inline backup function's settler: the task-finished function the stack named. */
export function taskFinishedFunctionFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return required(env, AWS_FUNCTION_ENV.taskFinishedFunction);
}

/**
 * The api function's inline functions, when the environment has inline jobs (the stack sets both
 * names then, and neither otherwise): their on-demand runs go there instead of to a task.
 */
export function inlineFunctionsFromEnv(env: NodeJS.ProcessEnv = process.env): { readonly backupFunction: string; readonly restoreFunction: string } | undefined {
  const backupFunction = env[AWS_FUNCTION_ENV.inlineBackupFunction];
  const restoreFunction = env[AWS_FUNCTION_ENV.inlineRestoreFunction];
  if (!backupFunction && !restoreFunction) return undefined;
  return { backupFunction: required(env, AWS_FUNCTION_ENV.inlineBackupFunction), restoreFunction: required(env, AWS_FUNCTION_ENV.inlineRestoreFunction) };
}

/** `VAULTRA_DRILL_TASK_DEFINITIONS`, as the stack writes it: job name → task definition ARN. */
function drillTaskDefinitionsOf(json: string | undefined): Pick<EcsFargateTarget, 'drillTaskDefinitionArns'> {
  if (!json) return {};
  return { drillTaskDefinitionArns: parseAtEdge(z.record(z.string(), z.string()), JSON.parse(json), AWS_FUNCTION_ENV.drillTaskDefinitions) };
}

export { cached } from '../../shared/cached.js';

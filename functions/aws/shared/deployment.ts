import type { Catalog } from '../../../core/ports/catalog.js';
import type { JobLauncher } from '../../../core/ports/job-launcher.js';
import type { Alert } from '../../../core/ports/notifier.js';
import type { StorageBackend } from '../../../core/ports/storage-backend.js';
import { environmentOf, resolveConfig, type Environment } from '../../../core/config/load-config.js';
import { AWS_FUNCTION_ENV, RUNNER_CONTAINER_NAME } from '../../../core/platform/aws-deployment.js';
import { DynamoDbCatalog } from '../../../core/adapters/catalog/dynamodb-catalog.js';
import { EcsFargateLauncher } from '../../../core/adapters/launchers/ecs-fargate-launcher.js';
import { openStorage } from '../../../core/adapters/storage/storage-registry.js';
import { notifiersFor } from '../../../core/adapters/notifiers/notifiers.js';
import { notifyAll } from '../../../core/usecases/notify-all.js';
import { ConfigError } from '../../../core/errors.js';
import type { RunnerTarget } from '../../../core/usecases/runner-commands.js';
import { logger } from './observability.js';

/** Everything a function needs of its deployment: built once per instance, from its environment variables. */
export interface AwsDeployment {
  readonly environment: Environment;
  readonly catalog: Catalog;
  readonly storage: StorageBackend;
  readonly launcher: JobLauncher;
  readonly target: RunnerTarget;
  readonly notify: (alert: Alert) => Promise<unknown>;
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
 * Reads the deployment from the variables the stack sets (core/platform/aws-deployment.ts). The
 * environment's config arrives bundled in `VAULTRA_CONFIG_JSON` and is validated again here.
 */
export async function awsDeploymentFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<AwsDeployment> {
  const name = required(env, AWS_FUNCTION_ENV.environmentName);
  const environment = environmentOf(resolveConfig(JSON.parse(required(env, AWS_FUNCTION_ENV.configJson)), 'bundled config'), name);
  const region = env.AWS_REGION ?? environment.region;
  const bucket = required(env, AWS_FUNCTION_ENV.bucketName);
  const table = required(env, AWS_FUNCTION_ENV.tableName);
  const keyArn = env[AWS_FUNCTION_ENV.keyArn];
  const target: RunnerTarget = {
    storageUrl: `s3://${bucket}/${environment.storage.prefix}?region=${region}`,
    catalogUrl: `dynamodb://${table}?region=${region}`,
    ...(keyArn ? { kmsKey: `aws-kms:${keyArn}` } : {}),
  };
  const notifiers = notifiersFor(environment.notifications, { topicArn: env[AWS_FUNCTION_ENV.topicArn], region });
  return {
    environment,
    catalog: DynamoDbCatalog.fromUrl(target.catalogUrl),
    storage: await openStorage(target.storageUrl),
    launcher: new EcsFargateLauncher({
      clusterArn: env[AWS_FUNCTION_ENV.clusterArn] ?? '',
      taskDefinitionArn: env[AWS_FUNCTION_ENV.taskDefinitionArn] ?? '',
      containerName: env[AWS_FUNCTION_ENV.containerName] ?? RUNNER_CONTAINER_NAME,
      subnetIds: list(env[AWS_FUNCTION_ENV.subnetIds]),
      securityGroupIds: list(env[AWS_FUNCTION_ENV.securityGroupIds]),
      assignPublicIp: env[AWS_FUNCTION_ENV.assignPublicIp] === 'ENABLED',
    }),
    target,
    notify: async (alert) => {
      const result = await notifyAll(notifiers, alert);
      for (const failure of result.failed) logger.error('alert not delivered', { alert: alert.kind, job: alert.job, notifier: failure.notifier, error: failure.error });
      return result;
    },
  };
}

/** Caches the deployment across warm invocations; a failed build is retried on the next one. */
export function cachedDeployment(build: () => Promise<AwsDeployment>): () => Promise<AwsDeployment> {
  let pending: Promise<AwsDeployment> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

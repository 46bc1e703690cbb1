/**
 * One deployed Vaultra environment on moto, as the CDK stack would leave it: the catalog table
 * (laid out by `dynamoDbCatalogTableSchema`), the bucket, a KMS key, the alert topic with an SQS
 * queue subscribed (to read what SNS delivered), and the environment variables the stack gives
 * the functions. ECS is not here: moto 5.1.22 fails RunTask with awsvpc networking, so tests mock
 * that one call (and say so in their names). With `objectLock`, the bucket is created with Object
 * Lock and a default retention, as the stack creates it for `storage.objectLock`.
 */
import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutBucketVersioningCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { dynamoDbCatalogTableSchema } from '../../core/adapters/catalog/dynamodb-table-schema.js';
import { AWS_FUNCTION_ENV, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { EcsFargateLauncher } from '../../core/adapters/launchers/ecs-fargate-launcher.js';
import { S3StorageBackend } from '../../core/adapters/storage/s3/s3-storage.js';
import { awsSettingsFromEnv } from '../../functions/aws/shared/settings.js';
import { catalogOf, notifyOf } from '../../functions/aws/shared/clients.js';
import type { AwsDeployment } from '../../functions/aws/shared/deployment-types.js';
import type { MotoConnection } from './moto-server.js';
import { motoClientConfig } from './moto-clients.js';

export interface AwsPlatform {
  readonly tableName: string;
  readonly bucket: string;
  readonly keyArn: string;
  /** The asymmetric key (ECC_NIST_P256, SIGN_VERIFY) the runner signs manifests with. */
  readonly signingKeyArn: string;
  readonly topicArn: string;
  /** Everything a function's process would see: moto endpoint and credentials, then the stack's variables. */
  readonly env: Record<string, string>;
  /** SNS messages delivered to the topic so far (subject, message, attributes), consumed from the queue. */
  snsMessages(waitSeconds?: number): Promise<{ Subject?: string; Message: string; MessageAttributes?: Record<string, { Value: string }> }[]>;
}

export interface AwsPlatformOptions {
  readonly environmentName: string;
  readonly configJson: string;
  readonly region?: string;
  /** Create the bucket with Object Lock and this default retention, as the stack does for `storage.objectLock`. */
  readonly objectLock?: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly days: number };
}

export async function deployAwsPlatform(moto: MotoConnection, options: AwsPlatformOptions): Promise<AwsPlatform> {
  // The environment's region: moto keeps tables, topics and keys per region, as AWS does.
  const region = options.region ?? 'eu-west-1';
  const config = motoClientConfig(moto, region);
  const suffix = randomBytes(4).toString('hex');
  const tableName = `vaultra-runs-${suffix}`;
  const bucket = `vaultra-backups-${suffix}`;

  const dynamodb = new DynamoDBClient(config);
  const schema = dynamoDbCatalogTableSchema(tableName);
  await dynamodb.send(new CreateTableCommand(schema.createTable));
  await dynamodb.send(new UpdateTimeToLiveCommand({ TableName: tableName, TimeToLiveSpecification: schema.timeToLive }));

  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const lock = options.objectLock;
  await s3.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: region as never }, ...(lock ? { ObjectLockEnabledForBucket: true } : {}) }));
  await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
  if (lock) {
    await s3.send(
      new PutObjectLockConfigurationCommand({ Bucket: bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: lock.mode, Days: lock.days } } } }),
    );
  }

  const { KeyMetadata } = await new KMSClient(config).send(new CreateKeyCommand({ Description: `vaultra ${suffix}` }));
  // The stack's signing key: the runner signs every manifest with it.
  const signing = await new KMSClient(config).send(new CreateKeyCommand({ Description: `vaultra ${suffix} signing`, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));

  const sns = new SNSClient(config);
  const sqs = new SQSClient(config);
  const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `vaultra-alerts-${suffix}` }));
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `vaultra-alerts-${suffix}` }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn! }));

  const env: Record<string, string> = {
    ...moto.env,
    AWS_REGION: region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '1',
    [AWS_FUNCTION_ENV.environmentName]: options.environmentName,
    [AWS_FUNCTION_ENV.configJson]: options.configJson,
    [AWS_FUNCTION_ENV.tableName]: tableName,
    [AWS_FUNCTION_ENV.bucketName]: bucket,
    [AWS_FUNCTION_ENV.topicArn]: TopicArn!,
    [AWS_FUNCTION_ENV.keyArn]: KeyMetadata!.Arn!,
    [AWS_FUNCTION_ENV.signingKeyArn]: signing.KeyMetadata!.Arn!,
    [AWS_FUNCTION_ENV.clusterArn]: `arn:aws:ecs:${region}:123456789012:cluster/vaultra-${suffix}`,
    [AWS_FUNCTION_ENV.taskDefinitionArn]: `arn:aws:ecs:${region}:123456789012:task-definition/vaultra-runner-${suffix}:1`,
    // The stack's restore role: restores and verifies run as it, backups as the task definition's own role.
    [AWS_FUNCTION_ENV.restoreTaskRoleArn]: `arn:aws:iam::123456789012:role/vaultra-restore-${suffix}`,
    [AWS_FUNCTION_ENV.containerName]: RUNNER_CONTAINER_NAME,
    [AWS_FUNCTION_ENV.subnetIds]: 'subnet-0abc1234def567890,subnet-0123456789abcdef0',
    [AWS_FUNCTION_ENV.securityGroupIds]: 'sg-0abc1234def567890',
    [AWS_FUNCTION_ENV.assignPublicIp]: 'DISABLED',
  };

  return {
    tableName,
    bucket,
    keyArn: KeyMetadata!.Arn!,
    signingKeyArn: signing.KeyMetadata!.Arn!,
    topicArn: TopicArn!,
    env,
    async snsMessages(waitSeconds = 1) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: waitSeconds }));
      for (const message of Messages) await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
      return Messages.map((message) => JSON.parse(message.Body!) as { Subject?: string; Message: string; MessageAttributes?: Record<string, { Value: string }> });
    },
  };
}

/** Runs `work` with `env` set on this process (the functions read their deployment from it), then restores it. */
export async function withProcessEnv<T>(env: Record<string, string>, work: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    return await work();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** Every client a function could use, built from the process environment the way the handlers build theirs. */
export function awsDeploymentFromEnv(env: NodeJS.ProcessEnv = process.env): AwsDeployment {
  const settings = awsSettingsFromEnv(env);
  return {
    environment: settings.environment,
    target: settings.target,
    catalog: catalogOf(settings),
    notify: notifyOf(settings),
    storage: S3StorageBackend.fromUrl(settings.target.storageUrl),
    launcher: new EcsFargateLauncher(settings.ecs),
  };
}

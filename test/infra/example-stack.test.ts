/**
 * The stack of the shipped vaultra.config.yaml's `example` environment, resource by resource.
 * Synthesized once, without bundling the functions (the CLI test bundles them) and without
 * CloudFormation validation (the cdk-nag test runs it).
 */
process.env.CDK_VALIDATION = 'false';

import { beforeAll, describe, expect, it } from 'vitest';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { dynamoDbCatalogTableSchema } from '../../core/adapters/catalog/dynamodb-table-schema.js';
import { environmentOf, parseConfig, type Environment } from '../../core/config/load-config.js';
import { eventBridgeCron } from '../../core/config/schedule.js';
import { AWS_FUNCTION_ENV, METRIC, METRICS_NAMESPACE, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { DEDUP_KEY_ENV, DEDUP_KEY_LENGTH } from '../../infra/aws/dedup-key.js';
import { RUNNER_SCRATCH_VOLUMES } from '../../infra/aws/runner-task.js';
import { EXAMPLE_CONFIG, synthStack } from './support/synth.js';
import { flat, onlyResource, resourcesWhere } from './support/template-queries.js';

let template: Template;
let example: Environment;
let keyId: string;
let topicId: string;

beforeAll(() => {
  // Prepare
  example = environmentOf(parseConfig(EXAMPLE_CONFIG), 'example');
  // Act
  ({ template } = synthStack(EXAMPLE_CONFIG, 'example'));
  keyId = encryptionKey().id;
  topicId = onlyResource(template, 'AWS::SNS::Topic').id;
});

/** The stack's encryption key: the other KMS key, the signing key, has `KeyUsage: SIGN_VERIFY`. */
const encryptionKey = <P extends object = Record<string, unknown>>() => onlyResource<P & { KeyUsage?: string }>(template, 'AWS::KMS::Key', (properties) => properties.KeyUsage === undefined);

const keyArn = () => ({ 'Fn::GetAtt': [keyId, 'Arn'] });

/** The ARNs of the example environment's alarms (its region is the config's), as the template writes them. */
const ALARM_ARN_PATTERN = { 'Fn::Join': ['', ['arn:aws:cloudwatch:eu-west-1:', { Ref: 'AWS::AccountId' }, ':alarm:vaultra-example-*']] };

describe('the KMS key', () => {
  it('rotates, is kept when the stack goes, and has an alias per environment', () => {
    template.hasResource('AWS::KMS::Key', { Properties: Match.objectLike({ EnableKeyRotation: true, KeyUsage: Match.absent() }), DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/vaultra/example', TargetKeyId: keyArn() });
  });

  it('lets CloudWatch Logs, alarms and the task-stopped rule use it, each limited by a condition', () => {
    const statements = encryptionKey<{ KeyPolicy: { Statement: { Sid?: string; Condition?: object; Action: string | string[] }[] } }>().Properties.KeyPolicy.Statement;
    const services = statements.filter((statement) => statement.Sid !== undefined);
    expect(services.map((statement) => statement.Sid).sort()).toEqual(['CloudWatchAlarmsPublishToTheAlertTopic', 'CloudWatchLogsEncryptsThisAccountsLogGroups', 'EventBridgeWritesDeadLettersOfItsRule']);
    for (const statement of services) {
      expect(statement.Condition).toBeDefined();
      for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
    }
  });
});

describe('the backup bucket', () => {
  const dataBucket = () => onlyResource<Record<string, unknown>>(template, 'AWS::S3::Bucket', (properties) => properties.VersioningConfiguration !== undefined);

  it('is encrypted with the key (bucket key on), private, versioned and kept', () => {
    const bucket = dataBucket();
    expect(bucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: keyArn() } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    expect(bucket.Properties.ObjectLockEnabled).toBeUndefined();
    expect(bucket.Properties.BucketName).toBeUndefined();
    expect([bucket.DeletionPolicy, bucket.UpdateReplacePolicy]).toEqual(['Retain', 'Retain']);
  });

  it('refuses requests without TLS (and below TLS 1.2)', () => {
    const bucket = dataBucket();
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucket.id },
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Deny', Action: 's3:*', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
        ]),
      },
    });
  });

  it('aborts incomplete uploads after a day, expires old versions and applies the configured transitions', () => {
    const rules = (dataBucket().Properties.LifecycleConfiguration as { Rules: Record<string, unknown>[] }).Rules;
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' }),
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: example.storage.noncurrentVersionExpirationDays }, ExpiredObjectDeleteMarker: true }),
        expect.objectContaining({ Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }] }),
      ]),
    );
  });

  it('sends its access logs to a separate, private, TLS-only log bucket', () => {
    const logBucket = onlyResource<Record<string, unknown>>(template, 'AWS::S3::Bucket', (properties) => properties.VersioningConfiguration === undefined);
    expect(dataBucket().Properties.LoggingConfiguration).toEqual({ DestinationBucketName: { Ref: logBucket.id }, LogFilePrefix: 'backup-bucket/' });
    expect(logBucket.Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    });
    expect(logBucket.DeletionPolicy).toBe('Retain');
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logBucket.id },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('the catalog table', () => {
  interface TableProperties {
    AttributeDefinitions: { AttributeName: string }[];
    KeySchema: unknown;
    LocalSecondaryIndexes: { IndexName: string }[];
    GlobalSecondaryIndexes: { IndexName: string }[];
    TimeToLiveSpecification: unknown;
    BillingMode: string;
    PointInTimeRecoverySpecification: unknown;
    SSESpecification: unknown;
    DeletionProtectionEnabled: boolean;
  }
  const byName = <T extends { IndexName?: string; AttributeName?: string }>(items: readonly T[] | undefined) => [...(items ?? [])].sort((a, b) => (a.IndexName ?? a.AttributeName ?? '').localeCompare(b.IndexName ?? b.AttributeName ?? ''));

  it('has exactly the keys, indexes and TTL of dynamoDbCatalogTableSchema()', () => {
    const schema = dynamoDbCatalogTableSchema('ignored');
    const table = onlyResource<TableProperties>(template, 'AWS::DynamoDB::Table').Properties;
    expect(byName(table.AttributeDefinitions)).toEqual(byName(schema.createTable.AttributeDefinitions));
    expect(table.KeySchema).toEqual(schema.createTable.KeySchema);
    expect(byName(table.LocalSecondaryIndexes)).toEqual(byName(schema.createTable.LocalSecondaryIndexes));
    expect(byName(table.GlobalSecondaryIndexes)).toEqual(byName(schema.createTable.GlobalSecondaryIndexes));
    expect(table.TimeToLiveSpecification).toEqual(schema.timeToLive);
  });

  it('is on-demand, recoverable to a point in time, encrypted with the key and kept', () => {
    const table = onlyResource<TableProperties>(template, 'AWS::DynamoDB::Table');
    expect(table.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: keyArn() },
      DeletionProtectionEnabled: true,
    });
    expect(table.DeletionPolicy).toBe('Retain');
  });
});

describe('the alert topic', () => {
  it('is encrypted with the key, refuses publishers without TLS, and mails each configured address', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: keyArn() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    const subscriptions = resourcesWhere<{ Protocol: string; Endpoint: string; TopicArn: unknown }>(template, 'AWS::SNS::Subscription');
    expect(subscriptions.map((subscription) => [subscription.Properties.Protocol, subscription.Properties.Endpoint, subscription.Properties.TopicArn])).toEqual(
      example.notifications.email.map((email) => ['email', email, { Ref: topicId }]),
    );
  });

  // A topic policy replaces SNS's default one: without an Allow, CloudWatch may not publish and every alarm is silent.
  it('lets CloudWatch publish for this environment’s alarms in this account, and nothing else in', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'CloudWatchAlarmsOfThisEnvironmentPublish',
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: topicId },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': ALARM_ARN_PATTERN },
            },
          },
        ]),
      },
    });
    const statements = onlyResource<{ PolicyDocument: { Statement: { Effect: string; Principal: unknown }[] } }>(template, 'AWS::SNS::TopicPolicy').Properties.PolicyDocument.Statement;
    expect(statements.filter((statement) => statement.Effect === 'Allow').map((statement) => statement.Principal)).toEqual([{ Service: 'cloudwatch.amazonaws.com' }]);
  });

  it('names every alarm so that the topic and key policies let it publish', () => {
    const names = resourcesWhere<{ AlarmName: string; AlarmActions: unknown[] }>(template, 'AWS::CloudWatch::Alarm').map((alarm) => alarm.Properties.AlarmName);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(name).toMatch(/^vaultra-example-/);
    const keyStatement = encryptionKey<{ KeyPolicy: { Statement: { Sid?: string; Condition?: unknown }[] } }>().Properties.KeyPolicy.Statement.find(
      (statement) => statement.Sid === 'CloudWatchAlarmsPublishToTheAlertTopic',
    );
    expect(keyStatement?.Condition).toEqual({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': ALARM_ARN_PATTERN } });
  });
});

describe('the runner', () => {
  it('runs on a cluster with Container Insights', () => {
    template.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });

  it('is an ARM64 Linux Fargate task with the configured size and one essential container named for the launcher', () => {
    const task = onlyResource<Record<string, unknown>>(template, 'AWS::ECS::TaskDefinition');
    expect(task.Properties).toMatchObject({
      Family: 'vaultra-example-runner',
      RequiresCompatibilities: ['FARGATE'],
      NetworkMode: 'awsvpc',
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      Cpu: String(example.runner.cpu),
      Memory: String(example.runner.memoryMiB),
    });
    const containers = task.Properties.ContainerDefinitions as Record<string, unknown>[];
    expect(containers).toHaveLength(1);
    expect(containers[0]).toMatchObject({ Name: RUNNER_CONTAINER_NAME, Essential: true, LinuxParameters: { InitProcessEnabled: true } });
    // The launcher passes the run's variables as overrides; a container environment would be a second source of truth.
    expect(containers[0]!.Environment).toBeUndefined();
  });

  it('has a read-only root filesystem and writes only to two scratch volumes on the task’s ephemeral storage', () => {
    const task = onlyResource<{ Volumes: unknown[]; ContainerDefinitions: Record<string, unknown>[] }>(template, 'AWS::ECS::TaskDefinition').Properties;
    // A volume with no host and no EFS or Docker configuration is a Fargate bind mount: empty at start, gone with the task.
    expect(task.Volumes).toEqual([{ Name: 'tmp' }, { Name: 'home' }]);
    expect(task.ContainerDefinitions[0]).toMatchObject({
      ReadonlyRootFilesystem: true,
      MountPoints: [
        { SourceVolume: 'tmp', ContainerPath: RUNNER_SCRATCH_VOLUMES.tmp, ReadOnly: false },
        { SourceVolume: 'home', ContainerPath: RUNNER_SCRATCH_VOLUMES.home, ReadOnly: false },
      ],
    });
  });

  it('logs to a KMS-encrypted log group kept for runner.logRetentionDays', () => {
    const task = onlyResource<{ ContainerDefinitions: { LogConfiguration: { LogDriver: string; Options: Record<string, unknown> } }[] }>(template, 'AWS::ECS::TaskDefinition');
    const logging = task.Properties.ContainerDefinitions[0]!.LogConfiguration;
    expect(logging.LogDriver).toBe('awslogs');
    const groupRef = logging.Options['awslogs-group'] as { Ref: string };
    const group = resourcesWhere(template, 'AWS::Logs::LogGroup').find((candidate) => candidate.id === groupRef.Ref);
    expect(group?.Properties).toEqual({ KmsKeyId: keyArn(), RetentionInDays: example.runner.logRetentionDays });
  });

  it('gets the environment’s generated dedup key as the secret VAULTRA_DEDUP_KEY, and no other variable of its own', () => {
    const secret = onlyResource<{ GenerateSecretString?: Record<string, unknown> }>(template, 'AWS::SecretsManager::Secret');
    expect(secret.Properties.GenerateSecretString).toEqual({ ExcludePunctuation: true, IncludeSpace: false, PasswordLength: DEDUP_KEY_LENGTH });
    const container = onlyResource<{ ContainerDefinitions: Record<string, unknown>[] }>(template, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions[0]!;
    expect(container.Secrets).toEqual([{ Name: DEDUP_KEY_ENV, ValueFrom: { Ref: secret.id } }]);
    template.hasOutput('DedupKeySecretArn', { Value: { Ref: secret.id } });
  });

  it('has separate task and execution roles', () => {
    const task = onlyResource<{ TaskRoleArn: unknown; ExecutionRoleArn: unknown }>(template, 'AWS::ECS::TaskDefinition').Properties;
    expect(flat(task.TaskRoleArn)).toMatch(/^<RunnerTaskRole.*\.Arn>$/);
    expect(flat(task.ExecutionRoleArn)).toMatch(/^<RunnerExecutionRole.*\.Arn>$/);
  });
});

describe('the job schedules', () => {
  interface ScheduleProperties {
    Name: string;
    GroupName: string;
    ScheduleExpression: string;
    ScheduleExpressionTimezone?: string;
    FlexibleTimeWindow: { Mode: string; MaximumWindowInMinutes?: number };
    Target: { Arn: unknown; Input: string; RetryPolicy: unknown; DeadLetterConfig: { Arn: unknown }; RoleArn: unknown };
  }
  const jobSchedules = () => resourcesWhere<ScheduleProperties>(template, 'AWS::Scheduler::Schedule', (properties) => properties.Name !== 'Vaultra-Watchdog');

  it('has one schedule per enabled job in the environment group, with its cron, time zone and window', () => {
    template.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'vaultra-example' });
    const schedules = jobSchedules();
    expect(schedules.map((schedule) => schedule.Properties.Name).sort()).toEqual(example.jobs.filter((job) => job.enabled).map((job) => job.name).sort());
    for (const job of example.jobs) {
      const schedule = schedules.find((candidate) => candidate.Properties.Name === job.name)!.Properties;
      expect(schedule.GroupName).toBe('vaultra-example');
      expect(schedule.ScheduleExpression).toBe(eventBridgeCron(job.schedule.cron, job.schedule.timeZone));
      expect(schedule.ScheduleExpressionTimezone).toBe(job.schedule.timeZone);
      expect(schedule.FlexibleTimeWindow).toEqual(job.schedule.flexibleWindowMinutes === 0 ? { Mode: 'OFF' } : { Mode: 'FLEXIBLE', MaximumWindowInMinutes: job.schedule.flexibleWindowMinutes });
    }
    // The example's Paris job is the one with a window.
    expect(schedules.find((candidate) => candidate.Properties.Name === 'shop-postgres')!.Properties.ScheduleExpression).toBe('cron(15 2 * * ? *)');
  });

  it('invokes scheduled-backup with the job and the scheduler context, retries 3 times within an hour, then dead-letters', () => {
    const scheduledBackup = onlyResource(template, 'AWS::Lambda::Function', (properties) => String(properties.Description).includes('schedule fired')).id;
    for (const schedule of jobSchedules()) {
      const target = schedule.Properties.Target;
      expect(target.Input).toBe(`{"job":"${schedule.Properties.Name}","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>"}`);
      expect(target.Arn).toEqual({ 'Fn::GetAtt': [scheduledBackup, 'Arn'] });
      expect(target.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 });
      const queue = flat(target.DeadLetterConfig.Arn).replace(/^<|\.Arn>$/g, '');
      expect(resourcesWhere(template, 'AWS::SQS::Queue').find((candidate) => candidate.id === queue)?.Properties).toMatchObject({ KmsMasterKeyId: keyArn() });
    }
  });

  it('runs the watchdog every hour', () => {
    const watchdog = onlyResource(template, 'AWS::Lambda::Function', (properties) => String(properties.Description).includes('hourly')).id;
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Name: 'Vaultra-Watchdog',
      GroupName: 'vaultra-example',
      ScheduleExpression: 'rate(1 hour)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [watchdog, 'Arn'] }, DeadLetterConfig: Match.anyValue() }),
    });
  });
});

describe('the task-stopped rule', () => {
  it('matches stopped tasks of this cluster and task family, and retries into a dead-letter queue', () => {
    const cluster = onlyResource(template, 'AWS::ECS::Cluster').id;
    const taskFinished = onlyResource(template, 'AWS::Lambda::Function', (properties) => String(properties.Description).includes('task stopped')).id;
    const rule = onlyResource<{ EventPattern: { detail: { taskDefinitionArn: { prefix: unknown }[] } }; Targets: Record<string, unknown>[] }>(template, 'AWS::Events::Rule');
    expect(rule.Properties.EventPattern).toMatchObject({
      source: ['aws.ecs'],
      'detail-type': ['ECS Task State Change'],
      detail: { lastStatus: ['STOPPED'], clusterArn: [{ 'Fn::GetAtt': [cluster, 'Arn'] }] },
    });
    expect(flat(rule.Properties.EventPattern.detail.taskDefinitionArn[0]!.prefix)).toBe('arn:aws:ecs:eu-west-1:<AWS::AccountId>:task-definition/vaultra-example-runner:');
    expect(rule.Properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [taskFinished, 'Arn'] }, DeadLetterConfig: expect.anything(), RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 } })]);
  });
});

describe('the functions', () => {
  it('are four Node 22 ARM64 functions with active tracing, an exported handler and a log group with retention', () => {
    const functions = resourcesWhere<Record<string, unknown>>(template, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(4);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler', TracingConfig: { Mode: 'Active' } });
      const logGroup = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(resourcesWhere(template, 'AWS::Logs::LogGroup').find((group) => group.id === logGroup)?.Properties).toEqual({ KmsKeyId: keyArn(), RetentionInDays: example.runner.logRetentionDays });
    }
  });

  it('get every deployment variable the handlers read, and the Powertools settings', () => {
    for (const fn of resourcesWhere<{ Environment: { Variables: Record<string, unknown> } }>(template, 'AWS::Lambda::Function')) {
      const variables = fn.Properties.Environment.Variables;
      // The example schedules no drill: no drill task definitions to name (test/infra/drill-tasks.test.ts has them).
      // Nor inline jobs: only the inline functions read the dedup key's secret, and only the inline backup
      // function names task-finished, its settler, and only the api function the inline functions (test/infra/inline-functions.test.ts).
      const unset: string[] = [AWS_FUNCTION_ENV.configJson, AWS_FUNCTION_ENV.drillTaskDefinitions, AWS_FUNCTION_ENV.dedupKeySecretArn, AWS_FUNCTION_ENV.taskFinishedFunction, AWS_FUNCTION_ENV.inlineBackupFunction, AWS_FUNCTION_ENV.inlineRestoreFunction];
      expect(Object.keys(variables).sort()).toEqual([...Object.values(AWS_FUNCTION_ENV).filter((name) => !unset.includes(name)), 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE', 'NODE_OPTIONS'].sort());
      expect(variables).toMatchObject({
        [AWS_FUNCTION_ENV.environmentName]: 'example',
        [AWS_FUNCTION_ENV.containerName]: RUNNER_CONTAINER_NAME,
        [AWS_FUNCTION_ENV.assignPublicIp]: 'DISABLED',
        [AWS_FUNCTION_ENV.keyArn]: keyArn(),
        [AWS_FUNCTION_ENV.topicArn]: { Ref: topicId },
        POWERTOOLS_SERVICE_NAME: 'vaultra',
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      });
      // The config is compiled into the bundle, never an environment variable (4 KB cap, visible in the console).
      expect(variables[AWS_FUNCTION_ENV.configJson]).toBeUndefined();
    }
  });

  it('have no public URL: the api function is invoked with IAM only, and its name is an output', () => {
    expect(resourcesWhere(template, 'AWS::Lambda::Url')).toHaveLength(0);
    const api = onlyResource(template, 'AWS::Lambda::Function', (properties) => String(properties.Description).includes('on-demand')).id;
    template.hasOutput('ApiFunctionName', { Value: { Ref: api } });
    for (const output of ['BucketName', 'CatalogTableName', 'AlertTopicArn', 'ClusterName', 'KeyArn']) template.hasOutput(output, Match.anyValue());
  });
});

describe('the network', () => {
  it('is a created VPC: two AZs, public and private subnets, one NAT gateway, flow logs, S3 and DynamoDB endpoints', () => {
    expect(resourcesWhere(template, 'AWS::EC2::VPC')).toHaveLength(1);
    expect(resourcesWhere(template, 'AWS::EC2::Subnet')).toHaveLength(4);
    expect(resourcesWhere(template, 'AWS::EC2::NatGateway')).toHaveLength(1);
    template.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 's3' });
    expect(resourcesWhere<{ ServiceName: unknown }>(template, 'AWS::EC2::VPCEndpoint').map((endpoint) => flat(endpoint.Properties.ServiceName)).sort()).toEqual([
      'com.amazonaws.<AWS::Region>.dynamodb',
      'com.amazonaws.<AWS::Region>.s3',
    ]);
  });

  it('gives the runner a security group without ingress, and the launchers its private subnets', () => {
    const group = onlyResource<Record<string, unknown>>(template, 'AWS::EC2::SecurityGroup');
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
    expect(group.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0' })]);
    const privateSubnets = resourcesWhere<{ Tags: { Key: string; Value: string }[] }>(template, 'AWS::EC2::Subnet', (properties) =>
      properties.Tags.some((tag) => tag.Key === 'aws-cdk:subnet-type' && tag.Value === 'Private'),
    ).map((subnet) => `<${subnet.id}>`);
    for (const fn of resourcesWhere<{ Environment: { Variables: Record<string, unknown> } }>(template, 'AWS::Lambda::Function')) {
      expect(flat(fn.Properties.Environment.Variables[AWS_FUNCTION_ENV.subnetIds]).split(',').sort()).toEqual(privateSubnets.sort());
      expect(fn.Properties.Environment.Variables[AWS_FUNCTION_ENV.securityGroupIds]).toEqual({ 'Fn::GetAtt': [group.id, 'GroupId'] });
    }
  });
});

describe('monitoring', () => {
  interface AlarmProperties {
    AlarmName: string;
    MetricName: string;
    Namespace: string;
    Dimensions?: { Name: string; Value: unknown }[];
    Statistic: string;
    Period: number;
    Threshold: number;
    ComparisonOperator: string;
    TreatMissingData: string;
    AlarmActions: unknown[];
    OKActions: unknown[];
  }
  const alarm = (name: string) => onlyResource<AlarmProperties>(template, 'AWS::CloudWatch::Alarm', (properties) => properties.AlarmName === name).Properties;

  it('alarms on a failed run of each job: RunFailed summed over 5 minutes, missing data not breaching', () => {
    for (const job of example.jobs) {
      expect(alarm(`vaultra-example-${job.name}-run-failed`)).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRIC.runFailed,
        Dimensions: [
          { Name: 'environment', Value: 'example' },
          { Name: 'job', Value: job.name },
          { Name: 'service', Value: 'vaultra' },
        ],
        Statistic: 'Sum',
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: topicId }],
        OKActions: [{ Ref: topicId }],
      });
    }
  });

  it('alarms on each job past its RPO: the newest SecondsSinceLastSuccess above rpo, missing data breaching', () => {
    for (const job of example.jobs) {
      expect(alarm(`vaultra-example-${job.name}-rpo-breached`)).toMatchObject({
        Namespace: METRICS_NAMESPACE,
        MetricName: METRIC.secondsSinceLastSuccess,
        Statistic: 'Maximum',
        Period: 7200,
        Threshold: Math.round(job.rpoMs / 1000),
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [{ Ref: topicId }],
      });
    }
    expect(alarm('vaultra-example-shop-postgres-rpo-breached').Threshold).toBe(26 * 3600);
  });

  it('alarms on dead letters in both queues and on errors of each function', () => {
    for (const queue of ['schedules', 'task-stopped']) {
      expect(alarm(`vaultra-example-${queue}-dead-letters`)).toMatchObject({ Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    }
    for (const fn of ['scheduled-backup', 'task-finished', 'watchdog', 'api']) {
      expect(alarm(`vaultra-example-${fn}-errors`)).toMatchObject({ Namespace: 'AWS/Lambda', MetricName: 'Errors', Statistic: 'Sum', Threshold: 1 });
    }
    expect(resourcesWhere(template, 'AWS::CloudWatch::Alarm')).toHaveLength(example.jobs.length * 2 + 2 + 4);
  });

  it('has a dashboard with each job’s runs, duration, bytes and age of the last success', () => {
    const dashboard = onlyResource<{ DashboardName: string; DashboardBody: unknown }>(template, 'AWS::CloudWatch::Dashboard').Properties;
    expect(dashboard.DashboardName).toBe('vaultra-example');
    const body = flat(dashboard.DashboardBody);
    for (const job of example.jobs) {
      for (const metric of [METRIC.runSucceeded, METRIC.runFailed, METRIC.durationSeconds, METRIC.bytesRaw, METRIC.bytesStored, METRIC.secondsSinceLastSuccess]) {
        expect(body).toContain(`["${METRICS_NAMESPACE}","${metric}","environment","example","job","${job.name}","service","vaultra"`);
      }
    }
  });
});

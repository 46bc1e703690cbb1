/**
 * The real stack, deployed: `cdk bootstrap` and `cdk deploy` (the pinned CDK CLI, cdk.json's app,
 * the emulator switches `-c runnerImage=…` and `-c flowLogs=false`) against moto, then the created
 * resources read back with the AWS SDK — never the stack status, which moto reports as success
 * even for what it skipped (alarms, schedules, bucket and topic policies) — and one scheduled
 * backup through the deployed code:
 *
 *   the scheduled-backup function's deployed package, run here with its deployed environment
 *   → ECS RunTask on moto (recorded, never run) → the runner CLI run here with the command and
 *   variables moto recorded for the task, on a real SQLite database → the task-finished
 *   function's deployed package, fed the stop event ECS would send → the run record in the
 *   deployed table and the backup in the deployed bucket, restored content-equal.
 *
 * moto: CloudFormation and every AWS service. Real: the CDK CLI and app, the function bundles,
 * the runner, SQLite. Not proven here: the image (i17-image builds and runs it), Fargate
 * networking, Scheduler firing, alarms, IAM enforcement (moto allows every call).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CloudFormationClient, GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { DescribeKeyCommand, GetKeyRotationStatusCommand, KMSClient } from '@aws-sdk/client-kms';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { DescribeRuleCommand, EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetRolePolicyCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetBucketEncryptionCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetTopicAttributesCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { dynamoDbCatalogTableSchema } from '../../core/adapters/catalog/dynamodb-table-schema.js';
import { runFolder } from '../../core/domain/object-layout.js';
import { AWS_FUNCTION_ENV, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { cdkDeployToMoto, MOTO_ACCOUNT, type CdkDeployment } from '../support/cdk-deploy.js';
import { runVaultra } from '../support/cli.js';
import { deployedFunction, stackFunctionName, type DeployedFunction } from '../support/deployed-function.js';
import { motoClientConfig, type MotoClientConfig } from '../support/moto-clients.js';
import { startMoto, type MotoServer } from '../support/moto-server.js';
import { requireTools } from '../support/requirements.js';
import { createSqliteFixture, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { recentFireTime, runnerProcessEnvironment } from '../support/test-clock.js';
import { launchedSpec } from '../support/launched-spec.js';
import { expectNoCanary, plantCanaries } from '../support/canary.js';

const REGION = 'eu-west-1';
const ENVIRONMENT = 'moto';
const RUNNER_IMAGE = 'public.ecr.aws/vaultra/runner:ci-prebuilt';
const SOURCE_SECRET = 'vaultra/moto/shop';

function deploymentConfig(): string {
  return `
version: 1
environments:
  ${ENVIRONMENT}:
    cloud: aws
    region: ${REGION}
    storage:
      prefix: vaultra
      transitions:
        - { afterDays: 30, storageClass: GLACIER_IR }
      noncurrentVersionExpirationDays: 30
    runner: { cpu: 1024, memoryMiB: 2048, logRetentionDays: 30 }
    defaults:
      encryption: { kms: true }
      retention: { last: 3 }
    jobs:
      shop:
        source: "secret+aws://${SOURCE_SECRET}"
        schedule: { cron: "15 2 * * *", timeZone: UTC }
`;
}

describe('cdk deploy of the real stack to moto, resources read back, one scheduled backup through the deployed functions (moto: CloudFormation and AWS services; real: CDK CLI, function bundles, runner CLI, SQLite)', () => {
  const tools = requireTools('moto_server', 'python3', 'unzip', 'sqlite3', 'zstd');
  if (!tools) return;

  let moto: MotoServer;
  let deployment: CdkDeployment;
  let config: MotoClientConfig;
  let work = '';
  let outputs: Readonly<Record<string, string>>;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vaultra-deploy-'));
    const configPath = path.join(work, 'vaultra.config.yaml');
    writeFileSync(configPath, deploymentConfig());
    moto = await startMoto({ cloudFormationFixes: true });
    config = motoClientConfig(moto, REGION);
    deployment = await cdkDeployToMoto(moto, { configPath, environmentName: ENVIRONMENT, region: REGION, runnerImage: RUNNER_IMAGE });
    outputs = deployment.outputs;
    console.info(`cdk against moto: synth ${deployment.seconds.synth} s, bootstrap ${deployment.seconds.bootstrap} s, deploy ${deployment.seconds.deploy} s`);
  }, 480_000);

  afterAll(async () => {
    deployment?.remove();
    await moto?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('the stack outputs name the created table, bucket, topic, cluster, keys, dedup secret and api function', () => {
    expect(Object.keys(outputs).sort()).toEqual(['AlertTopicArn', 'ApiFunctionName', 'BucketName', 'CatalogTableName', 'ClusterName', 'DedupKeySecretArn', 'KeyArn', 'SigningKeyArn']);
  });

  it('the catalog table has the catalog schema keys and indexes (moto drops TTL and SSE: read from the deployed template)', async () => {
    const { Table } = await new DynamoDBClient(config).send(new DescribeTableCommand({ TableName: outputs.CatalogTableName }));
    const schema = dynamoDbCatalogTableSchema(outputs.CatalogTableName!);
    expect(Table!.KeySchema).toEqual(schema.createTable.KeySchema);
    expect(Table!.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table!.DeletionProtectionEnabled).toBe(true);
    expect((Table!.LocalSecondaryIndexes ?? []).map((index) => index.IndexName).sort()).toEqual((schema.createTable.LocalSecondaryIndexes ?? []).map((index) => index.IndexName).sort());
    expect((Table!.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName)).toEqual((schema.createTable.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
    const deployed = await templateResource('AWS::DynamoDB::Table', 'CatalogTable');
    expect(deployed.TimeToLiveSpecification).toEqual({ AttributeName: schema.timeToLive.AttributeName, Enabled: true });
    expect(deployed.SSESpecification).toMatchObject({ SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] } });
  });

  it('the bucket is SSE-KMS with the stack key (moto drops versioning, the bucket key, lifecycle rules and public access block: read from the deployed template)', async () => {
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    const bucket = { Bucket: outputs.BucketName };
    const { ServerSideEncryptionConfiguration } = await s3.send(new GetBucketEncryptionCommand(bucket));
    expect(ServerSideEncryptionConfiguration!.Rules![0]!.ApplyServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'aws:kms', KMSMasterKeyID: outputs.KeyArn });
    const deployed = await templateResource('AWS::S3::Bucket', 'BackupsBucket');
    expect(deployed.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(deployed.BucketEncryption).toMatchObject({ ServerSideEncryptionConfiguration: [{ BucketKeyEnabled: true }] });
    expect(deployed.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    const rules = (deployed.LifecycleConfiguration as { Rules: { Id: string }[] }).Rules;
    expect(Object.fromEntries(rules.map(({ Id, ...rule }) => [Id, rule]))).toEqual({
      'abort-incomplete-uploads': { AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 }, Status: 'Enabled' },
      'expire-old-versions': { ExpiredObjectDeleteMarker: true, NoncurrentVersionExpiration: { NoncurrentDays: 30 }, Status: 'Enabled' },
      transitions: { Status: 'Enabled', Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 30 }] },
    });
  });

  it('the encryption key is symmetric with yearly rotation; the signing key is ECC P-256 for signing', async () => {
    const kms = new KMSClient(config);
    const { KeyMetadata: key } = await kms.send(new DescribeKeyCommand({ KeyId: outputs.KeyArn }));
    expect(key).toMatchObject({ Enabled: true, KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT' });
    expect((await kms.send(new GetKeyRotationStatusCommand({ KeyId: key!.KeyId }))).KeyRotationEnabled).toBe(true);
    const { KeyMetadata: signing } = await kms.send(new DescribeKeyCommand({ KeyId: outputs.SigningKeyArn }));
    expect(signing).toMatchObject({ Enabled: true, KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P256' });
  });

  it('the runner task definition: Fargate, awsvpc, ARM64, its size and roles, the prebuilt image, read-only root with two scratch volumes, the dedup key as a secret, awslogs', async () => {
    const ecs = new ECSClient(config);
    const { clusters = [] } = await ecs.send(new DescribeClustersCommand({ clusters: [outputs.ClusterName!] }));
    expect(clusters[0]).toMatchObject({ clusterName: outputs.ClusterName, status: 'ACTIVE' });
    const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: `vaultra-${ENVIRONMENT}-runner` }));
    expect(taskDefinition).toMatchObject({ cpu: '1024', memory: '2048', networkMode: 'awsvpc', requiresCompatibilities: ['FARGATE'], runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' } });
    expect(taskDefinition!.taskRoleArn).toMatch(/:role\/Vaultra-moto-RunnerTaskRole/);
    expect(taskDefinition!.executionRoleArn).toMatch(/:role\/Vaultra-moto-RunnerExecutionRole/);
    expect(taskDefinition!.containerDefinitions).toHaveLength(1);
    const container = taskDefinition!.containerDefinitions![0]!;
    expect(container).toMatchObject({
      name: RUNNER_CONTAINER_NAME,
      image: RUNNER_IMAGE,
      essential: true,
      readonlyRootFilesystem: true,
      memoryReservation: 512,
      stopTimeout: 120,
      linuxParameters: { initProcessEnabled: true },
      secrets: [{ name: 'VAULTRA_DEDUP_KEY', valueFrom: outputs.DedupKeySecretArn }],
      logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-stream-prefix': 'runner', 'awslogs-region': REGION } },
    });
    // No variables and no command of its own: every run's come from RunTask's overrides. No user either: the image's (10001) stands.
    expect(container.environment ?? []).toEqual([]);
    expect(container.command ?? []).toEqual([]);
    expect(container.user).toBeUndefined();
    expect((container.mountPoints ?? []).map((mount) => mount.containerPath).sort()).toEqual(['/home/vaultra', '/tmp']);
  });

  it('the four functions run Node 22 with the deployed table, bucket, topic, keys, cluster, task definition, private subnets and ingress-less security group in their environment (moto drops ARM64 and tracing: read from the deployed template)', async () => {
    const lambda = new LambdaClient(config);
    const ec2 = new EC2Client(config);
    for (const name of ['ScheduledBackup', 'TaskFinished', 'Watchdog', 'Api']) {
      const fn = await deployedFunctionConfiguration(lambda, name);
      expect(fn, name).toMatchObject({ Runtime: 'nodejs22.x', Handler: 'index.handler', Timeout: expect.any(Number), MemorySize: 512 });
      expect(await templateResource('AWS::Lambda::Function', `Functions${name}Function`), name).toMatchObject({ Architectures: ['arm64'], TracingConfig: { Mode: 'Active' } });
      const variables = fn.Environment!.Variables!;
      expect(variables, name).toMatchObject({
        [AWS_FUNCTION_ENV.environmentName]: ENVIRONMENT,
        [AWS_FUNCTION_ENV.tableName]: outputs.CatalogTableName,
        [AWS_FUNCTION_ENV.bucketName]: outputs.BucketName,
        [AWS_FUNCTION_ENV.topicArn]: outputs.AlertTopicArn,
        [AWS_FUNCTION_ENV.keyArn]: outputs.KeyArn,
        [AWS_FUNCTION_ENV.signingKeyArn]: outputs.SigningKeyArn,
        [AWS_FUNCTION_ENV.containerName]: RUNNER_CONTAINER_NAME,
        [AWS_FUNCTION_ENV.assignPublicIp]: 'DISABLED',
      });
      expect(variables[AWS_FUNCTION_ENV.clusterArn], name).toMatch(new RegExp(`cluster/${outputs.ClusterName}$`));
      expect(variables[AWS_FUNCTION_ENV.taskDefinitionArn], name).toMatch(new RegExp(`task-definition/vaultra-${ENVIRONMENT}-runner:1$`));
      // The config travels in the bundle, not in Lambda's 4 KB of variables.
      expect(variables[AWS_FUNCTION_ENV.configJson], name).toBeUndefined();
      const subnets = variables[AWS_FUNCTION_ENV.subnetIds]!.split(',');
      expect(subnets, name).toHaveLength(2);
      const { Subnets = [] } = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnets }));
      expect(Subnets.map((subnet) => subnet.MapPublicIpOnLaunch), name).toEqual([false, false]);
      const { SecurityGroups = [] } = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: variables[AWS_FUNCTION_ENV.securityGroupIds]!.split(',') }));
      expect(SecurityGroups.map((group) => group.IpPermissions ?? []), name).toEqual([[]]);
    }
  });

  it('IAM (as moto keeps it): the scheduled-backup role runs this task definition in this cluster only and passes only the backup and execution roles', async () => {
    const iam = new IAMClient(config);
    const roleName = (await deployedFunctionConfiguration(new LambdaClient(config), 'ScheduledBackup')).Role!.split('/').pop()!;
    const { PolicyNames = [] } = await iam.send(new ListRolePoliciesCommand({ RoleName: roleName }));
    expect(PolicyNames).toHaveLength(1);
    const { PolicyDocument } = await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: PolicyNames[0] }));
    const statements = (JSON.parse(decodeURIComponent(PolicyDocument!)) as { Statement: { Action: string | string[]; Resource: string | string[]; Condition?: unknown }[] }).Statement;
    const granting = (action: string) => statements.filter((statement) => [statement.Action].flat().includes(action));
    const [runTask] = granting('ecs:RunTask');
    expect(runTask).toMatchObject({ Resource: expect.stringMatching(new RegExp(`task-definition/vaultra-${ENVIRONMENT}-runner:1$`)), Condition: { ArnEquals: { 'ecs:cluster': expect.stringMatching(new RegExp(`cluster/${outputs.ClusterName}$`)) } } });
    const [passRole] = granting('iam:PassRole');
    expect([passRole!.Resource].flat().map((arn) => arn.split('/').pop()!.replace(/^Vaultra-moto-(\w+?)[0-9A-F]{8}-.*$/, '$1')).sort()).toEqual(['RunnerExecutionRole', 'RunnerTaskRole']);
    expect(passRole!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } });
    // Nothing else it could start or read backups with.
    expect(statements.flatMap((statement) => [statement.Action].flat()).filter((action) => action.startsWith('s3:'))).toEqual([]);
  });

  it('the alert topic, the two dead-letter queues and the task-stopped rule on the runner cluster exist (moto drops the topic\'s KMS key: read from the deployed template)', async () => {
    const { Attributes } = await new SNSClient(config).send(new GetTopicAttributesCommand({ TopicArn: outputs.AlertTopicArn }));
    expect(Attributes!.TopicArn).toBe(outputs.AlertTopicArn);
    expect((await templateResource('AWS::SNS::Topic', 'AlertsTopic')).KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Key/), 'Arn'] });
    const sqs = new SQSClient(config);
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    const deadLetterQueues = QueueUrls.filter((url) => /DeadLetterQueue/.test(url));
    expect(deadLetterQueues.map((url) => url.replace(/.*Vaultra-moto-(\w+?)DeadLetterQueue.*/, '$1')).sort()).toEqual(['Schedules', 'TaskStopped']);
    for (const url of deadLetterQueues) {
      const { Attributes: queue } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['KmsMasterKeyId', 'MessageRetentionPeriod'] }));
      expect(queue!.KmsMasterKeyId, url).toBe(outputs.KeyArn);
    }
    const rule = await new EventBridgeClient(config).send(new DescribeRuleCommand({ Name: `vaultra-${ENVIRONMENT}-runner-task-stopped` }));
    expect(rule.State).toBe('ENABLED');
    expect(JSON.parse(rule.EventPattern!)).toMatchObject({ source: ['aws.ecs'], 'detail-type': ['ECS Task State Change'], detail: { clusterArn: [expect.stringMatching(new RegExp(`cluster/${outputs.ClusterName}$`))], lastStatus: ['STOPPED'] } });
  });

  describe('one scheduled backup through the deployed functions and the real runner', () => {
    let home = '';
    let source = '';
    let scheduledBackup: DeployedFunction;
    let taskFinished: DeployedFunction;
    /** What Lambda adds to a function's own variables: region and the role's credentials (here moto's), and moto's endpoint. */
    const lambdaRuntime = () => ({ ...moto.env, AWS_REGION: REGION, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: '1', POWERTOOLS_METRICS_DISABLED: 'true', POWERTOOLS_TRACE_ENABLED: 'false' });

    beforeAll(async () => {
      home = mkdtempSync(path.join(tmpdir(), 'vaultra-deploy-runner-'));
      source = path.join(work, 'shop.db');
      await createSqliteFixture(source);
      await new SecretsManagerClient(config).send(new CreateSecretCommand({ Name: SOURCE_SECRET, SecretString: `sqlite:${source}` }));
      scheduledBackup = await deployedFunction(config, deployment.stackName, 'FunctionsScheduledBackupFunction', work, MOTO_ACCOUNT);
      taskFinished = await deployedFunction(config, deployment.stackName, 'FunctionsTaskFinishedFunction', work, MOTO_ACCOUNT);
    });
    afterAll(() => {
      if (home) rmSync(home, { recursive: true, force: true });
    });

    it('RunTask reaches moto, the runner runs the task moto recorded, task-finished reconciles it: succeeded, stored, restorable content-equal', async () => {
      const scheduledTime = recentFireTime(0);
      const started = (await scheduledBackup.invoke({ job: 'shop', scheduledTime, executionId: 'deploy-test' }, lambdaRuntime())) as { outcome: string; runId: string; taskId: string };
      expect(started).toMatchObject({ outcome: 'started', job: 'shop' });

      // The task as moto recorded it: the deployed task definition, in a deployed private subnet, with the run's command and variables.
      const ecs = new ECSClient(config);
      const { tasks = [] } = await ecs.send(new DescribeTasksCommand({ cluster: outputs.ClusterName, tasks: [started.taskId] }));
      const task = tasks[0]!;
      expect(task.taskDefinitionArn).toBe(scheduledBackup.environment[AWS_FUNCTION_ENV.taskDefinitionArn]);
      expect(task.launchType).toBe('FARGATE');
      // moto gives an awsvpc task a network interface, in the first subnet RunTask named, with its security groups (it refuses ones that do not exist).
      const { NetworkInterfaces: interfaces = [] } = await new EC2Client(config).send(new DescribeNetworkInterfacesCommand({}));
      const taskInterfaces = interfaces.filter((candidate) => candidate.Description === 'moto ECS');
      expect(taskInterfaces).toHaveLength(1);
      expect(taskInterfaces[0]!.SubnetId).toBe(scheduledBackup.environment[AWS_FUNCTION_ENV.subnetIds]!.split(',')[0]);
      expect(taskInterfaces[0]!.Groups!.map((group) => group.GroupId)).toEqual(scheduledBackup.environment[AWS_FUNCTION_ENV.securityGroupIds]!.split(','));
      const override = task.overrides!.containerOverrides!.find((candidate) => candidate.name === RUNNER_CONTAINER_NAME)!;
      const spec = launchedSpec(override.command);
      expect(spec).toMatchObject({ job: 'shop', runId: started.runId, source: `secret+aws://${SOURCE_SECRET}` });
      const taskEnvironment = Object.fromEntries((override.environment ?? []).map((variable) => [variable.name!, variable.value!]));
      expect(taskEnvironment).toMatchObject({ VAULTRA_JOB: 'shop', VAULTRA_RUN_ID: started.runId, VAULTRA_CATALOG: expect.stringContaining(outputs.CatalogTableName!) });

      // The container ECS would start: the task's variables, the dedup key the execution role fetches, the task role's credentials.
      const { SecretString: dedupKey } = await new SecretsManagerClient(config).send(new GetSecretValueCommand({ SecretId: outputs.DedupKeySecretArn }));
      const runner = await runVaultra(override.command!, {
        env: { ...moto.env, AWS_REGION: REGION, ...runnerProcessEnvironment(home, path.dirname(tools.sqlite3)), ...taskEnvironment, VAULTRA_DEDUP_KEY: dedupKey! },
      });
      expect(runner.code, runner.stderr).toBe(0);
      expectNoCanary(plantCanaries(dedupKey!), 'the runner output', runner.stdout + runner.stderr);

      const finished = await taskFinished.invoke(
        {
          source: 'aws.ecs',
          'detail-type': 'ECS Task State Change',
          detail: {
            taskArn: started.taskId,
            clusterArn: task.clusterArn,
            lastStatus: 'STOPPED',
            stoppedReason: 'Essential container in task exited',
            stoppedAt: new Date().toISOString(),
            containers: [{ name: RUNNER_CONTAINER_NAME, exitCode: runner.code }],
            overrides: task.overrides,
          },
        },
        lambdaRuntime(),
      );
      expect(finished).toMatchObject({ outcome: 'succeeded', job: 'shop', runId: started.runId });

      const run = await new DynamoDbCatalog({ tableName: outputs.CatalogTableName!, client: new DynamoDBClient(config) }).get('shop', started.runId);
      expect(run).toMatchObject({ status: 'succeeded', kind: 'backup', engine: 'sqlite', taskId: started.taskId });
      const { Contents = [] } = await new S3Client({ ...config, forcePathStyle: true }).send(new ListObjectsV2Command({ Bucket: outputs.BucketName, Prefix: `vaultra/${runFolder('shop', started.runId)}/` }));
      expect(Contents.map((object) => object.Key!.split('/').pop()).sort()).toEqual(['data.sqlite.zst.age', 'manifest.json', 'manifest.json.sig']);

      const restored = path.join(work, 'restored.db');
      const restore = await runVaultra(
        ['restore', started.runId, '--from', `s3://${outputs.BucketName}/vaultra?region=${REGION}`, '--job', 'shop', '--target', `sqlite:${restored}`, '--trust', `aws-kms:${outputs.SigningKeyArn}`, '--json', '--no-progress'],
        { env: { ...moto.env, AWS_REGION: REGION, ...runnerProcessEnvironment(home, path.dirname(tools.sqlite3)), VAULTRA_CATALOG: `dynamodb://${outputs.CatalogTableName}?region=${REGION}` } },
      );
      expect(restore.code, restore.stderr).toBe(0);
      expect(await sqliteFingerprints(restored)).toEqual(await sqliteFingerprints(source));
    });
  });

  /** The properties of the deployed template's resource of `type` whose logical id starts with `logicalIdPrefix`: what moto was asked to create. */
  async function templateResource(type: string, logicalIdPrefix: string): Promise<Record<string, unknown>> {
    const { TemplateBody } = await new CloudFormationClient(config).send(new GetTemplateCommand({ StackName: deployment.stackName }));
    const resources = Object.entries((JSON.parse(TemplateBody!) as { Resources: Record<string, { Type: string; Properties: Record<string, unknown> }> }).Resources);
    const matching = resources.filter(([id, resource]) => resource.Type === type && id.startsWith(logicalIdPrefix));
    expect(matching, `${type} ${logicalIdPrefix}*`).toHaveLength(1);
    return matching[0]![1].Properties;
  }

  /** A deployed function's configuration, found by its construct name among the stack's resources. */
  async function deployedFunctionConfiguration(lambda: LambdaClient, constructName: string) {
    return lambda.send(new GetFunctionConfigurationCommand({ FunctionName: await stackFunctionName(config, deployment.stackName, `Functions${constructName}Function`) }));
  }
});

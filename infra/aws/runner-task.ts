import { Duration, Stack } from 'aws-cdk-lib';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import { Cluster, ContainerInsights, FargateTaskDefinition, LinuxParameters, LogDrivers, OperatingSystemFamily, Secret as EcsSecret, type ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { Effect, PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import type { BackupBucket } from './backup-bucket.js';
import type { CatalogTable } from './catalog-table.js';
import { DEDUP_KEY_ENV } from './dedup-key.js';
import type { AwsEnvironment } from './deployment-config.js';
import { checkFargateSize } from './fargate-size.js';
import { encryptedLogGroup } from './log-groups.js';
import { acknowledge, acknowledgeWildcardResource } from './nag.js';
import { runnerArchitecture, taskCpuArchitecture } from './runner-architecture.js';
import { catalogStatement, keyStatement, prefixListStatement, prefixObjectsStatement, secretsStatement } from './policy-statements.js';
import { awsSecretArns, jobSourceReferences } from './secret-arns.js';

export interface RunnerTaskProps {
  readonly environment: AwsEnvironment;
  readonly vpc: IVpc;
  readonly key: IKey;
  /** The asymmetric key every manifest is signed with. */
  readonly signingKey: IKey;
  readonly bucket: BackupBucket;
  readonly catalog: CatalogTable;
  readonly image: ContainerImage;
  /** The environment's dedup key (`DedupKey`): the container gets it as `VAULTRA_DEDUP_KEY`, read by the execution role only. */
  readonly dedupKey: ISecret;
}

/** What the runner does to objects under the prefix: write (multipart), read back, verify, clean up its own failed writes. */
const RUNNER_OBJECT_ACTIONS = ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
/**
 * On the signing key: sign manifests, and read the public key a launched restore or verify trusts.
 * Never kms:Verify (verifying is local) and nothing that could change or schedule the key's deletion.
 */
export const SIGNING_KEY_ACTIONS = ['kms:Sign', 'kms:GetPublicKey'];
/** With Object Lock: confirm (HEAD) and, where the store did not apply it, set each object's retention. */
const OBJECT_LOCK_ACTIONS = ['s3:GetObjectRetention', 's3:PutObjectRetention'];

/**
 * Where the runner writes, each a writable volume over the read-only root filesystem: the temp
 * folder (the dump tools' 0600 option files, SQLite snapshots) and `$HOME` (the tools'
 * dotfiles, and Vaultra's local state when no catalog URL is given). runner/Dockerfile declares
 * each as a `VOLUME`, so Fargate copies the image's directory, owner and mode included, into the
 * volume: an empty bind mount would be root's, and the runner runs as uid 10001.
 */
export const RUNNER_SCRATCH_VOLUMES = { tmp: '/tmp', home: '/home/vaultra' } as const;

/**
 * The ECS cluster and the runner's Fargate task definition (Linux, on `runner.architecture`:
 * ARM64 unless the config says x86_64): one essential container named `RUNNER_CONTAINER_NAME`,
 * logging to a KMS-encrypted log group. The task role holds exactly what a backup or restore
 * touches: objects under the prefix, the catalog's items, the jobs' connection secrets, the key,
 * and on the signing key `kms:Sign` (backups) and `kms:GetPublicKey` (on-demand restores and
 * verifies trust it by name; verifying is local). The execution role (image pull, log delivery)
 * is separate.
 *
 * The container's only variable of its own is the secret `VAULTRA_DEDUP_KEY` (ECS fetches it
 * with the execution role at start, so the task role cannot read the secret itself); the launcher
 * passes the run's variables as RunTask overrides. Its root filesystem is read-only; the runner
 * writes to two scratch volumes.
 */
export class RunnerTask extends Construct {
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  readonly taskRole: Role;
  readonly executionRole: Role;

  constructor(scope: Construct, id: string, props: RunnerTaskProps) {
    super(scope, id);
    const { environment, bucket, catalog, key } = props;
    const { runner } = environment;
    checkFargateSize(runner.cpu, runner.memoryMiB, `environments.${environment.name}.runner`);
    for (const job of environment.jobs) {
      checkFargateSize(job.runtime.cpu ?? runner.cpu, job.runtime.memoryMiB ?? runner.memoryMiB, `environments.${environment.name}.jobs.${job.name}.runtime`);
    }
    const stack = Stack.of(this);

    this.cluster = new Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ContainerInsights.ENABLED });

    // Only ECS tasks of this account may assume the roles (confused-deputy guard).
    const ecsTasks = () => new ServicePrincipal('ecs-tasks.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } });
    this.taskRole = new Role(this, 'TaskRole', { assumedBy: ecsTasks(), description: `Vaultra ${environment.name} runner: backups under ${bucket.prefix}/, catalog items, job secrets` });
    this.executionRole = new Role(this, 'ExecutionRole', { assumedBy: ecsTasks(), description: `Vaultra ${environment.name} runner: image pull and log delivery` });

    this.taskRole.addToPolicy(prefixObjectsStatement(bucket, bucket.objectLock ? [...RUNNER_OBJECT_ACTIONS, ...OBJECT_LOCK_ACTIONS] : RUNNER_OBJECT_ACTIONS));
    this.taskRole.addToPolicy(prefixListStatement(bucket, ['s3:ListBucket', 's3:ListBucketMultipartUploads']));
    this.taskRole.addToPolicy(catalogStatement(catalog));
    this.taskRole.addToPolicy(keyStatement(key, ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']));
    this.taskRole.addToPolicy(keyStatement(props.signingKey, SIGNING_KEY_ACTIONS));
    for (const statement of secretsStatement(awsSecretArns(stack, jobSourceReferences(environment)))) this.taskRole.addToPolicy(statement);
    acknowledgeWildcardResource(
      this.taskRole,
      bucket.prefixObjectsArn,
      `Backup objects are written under ${bucket.prefix}/<job>/<YYYY>/<MM>/<DD>/<runId>/ with run ids made at run time: the role is limited to objects under the Vaultra prefix, which is the narrowest pattern that can name them.`,
    );

    const logGroup = encryptedLogGroup(this, 'Logs', { key, retentionDays: runner.logRetentionDays });
    this.taskDefinition = new FargateTaskDefinition(this, 'TaskDefinition', {
      family: `vaultra-${environment.name}-runner`,
      cpu: runner.cpu,
      memoryLimitMiB: runner.memoryMiB,
      runtimePlatform: { cpuArchitecture: taskCpuArchitecture(runnerArchitecture(environment)), operatingSystemFamily: OperatingSystemFamily.LINUX },
      taskRole: this.taskRole,
      executionRole: this.executionRole,
    });
    const container = this.taskDefinition.addContainer('Runner', {
      containerName: RUNNER_CONTAINER_NAME,
      image: props.image,
      essential: true,
      // Writes go only to the scratch volumes below: a compromised dump tool or dependency cannot plant files elsewhere.
      readonlyRootFilesystem: true,
      logging: LogDrivers.awsLogs({ streamPrefix: 'runner', logGroup }),
      // An init process forwards SIGTERM to node and reaps the dump tools it spawns.
      linuxParameters: new LinuxParameters(this, 'LinuxParameters', { initProcessEnabled: true }),
      // Time to abort a multipart upload and record the run as failed when ECS stops the task.
      stopTimeout: Duration.seconds(120),
      // Every run of every job computes chunk ids under this one key, or no run would dedupe against another.
      secrets: { [DEDUP_KEY_ENV]: EcsSecret.fromSecretsManager(props.dedupKey) },
    });
    // Volumes without a host path: Fargate bind mounts on the task's ephemeral storage, gone with the task.
    for (const [name, containerPath] of Object.entries(RUNNER_SCRATCH_VOLUMES)) {
      this.taskDefinition.addVolume({ name });
      container.addMountPoints({ sourceVolume: name, containerPath, readOnly: false });
    }
    acknowledge(
      this.executionRole,
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken has no resource-level permissions (AWS requires Resource "*"); pulling the image itself is limited to the CDK asset repository.',
    );
  }

  /**
   * Lets `role` start this task definition, in this cluster only, and hand the task its two
   * roles (and only to ECS tasks). RunTask names the exact revision this stack deployed.
   */
  grantLaunch(role: IRole): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ecs:RunTask'],
        resources: [this.taskDefinition.taskDefinitionArn],
        conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [this.taskRole.roleArn, this.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }
}

import { Duration, Stack } from 'aws-cdk-lib';
import type { IVpc } from 'aws-cdk-lib/aws-ec2';
import { Cluster, ContainerInsights, FargateTaskDefinition, LinuxParameters, LogDrivers, OperatingSystemFamily, Secret as EcsSecret, type ContainerImage } from 'aws-cdk-lib/aws-ecs';
import { Effect, PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { awsNames, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import type { BackupBucket } from './backup-bucket.js';
import type { CatalogTable } from './catalog-table.js';
import { DEDUP_KEY_ENV } from './dedup-key.js';
import type { AwsEnvironment } from './deployment-config.js';
import { checkFargateSize, FARGATE_MIN_MEMORY_MIB } from './fargate-size.js';
import { addXraySidecar } from './otel-sidecar.js';
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

/**
 * What a backup does to objects under the prefix: write (multipart), check what it wrote, read
 * earlier runs' manifests, signatures and indexes, clean up its own failed writes. The reads stay
 * on every key, packs and data objects included: S3 authorizes a HEAD as `s3:GetObject` (with a
 * version id, `s3:GetObjectVersion`) and has no HEAD-only permission, and the upload HEADs each
 * object it completes to check its size and checksum. What a backup role reads of a pack or data
 * object is age ciphertext: it cannot unwrap the file key (see `backupKeyStatements`).
 */
const BACKUP_OBJECT_ACTIONS = ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'];
/** What a restore or verify does to objects under the prefix: read them, nothing else. */
const RESTORE_OBJECT_ACTIONS = ['s3:GetObject', 's3:GetObjectVersion'];
/**
 * On the signing key, for backups: sign manifests, and read the public key the base of a chunked
 * run must be signed with. Never kms:Verify (verifying is local) and nothing that could change or
 * schedule the key's deletion.
 */
export const SIGNING_KEY_ACTIONS = ['kms:Sign', 'kms:GetPublicKey'];
/** On the signing key, for restores and verifies: only the public key they trust (`--trust aws-kms:…`); they sign nothing. */
export const TRUST_KEY_ACTIONS = ['kms:GetPublicKey'];
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
 * Which runs a function may start: `backups` under the task definition's own (backup) role only,
 * `backups-and-restores` also restores and verifies under the restore role (RunTask's
 * `overrides.taskRoleArn`, which needs `iam:PassRole` on it).
 */
export type RunnerLaunches = 'backups' | 'backups-and-restores';

/**
 * The ECS cluster and the runner's Fargate task definition (Linux, on `runner.architecture`:
 * ARM64 unless the config says x86_64): one essential container named `RUNNER_CONTAINER_NAME`,
 * logging to a KMS-encrypted log group, and two task roles for it:
 *
 * - the **backup role**, the task definition's own task role, so every run that names no other
 *   role gets it: objects under the prefix (write, check, clean up), the catalog's items, the
 *   jobs' connection secrets, `kms:Encrypt` on the key (wrapping the age `vaultra-kms` stanza) and
 *   `kms:Decrypt`/`kms:GenerateDataKey` only through S3 and DynamoDB (the SSE-KMS bucket and the
 *   encrypted table ask KMS on its behalf), `kms:Sign` on the signing key. It cannot call
 *   `kms:Decrypt` itself, so it cannot unwrap any backup's file key: a compromised backup runner
 *   reads no backup.
 * - the **restore role**, given by the launcher to on-demand restores and verifies only
 *   (`overrides.taskRoleArn`): reads under the prefix, the catalog, the secrets, `kms:Decrypt` on
 *   the key, `kms:GetPublicKey` on the signing key. It writes no object and signs nothing.
 *
 * The execution role (image pull, log delivery, the dedup key) is separate.
 *
 * The container's only variable of its own is the secret `VAULTRA_DEDUP_KEY` (ECS fetches it
 * with the execution role at start, so the task role cannot read the secret itself), plus the
 * OTEL_* variables with `telemetry.xray` (otel-sidecar.ts); the launcher passes the run's
 * variables as RunTask overrides. Its root filesystem is read-only; the runner
 * writes to two scratch volumes.
 */
export class RunnerTask extends Construct {
  readonly cluster: Cluster;
  readonly taskDefinition: FargateTaskDefinition;
  /** The task definition's task role: scheduled and on-demand backups run as it. */
  readonly backupRole: Role;
  /** The role restores and verifies run as (`overrides.taskRoleArn`). */
  readonly restoreRole: Role;
  readonly executionRole: Role;
  /** What the backup and restore rights are rights on. */
  private readonly rights: Pick<RunnerTaskProps, 'environment' | 'bucket' | 'catalog' | 'key' | 'signingKey'>;

  constructor(scope: Construct, id: string, props: RunnerTaskProps) {
    super(scope, id);
    const { environment, bucket, catalog, key } = props;
    const { runner } = environment;
    checkFargateSize(runner.cpu, runner.memoryMiB, `environments.${environment.name}.runner`);
    for (const job of environment.jobs) {
      checkFargateSize(job.runtime.cpu ?? runner.cpu, job.runtime.memoryMiB ?? runner.memoryMiB, `environments.${environment.name}.jobs.${job.name}.runtime`);
      if (job.logs) checkFargateSize(job.logs.runtime.cpu, job.logs.runtime.memoryMiB, `environments.${environment.name}.jobs.${job.name}.logs.runtime`);
    }
    const stack = Stack.of(this);

    this.cluster = new Cluster(this, 'Cluster', { vpc: props.vpc, containerInsightsV2: ContainerInsights.ENABLED });

    // Only ECS tasks of this account may assume the roles (confused-deputy guard).
    const ecsTasks = () => new ServicePrincipal('ecs-tasks.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } });
    // The construct id stays `TaskRole`: a deployed stack keeps its role (and its logical id) as the backup role.
    this.backupRole = new Role(this, 'TaskRole', {
      assumedBy: ecsTasks(),
      description: `Vaultra ${environment.name} runner: backups under ${bucket.prefix}/ (write-only: cannot unwrap a backup's file key), catalog items, job secrets`,
    });
    this.restoreRole = new Role(this, 'RestoreRole', {
      assumedBy: ecsTasks(),
      description: `Vaultra ${environment.name} runner: on-demand restores and verifies, reading and decrypting backups under ${bucket.prefix}/`,
    });
    this.executionRole = new Role(this, 'ExecutionRole', { assumedBy: ecsTasks(), description: `Vaultra ${environment.name} runner: image pull and log delivery` });
    this.rights = { environment, bucket, catalog, key, signingKey: props.signingKey };
    this.grantBackups(this.backupRole);
    this.grantRestores(this.restoreRole);

    const logGroup = encryptedLogGroup(this, 'Logs', { key, retentionDays: runner.logRetentionDays });
    this.taskDefinition = new FargateTaskDefinition(this, 'TaskDefinition', {
      family: awsNames.runnerTaskFamily(environment.name),
      cpu: runner.cpu,
      memoryLimitMiB: runner.memoryMiB,
      runtimePlatform: { cpuArchitecture: taskCpuArchitecture(runnerArchitecture(environment)), operatingSystemFamily: OperatingSystemFamily.LINUX },
      taskRole: this.backupRole,
      executionRole: this.executionRole,
    });
    const container = this.taskDefinition.addContainer('Runner', {
      containerName: RUNNER_CONTAINER_NAME,
      image: props.image,
      essential: true,
      // A soft reservation at Fargate's smallest task size, so it fits every task this definition
      // starts (a job's RunTask override may shrink or grow the task's memory); the task's memory
      // stays the limit. Emulators (moto's RunTask) also need a container-level figure.
      memoryReservationMiB: FARGATE_MIN_MEMORY_MIB,
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
    // Off by default: the sidecar costs every run memory and a second container's start.
    if (environment.telemetry.xray) {
      addXraySidecar(this.taskDefinition, { traced: container, serviceName: `vaultra-${environment.name}-runner`, logGroup, taskRoles: [this.backupRole, this.restoreRole] });
    }
    acknowledge(
      this.executionRole,
      'AwsSolutions-IAM5[Resource::*]',
      'ecr:GetAuthorizationToken has no resource-level permissions (AWS requires Resource "*"); pulling the image itself is limited to the CDK asset repository.',
    );
  }

  /**
   * The backup role's rights, given to `role`: what a backup run does (the backup role above;
   * the inline backup function runs backups too, so it gets exactly these). `viaServices` adds
   * services besides S3 and DynamoDB that may use the key on the role's behalf (SNS, for a function
   * that also publishes alerts to the encrypted topic).
   */
  grantBackups(role: Role, viaServices: readonly string[] = []): void {
    const { bucket, catalog, key, signingKey } = this.rights;
    const stack = Stack.of(this);
    role.addToPolicy(prefixObjectsStatement(bucket, bucket.objectLock ? [...BACKUP_OBJECT_ACTIONS, ...OBJECT_LOCK_ACTIONS] : BACKUP_OBJECT_ACTIONS));
    role.addToPolicy(prefixListStatement(bucket, ['s3:ListBucket', 's3:ListBucketMultipartUploads']));
    // With Object Lock the runner first checks that the bucket enforces it (s3-bucket-lock.ts); the
    // call names no prefix, so it cannot share the listing statement's s3:prefix condition.
    if (bucket.objectLock) role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetBucketObjectLockConfiguration'], resources: [bucket.bucket.bucketArn] }));
    role.addToPolicy(catalogStatement(catalog));
    for (const statement of backupKeyStatements(key, [`s3.${stack.region}.${stack.urlSuffix}`, `dynamodb.${stack.region}.${stack.urlSuffix}`, ...viaServices])) role.addToPolicy(statement);
    role.addToPolicy(keyStatement(signingKey, SIGNING_KEY_ACTIONS));
    for (const statement of this.jobSecrets()) role.addToPolicy(statement);
    acknowledgeWildcardResource(role, bucket.prefixObjectsArn, this.prefixReason());
  }

  /** The restore role's rights, given to `role`: what a restore or verify does (the inline restore function gets exactly these). */
  grantRestores(role: Role): void {
    const { bucket, catalog, key, signingKey } = this.rights;
    role.addToPolicy(prefixObjectsStatement(bucket, RESTORE_OBJECT_ACTIONS));
    role.addToPolicy(prefixListStatement(bucket, ['s3:ListBucket']));
    role.addToPolicy(catalogStatement(catalog));
    // Decrypt unwraps the age vaultra-kms stanza; Encrypt and GenerateDataKey serve the encrypted catalog table's writes.
    role.addToPolicy(keyStatement(key, ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']));
    role.addToPolicy(keyStatement(signingKey, TRUST_KEY_ACTIONS));
    for (const statement of this.jobSecrets()) role.addToPolicy(statement);
    acknowledgeWildcardResource(role, bucket.prefixObjectsArn, this.prefixReason());
  }

  private jobSecrets(): PolicyStatement[] {
    return secretsStatement(awsSecretArns(Stack.of(this), jobSourceReferences(this.rights.environment)));
  }

  private prefixReason(): string {
    return `Backup objects are written under ${this.rights.bucket.prefix}/<job>/<YYYY>/<MM>/<DD>/<runId>/ with run ids made at run time: the role is limited to objects under the Vaultra prefix, which is the narrowest pattern that can name them.`;
  }

  /**
   * Lets `role` start this task definition, in this cluster only, and hand the task its roles
   * (and only to ECS tasks): the backup and execution roles, and with `backups-and-restores` the
   * restore role too. RunTask names the exact revision this stack deployed.
   */
  grantLaunch(role: IRole, launches: RunnerLaunches): void {
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ecs:RunTask'],
        resources: [this.taskDefinition.taskDefinitionArn],
        conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
      }),
    );
    const taskRoles = launches === 'backups-and-restores' ? [this.backupRole, this.restoreRole] : [this.backupRole];
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [...taskRoles.map((taskRole) => taskRole.roleArn), this.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }
}

/**
 * The backup role's rights on the environment key. `kms:Encrypt` wraps each backup's file key
 * (the age `vaultra-kms` stanza) and `kms:DescribeKey` reads the key's metadata. `kms:Decrypt`
 * and `kms:GenerateDataKey` are allowed only when `viaServices` ask on the role's behalf: the
 * bucket (SSE-KMS, multipart uploads included) and the catalog table are encrypted with this
 * key. Unwrapping a stanza is a direct `kms:Decrypt`, which this never allows.
 */
export function backupKeyStatements(key: IKey, viaServices: readonly string[]): PolicyStatement[] {
  return [
    keyStatement(key, ['kms:Encrypt', 'kms:DescribeKey']),
    new PolicyStatement({
      effect: Effect.ALLOW,
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': [...viaServices] } },
    }),
  ];
}

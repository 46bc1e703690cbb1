import { Duration, Stack } from 'aws-cdk-lib';
import { ContainerDependencyCondition, ContainerImage, FargateTaskDefinition, LinuxParameters, LogDrivers, OperatingSystemFamily, type ContainerDefinition } from 'aws-cdk-lib/aws-ecs';
import { Effect, PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DRILL_SERVER_CONTAINER_NAME, drillSidecarOf, type DrillSidecar } from '../../core/config/drill-sidecar.js';
import type { ScheduledJob } from '../../core/config/environments.js';
import { awsNames, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import type { BackupBucket } from './backup-bucket.js';
import type { CatalogTable } from './catalog-table.js';
import type { AwsEnvironment } from './deployment-config.js';
import { checkFargateSize } from './fargate-size.js';
import { encryptedLogGroup } from './log-groups.js';
import { acknowledge, acknowledgeWildcardResource } from './nag.js';
import { catalogStatement, keyStatement, prefixListStatement, prefixObjectsStatement } from './policy-statements.js';
import { runnerArchitecture, taskCpuArchitecture } from './runner-architecture.js';
import { RUNNER_SCRATCH_VOLUMES, TRUST_KEY_ACTIONS, type RunnerTask } from './runner-task.js';

export interface DrillTasksProps {
  readonly environment: AwsEnvironment;
  /** The runner's cluster and execution role: drills run beside backups. */
  readonly runner: RunnerTask;
  readonly image: ContainerImage;
  readonly key: IKey;
  readonly signingKey: IKey;
  readonly bucket: BackupBucket;
  readonly catalog: CatalogTable;
}

/** How long the scratch server may take to accept connections before ECS calls it unhealthy (and the drill task fails). */
const SIDECAR_START_PERIOD = Duration.seconds(60);

/**
 * Scheduled drills (docs/drills.md, "In the cloud"): one Fargate task definition per enabled job
 * with `drill.schedule`, `vaultra-<env>-drill-<job>`, at the drill's size (`drill.cpu`,
 * `drill.memoryMiB`). Its runner container starts only once the job's scratch server
 * (`drill.server`, an official image) is HEALTHY; the runner exits, the task ends, the server
 * with it. A job without `drill.server` (SQLite, directory) drills in the runner alone.
 *
 * Every drill task runs as the **drill role**, its own task role: it reads and decrypts backups
 * (`kms:Decrypt` on the key, to unwrap the age `vaultra-kms` stanza), reads the signing key's
 * public key, and records its run in the catalog. It writes no object, signs nothing and reads no
 * job secret: a drill never connects to the source. The backup role stays write-only.
 */
export class DrillTasks extends Construct {
  /** The drill tasks' task role; none when no job schedules a drill. */
  readonly role: Role | undefined;
  /** Each drilled job's task definition, by job name. */
  readonly taskDefinitions: ReadonlyMap<string, FargateTaskDefinition>;

  constructor(scope: Construct, id: string, props: DrillTasksProps) {
    super(scope, id);
    const { environment, key } = props;
    const drilled = environment.jobs.filter((job) => job.enabled && job.drill?.schedule);
    // No drill scheduled, no role that may decrypt.
    if (drilled.length === 0) {
      this.taskDefinitions = new Map();
      return;
    }
    this.role = drillRole(this, props);
    const logGroup = encryptedLogGroup(this, 'Logs', { key, retentionDays: environment.runner.logRetentionDays });
    this.taskDefinitions = new Map(drilled.map((job) => [job.name, this.taskDefinitionOf(job, props, logGroup)]));
  }
  private taskDefinitionOf(job: ScheduledJob, props: DrillTasksProps, logGroup: ILogGroup): FargateTaskDefinition {
    const { environment } = props;
    const { cpu, memoryMiB } = job.drill!;
    checkFargateSize(cpu, memoryMiB, `environments.${environment.name}.jobs.${job.name}.drill`);
    const task = new FargateTaskDefinition(this, `Task-${job.name}`, {
      family: awsNames.drillTaskFamily(environment.name, job.name),
      cpu,
      memoryLimitMiB: memoryMiB,
      runtimePlatform: { cpuArchitecture: taskCpuArchitecture(runnerArchitecture(environment)), operatingSystemFamily: OperatingSystemFamily.LINUX },
      taskRole: this.role!,
      executionRole: props.runner.executionRole,
    });
    const runner = task.addContainer('Runner', {
      containerName: RUNNER_CONTAINER_NAME,
      image: props.image,
      essential: true,
      readonlyRootFilesystem: true,
      logging: LogDrivers.awsLogs({ streamPrefix: `drill-${job.name}`, logGroup }),
      linuxParameters: new LinuxParameters(this, `LinuxParameters-${job.name}`, { initProcessEnabled: true }),
      // Time to drop the scratch database and record the drill as failed when ECS stops the task.
      stopTimeout: Duration.seconds(120),
    });
    for (const [name, containerPath] of Object.entries(RUNNER_SCRATCH_VOLUMES)) {
      task.addVolume({ name });
      runner.addMountPoints({ sourceVolume: name, containerPath, readOnly: false });
    }
    const sidecar = drillSidecarOf(job.drill);
    if (sidecar) runner.addContainerDependencies({ container: this.scratchServer(task, sidecar, logGroup, job.name), condition: ContainerDependencyCondition.HEALTHY });
    return task;
  }

  /** The scratch server: not essential (the runner's exit ends the task), writable (its data directory lives and dies with the task). */
  private scratchServer(task: FargateTaskDefinition, sidecar: DrillSidecar, logGroup: ILogGroup, jobName: string): ContainerDefinition {
    const server = task.addContainer('ScratchServer', {
      containerName: DRILL_SERVER_CONTAINER_NAME,
      image: ContainerImage.fromRegistry(sidecar.image),
      essential: false,
      command: [...sidecar.command],
      environment: { ...sidecar.environment },
      logging: LogDrivers.awsLogs({ streamPrefix: `drill-${jobName}-server`, logGroup }),
      healthCheck: { command: ['CMD-SHELL', sidecar.healthCheck], interval: Duration.seconds(5), timeout: Duration.seconds(5), retries: 10, startPeriod: SIDECAR_START_PERIOD },
    });
    const variables = Object.keys(sidecar.environment);
    if (variables.length > 0) {
      acknowledge(task, 'AwsSolutions-ECS2', `The scratch server's only variable is ${variables.join(', ')}: no secret (it listens on the task's loopback only; the runner is its one client).`);
    }
    return server;
  }

  /** Lets `role` start the drill tasks in the runner's cluster and hand them the drill and execution roles. */
  grantLaunch(role: IRole, runner: RunnerTask): void {
    if (!this.role) return;
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ecs:RunTask'],
        resources: [...this.taskDefinitions.values()].map((task) => task.taskDefinitionArn),
        conditions: { ArnEquals: { 'ecs:cluster': runner.cluster.clusterArn } },
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [this.role.roleArn, runner.executionRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      }),
    );
  }

  /** `VAULTRA_DRILL_TASK_DEFINITIONS`: job name → task definition ARN, as JSON the functions read. */
  taskDefinitionsJson(): string | undefined {
    if (this.taskDefinitions.size === 0) return undefined;
    return Stack.of(this).toJsonString(Object.fromEntries([...this.taskDefinitions].map(([job, task]) => [job, task.taskDefinitionArn])));
  }
}

/** The drill role: see `DrillTasks`. */
function drillRole(scope: Construct, props: DrillTasksProps): Role {
  const { environment, bucket, catalog, key } = props;
  const role = new Role(scope, 'Role', {
    assumedBy: new ServicePrincipal('ecs-tasks.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(scope).account } } }),
    description: `Vaultra ${environment.name} scheduled drills: read and decrypt backups under ${bucket.prefix}/, record drill runs`,
  });
  role.addToPolicy(prefixObjectsStatement(bucket, ['s3:GetObject', 's3:GetObjectVersion']));
  role.addToPolicy(prefixListStatement(bucket, ['s3:ListBucket']));
  role.addToPolicy(catalogStatement(catalog));
  // Decrypt unwraps the age vaultra-kms stanza; Encrypt and GenerateDataKey serve the encrypted catalog table's writes.
  role.addToPolicy(keyStatement(key, ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey']));
  role.addToPolicy(keyStatement(props.signingKey, TRUST_KEY_ACTIONS));
  acknowledgeWildcardResource(role, bucket.prefixObjectsArn, `Backups are read under ${bucket.prefix}/<job>/… with run ids made at run time: the narrowest pattern that names them.`);
  return role;
}

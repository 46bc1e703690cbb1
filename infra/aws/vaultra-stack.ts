import { CfnOutput, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { ContainerImage } from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { AlertTopic } from './alert-topic.js';
import { BackupBucket } from './backup-bucket.js';
import { CatalogTable } from './catalog-table.js';
import { DedupKey } from './dedup-key.js';
import { DrillTasks } from './drill-tasks.js';
import type { DeploymentConfig } from './deployment-config.js';
import { EncryptionKey } from './encryption-key.js';
import { InlineFunctions } from './inline-functions.js';
import { JobSchedules } from './job-schedules.js';
import { runsInline } from '../../core/config/inline-runtime.js';
import { Monitoring } from './monitoring.js';
import { RunnerNetwork } from './network.js';
import { OrchestrationFunctions } from './orchestration-functions.js';
import { runnerArchitecture } from './runner-architecture.js';
import { runnerImage } from './runner-image.js';
import { RunnerTask } from './runner-task.js';
import { SigningKey } from './signing-key.js';
import { TaskStoppedRule } from './task-stopped-rule.js';
import { WatchdogSchedule } from './watchdog-schedule.js';

export interface VaultraStackProps extends Omit<StackProps, 'env'> {
  readonly deployment: DeploymentConfig;
  /** The runner image; it must match `runner.architecture`. @default built from the repository root with runner/Dockerfile for that architecture */
  readonly runnerImage?: ContainerImage;
  /** Whether a created VPC logs its traffic to the access-log bucket. @default true */
  readonly flowLogs?: boolean;
  /** The tools layer's zip, for an environment with `runtime: inline` jobs. @default layers/dist/vaultra-tools-layer.zip */
  readonly toolsLayerZip?: string;
}

/** `Vaultra-<env>`: the stack name of an environment. */
export function vaultraStackName(environmentName: string): string {
  return `Vaultra-${environmentName}`;
}

/**
 * Everything one AWS environment of vaultra.config.yaml needs (DESIGN.md §1): the key, the
 * backup bucket, the catalog, the alert topic, the network, the dedup key and the runner task, the four
 * functions, one schedule per job, the drill tasks, the task-stopped rule, the watchdog, dashboard and alarms.
 *
 * Pinned to an account only when the config names one; the region is always the config's.
 */
export class VaultraStack extends Stack {
  readonly functions: OrchestrationFunctions;
  /** The inline backup and restore functions, when the environment has `runtime: inline` jobs. */
  readonly inline: InlineFunctions | undefined;

  constructor(scope: Construct, id: string, props: VaultraStackProps) {
    const { deployment, runnerImage: image, flowLogs = true, toolsLayerZip, ...stackProps } = props;
    const { environment, configText, configOrigin } = deployment;
    super(scope, id, {
      ...stackProps,
      env: environment.account ? { account: environment.account, region: environment.region } : { region: environment.region },
      description: `Vaultra backups, environment ${environment.name}`,
    });

    const key = new EncryptionKey(this, 'Key', { environmentName: environment.name });
    const signingKey = new SigningKey(this, 'SigningKey', { environmentName: environment.name });
    const bucket = new BackupBucket(this, 'Backups', { key: key.key, storage: environment.storage });
    const catalog = new CatalogTable(this, 'Catalog', { key: key.key });
    const alerts = new AlertTopic(this, 'Alerts', { key: key.key, environmentName: environment.name, emails: environment.notifications.email });
    const network = new RunnerNetwork(this, 'Network', { network: environment.network, flowLogBucket: flowLogs ? bucket.accessLogBucket : undefined });
    const dedupKey = new DedupKey(this, 'DedupKey', { environmentName: environment.name });
    const runner = new RunnerTask(this, 'Runner', {
      environment,
      vpc: network.vpc,
      key: key.key,
      signingKey: signingKey.key,
      bucket,
      catalog,
      image: image ?? runnerImage(runnerArchitecture(environment)),
      dedupKey: dedupKey.secret,
    });

    const drills = new DrillTasks(this, 'Drills', { environment, runner, image: image ?? runnerImage(runnerArchitecture(environment)), key: key.key, signingKey: signingKey.key, bucket, catalog });

    this.functions = new OrchestrationFunctions(this, 'Functions', {
      environment,
      configJson: bundledEnvironmentJson(configText, environment.name, configOrigin),
      key: key.key,
      signingKey: signingKey.key,
      bucket,
      catalog,
      topic: alerts.topic,
      runner,
      drills,
      network,
    });
    const configJson = bundledEnvironmentJson(configText, environment.name, configOrigin);
    this.inline = environment.jobs.some((job) => job.enabled && runsInline(job))
      ? new InlineFunctions(this, 'Inline', { environment, configJson, variables: this.functions.variables, key: key.key, catalog, topic: alerts.topic, runner, network, dedupKey: dedupKey.secret, taskFinished: this.functions.taskFinished.function, api: this.functions.api, ...(toolsLayerZip ? { toolsLayerZip } : {}) })
      : undefined;
    const schedules = new JobSchedules(this, 'Schedules', { environment, target: this.functions.scheduledBackup.function, ...(this.inline ? { inlineTarget: this.inline.backup.function } : {}), key: key.key });
    new WatchdogSchedule(this, 'WatchdogSchedule', { watchdog: this.functions.watchdog.function, group: schedules.group, deadLetterQueue: schedules.deadLetterQueue, key: key.key });
    const taskStopped = new TaskStoppedRule(this, 'TaskStopped', { environmentName: environment.name, runner, target: this.functions.taskFinished.function, key });

    new Monitoring(this, 'Monitoring', {
      environmentName: environment.name,
      jobs: environment.jobs.filter((job) => job.enabled),
      topic: alerts.topic,
      functions: {
        'scheduled-backup': this.functions.scheduledBackup.function,
        'task-finished': this.functions.taskFinished.function,
        watchdog: this.functions.watchdog.function,
        api: this.functions.api.function,
        ...(this.inline ? { 'inline-backup': this.inline.backup.function, 'inline-restore': this.inline.restore.function } : {}),
      },
      deadLetterQueues: { schedules: schedules.deadLetterQueue, 'task-stopped': taskStopped.deadLetterQueue },
    });

    new CfnOutput(this, 'ApiFunctionName', { value: this.functions.api.function.functionName, description: 'aws lambda invoke --function-name <this> … (IAM-authorized; no public URL)' });
    if (this.inline) {
      new CfnOutput(this, 'InlineRestoreFunctionName', { value: this.inline.restore.function.functionName, description: 'Restores and verifies of runtime: inline jobs, run inline: aws lambda invoke --function-name <this> with the api function\'s restore request' });
    }
    new CfnOutput(this, 'BucketName', { value: bucket.bucket.bucketName, description: `Backups live under s3://<this>/${bucket.prefix}/` });
    new CfnOutput(this, 'CatalogTableName', { value: catalog.table.tableName });
    new CfnOutput(this, 'AlertTopicArn', { value: alerts.topic.topicArn });
    new CfnOutput(this, 'ClusterName', { value: runner.cluster.clusterName });
    new CfnOutput(this, 'KeyArn', { value: key.key.keyArn, description: 'The KMS key of the age vaultra-kms stanza' });
    new CfnOutput(this, 'DedupKeySecretArn', {
      value: dedupKey.secret.secretArn,
      description: 'The dedup key every runner shares (VAULTRA_DEDUP_KEY): a vaultra outside the stack that backs up into these jobs needs the same one',
    });
    new CfnOutput(this, 'SigningKeyArn', { value: signingKey.key.keyArn, description: 'Signs every manifest: restore with --trust aws-kms:<this> (needs kms:GetPublicKey), or put its public key in signing.trusted' });
  }

  /**
   * Two AZs as `Fn::GetAZs` picks, never a context lookup: with an account in the config a lookup
   * would need AWS credentials at synth.
   */
  override get availabilityZones(): string[] {
    return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }
}

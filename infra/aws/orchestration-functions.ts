import { Duration, Fn, Stack } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AWS_FUNCTION_ENTRIES, AWS_FUNCTION_ENV, awsNames, METRICS_NAMESPACE, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import type { BackupBucket } from './backup-bucket.js';
import type { CatalogTable } from './catalog-table.js';
import type { AwsEnvironment } from './deployment-config.js';
import { functionBundling } from './function-bundling.js';
import { acknowledgeWildcardResource } from './nag.js';
import type { RunnerNetwork } from './network.js';
import { catalogStatement, keyStatement, prefixListStatement, prefixObjectsStatement, publishStatement, secretsStatement } from './policy-statements.js';
import type { RunnerTask } from './runner-task.js';
import type { DrillTasks } from './drill-tasks.js';
import { awsSecretArns, webhookSecretReferences } from './secret-arns.js';
import { VaultraFunction } from './vaultra-function.js';

export interface OrchestrationFunctionsProps {
  readonly environment: AwsEnvironment;
  /** `bundledEnvironmentJson(configText, environment.name)`: compiled into every function. */
  readonly configJson: string;
  readonly key: IKey;
  /** The manifest signing key: its ARN reaches the runner's command line (`--signing-key`, `--trust`); the functions never use it. */
  readonly signingKey: IKey;
  readonly bucket: BackupBucket;
  readonly catalog: CatalogTable;
  readonly topic: ITopic;
  readonly runner: RunnerTask;
  /** The jobs' drill tasks: the scheduled function starts them. */
  readonly drills: DrillTasks;
  readonly network: RunnerNetwork;
}

/**
 * The functions use the key for the encrypted table (DynamoDB asks KMS on the caller's behalf),
 * for publishing to the encrypted topic, and for reading SSE-KMS objects.
 */
const FUNCTION_KEY_ACTIONS = ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];

/**
 * The four functions of DESIGN.md §1 — scheduled-backup, task-finished, watchdog, api — each with
 * a role holding only what its use case does. All get the same environment variables (the names
 * in `AWS_FUNCTION_ENV`), so a handler can build its deployment the same way in each.
 */
export class OrchestrationFunctions extends Construct {
  readonly scheduledBackup: VaultraFunction;
  readonly taskFinished: VaultraFunction;
  readonly watchdog: VaultraFunction;
  readonly api: VaultraFunction;
  /** The variables every function gets (names in `AWS_FUNCTION_ENV`): the inline functions get them too. */
  readonly variables: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: OrchestrationFunctionsProps) {
    super(scope, id);
    const { environment, bucket, catalog, key, topic, runner, drills, network } = props;
    const drillTaskDefinitions = drills.taskDefinitionsJson();
    const variables: Record<string, string> = {
      [AWS_FUNCTION_ENV.environmentName]: environment.name,
      [AWS_FUNCTION_ENV.tableName]: catalog.table.tableName,
      [AWS_FUNCTION_ENV.bucketName]: bucket.bucket.bucketName,
      [AWS_FUNCTION_ENV.topicArn]: topic.topicArn,
      [AWS_FUNCTION_ENV.keyArn]: key.keyArn,
      [AWS_FUNCTION_ENV.signingKeyArn]: props.signingKey.keyArn,
      [AWS_FUNCTION_ENV.clusterArn]: runner.cluster.clusterArn,
      [AWS_FUNCTION_ENV.taskDefinitionArn]: runner.taskDefinition.taskDefinitionArn,
      [AWS_FUNCTION_ENV.restoreTaskRoleArn]: runner.restoreRole.roleArn,
      [AWS_FUNCTION_ENV.containerName]: RUNNER_CONTAINER_NAME,
      ...(drillTaskDefinitions ? { [AWS_FUNCTION_ENV.drillTaskDefinitions]: drillTaskDefinitions } : {}),
      [AWS_FUNCTION_ENV.subnetIds]: Fn.join(',', network.subnetIds),
      [AWS_FUNCTION_ENV.securityGroupIds]: Fn.join(',', network.securityGroupIds),
      [AWS_FUNCTION_ENV.assignPublicIp]: network.assignPublicIp ? 'ENABLED' : 'DISABLED',
      // Powertools adds `service` to every metric as a default dimension: the alarms expect 'vaultra'.
      POWERTOOLS_SERVICE_NAME: 'vaultra',
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      NODE_OPTIONS: '--enable-source-maps',
    };
    this.variables = variables;
    const common = { environment: variables, bundling: functionBundling(props.configJson), key, logRetentionDays: environment.runner.logRetentionDays };
    const name = environment.name;

    this.scheduledBackup = new VaultraFunction(this, 'ScheduledBackup', {
      ...common,
      entry: AWS_FUNCTION_ENTRIES.scheduledBackup,
      description: `Vaultra ${name}: a job's schedule fired; record the run, take the lock, start the runner task`,
      // RunTask is retried with backoff on throttling and Fargate capacity shortages.
      timeout: Duration.minutes(2),
    });
    this.taskFinished = new VaultraFunction(this, 'TaskFinished', {
      ...common,
      entry: AWS_FUNCTION_ENTRIES.taskFinished,
      description: `Vaultra ${name}: a runner task stopped; finalize its run, apply retention, alert on failure`,
      // Retention deletes every object of each expired run folder.
      timeout: Duration.minutes(5),
    });
    this.watchdog = new VaultraFunction(this, 'Watchdog', {
      ...common,
      entry: AWS_FUNCTION_ENTRIES.watchdog,
      description: `Vaultra ${name}: hourly RPO and stuck-run check, publishes seconds since last success`,
      timeout: Duration.minutes(5),
    });
    this.api = new VaultraFunction(this, 'Api', {
      ...common,
      // Named, not generated: `vaultra tui` derives it from the environment's name to invoke it.
      functionName: awsNames.apiFunction(name),
      entry: AWS_FUNCTION_ENTRIES.api,
      description: `Vaultra ${name}: on-demand backup, restore, verify, list, status (aws lambda invoke, IAM-authorized)`,
      timeout: Duration.minutes(2),
    });

    const webhookSecrets = secretsStatement(awsSecretArns(Stack.of(this), webhookSecretReferences(environment)));
    const prefixReason = `Run folders are ${bucket.prefix}/<job>/<YYYY>/<MM>/<DD>/<runId>/ with run ids made at run time: access is limited to objects under the Vaultra prefix, the narrowest pattern that names them.`;

    // scheduled-backup: run record and lock, RunTask (backups, and the drill tasks under the drill
    // role: it cannot pass the restore role), alerts when a run is skipped or cannot start.
    const scheduled = this.scheduledBackup.role;
    scheduled.addToPolicy(catalogStatement(catalog));
    runner.grantLaunch(scheduled, 'backups');
    drills.grantLaunch(scheduled, runner);
    scheduled.addToPolicy(publishStatement(topic));
    scheduled.addToPolicy(keyStatement(key, FUNCTION_KEY_ACTIONS));
    for (const statement of webhookSecrets) scheduled.addToPolicy(statement);

    // task-finished: finalize the run, check the run folder, apply retention (deletes run folders), alert.
    const finished = this.taskFinished.role;
    finished.addToPolicy(catalogStatement(catalog));
    const retentionObjectActions = ['s3:GetObject', 's3:DeleteObject'];
    // With Object Lock a retention delete removes the object's versions (a delete marker would hide a locked backup) and reads why a version is refused.
    if (bucket.objectLock) retentionObjectActions.push('s3:GetObjectVersion', 's3:DeleteObjectVersion', 's3:GetObjectRetention');
    finished.addToPolicy(prefixObjectsStatement(bucket, retentionObjectActions));
    finished.addToPolicy(prefixListStatement(bucket, bucket.objectLock ? ['s3:ListBucket', 's3:ListBucketVersions'] : ['s3:ListBucket']));
    finished.addToPolicy(publishStatement(topic));
    finished.addToPolicy(keyStatement(key, FUNCTION_KEY_ACTIONS));
    for (const statement of webhookSecrets) finished.addToPolicy(statement);
    acknowledgeWildcardResource(finished, bucket.prefixObjectsArn, prefixReason);

    // watchdog: reads runs, fails stuck ones (conditional put, lock release), alerts.
    const watchdog = this.watchdog.role;
    watchdog.addToPolicy(catalogStatement(catalog));
    watchdog.addToPolicy(publishStatement(topic));
    watchdog.addToPolicy(keyStatement(key, FUNCTION_KEY_ACTIONS));
    for (const statement of webhookSecrets) watchdog.addToPolicy(statement);

    // api: catalog queries and records, RunTask for backup/restore/verify now (restores and
    // verifies under the restore role), and the same alerts as a scheduled start (an on-demand
    // backup can be skipped or fail to launch). It never reads backups itself: restores and
    // verifies run in the runner task.
    const api = this.api.role;
    api.addToPolicy(catalogStatement(catalog));
    runner.grantLaunch(api, 'backups-and-restores');
    api.addToPolicy(publishStatement(topic));
    api.addToPolicy(keyStatement(key, FUNCTION_KEY_ACTIONS));
    for (const statement of webhookSecrets) api.addToPolicy(statement);
  }

  get all(): VaultraFunction[] {
    return [this.scheduledBackup, this.taskFinished, this.watchdog, this.api];
  }
}

import { Duration, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { AWS_FUNCTION_ENTRIES, AWS_FUNCTION_ENV, INLINE_RUNNER_PATH } from '../../core/platform/aws-deployment.js';
import { LAMBDA_MAX_INVOCATION_MS } from '../../core/config/inline-runtime.js';
import { ConfigError } from '../../core/errors.js';
import type { CatalogTable } from './catalog-table.js';
import type { AwsEnvironment } from './deployment-config.js';
import { functionBundling } from './function-bundling.js';
import type { RunnerNetwork } from './network.js';
import { publishStatement, secretsStatement } from './policy-statements.js';
import type { RunnerTask } from './runner-task.js';
import { awsSecretArns, webhookSecretReferences } from './secret-arns.js';
import { TOOLS_LAYER_LAMBDA_ARCHITECTURE, toolsLayer } from './tools-layer.js';
import { VaultraFunction } from './vaultra-function.js';

export interface InlineFunctionsProps {
  readonly environment: AwsEnvironment;
  /** `bundledEnvironmentJson(configText, environment.name)`: compiled into both functions. */
  readonly configJson: string;
  /** The variables every Vaultra function gets (`OrchestrationFunctions.variables`). */
  readonly variables: Readonly<Record<string, string>>;
  readonly key: IKey;
  readonly catalog: CatalogTable;
  readonly topic: ITopic;
  /** Whose backup and restore rights the functions get, and the task a failover starts. */
  readonly runner: RunnerTask;
  readonly network: RunnerNetwork;
  /** The environment's dedup key: the functions hand it to their runner, as ECS does to a task. */
  readonly dedupKey: ISecret;
  /** Settles the inline backup function's runs (retention included) under its own role: the only function it may invoke. */
  readonly taskFinished: IFunction;
  /** The api function: it hands inline jobs' on-demand runs to these functions, and may invoke these two only. */
  readonly api: VaultraFunction;
  /** The tools layer's zip. @default layers/dist/vaultra-tools-layer.zip */
  readonly toolsLayerZip?: string;
}

/**
 * Memory of the inline functions. Lambda gives CPU in proportion (1,769 MB is one vCPU): 2 GB is
 * a little over one vCPU, enough for a dump tool, zstd and the runner's encryption and upload
 * at once, at a third of the 1 vCPU / 2 GB Fargate runner's price per second (docs/inline-runs.md).
 */
export const INLINE_MEMORY_MIB = 2048;

/** /tmp of the inline functions: the runner's scratch (SQLite's snapshot file, the tools' option files). */
export const INLINE_EPHEMERAL_STORAGE_MIB = 2048;

/** Services that use the environment key on the inline backup function's behalf besides S3 and DynamoDB: SNS, for alerts to the encrypted topic. */
function snsViaService(stack: Stack): string {
  return `sns.${stack.region}.${stack.urlSuffix}`;
}

/**
 * The functions that run inline jobs (docs/inline-runs.md), created only for an environment with
 * `runtime: inline` jobs. A dedicated pair rather than the scheduled-backup function with the
 * layer: that function starts every other job's task in two minutes and 512 MB outside the VPC,
 * and must not hold backup rights; these run the runner itself, so they get the runner's network,
 * Lambda's full 15 minutes, 2 GB, the tools layer, the runner's bundle in their asset and the
 * runner's rights, split as on Fargate:
 *
 * - **backup**: the inline jobs' backup schedules target it. The runner task's backup rights,
 *   exactly (write-only: no direct `kms:Decrypt`, so it cannot read a backup; no version deletes),
 *   plus what it does as a scheduler (start the runner task on failover, alert) and the invoke
 *   that hands each ended run to task-finished, which settles it and applies retention.
 * - **restore**: the api function's restore and verify requests for inline jobs, run inline. The
 *   runner task's restore rights, exactly: it reads and decrypts, writes no backup, signs nothing.
 *
 * The api function gets the invoke of these two (and their names): an inline job's on-demand
 * runs go there, as its scheduled backups do, rather than to a task.
 */
export class InlineFunctions extends Construct {
  readonly backup: VaultraFunction;
  readonly restore: VaultraFunction;

  constructor(scope: Construct, id: string, props: InlineFunctionsProps) {
    super(scope, id);
    const { environment, topic, runner, network, dedupKey, taskFinished, api } = props;
    if (network.assignPublicIp) {
      throw new ConfigError(
        `environment ${environment.name} runs tasks in public subnets (network.assignPublicIp), where a Lambda function has no route out: give runtime: inline jobs private subnets with a NAT or VPC endpoints, or run them on Fargate`,
      );
    }
    const layer = toolsLayer(this, 'ToolsLayer', props.toolsLayerZip);
    const common = {
      environment: { ...props.variables, [AWS_FUNCTION_ENV.dedupKeySecretArn]: dedupKey.secretArn },
      bundling: withInlineRunner(functionBundling(props.configJson)),
      key: props.key,
      logRetentionDays: environment.runner.logRetentionDays,
      timeout: Duration.millis(LAMBDA_MAX_INVOCATION_MS),
      memorySizeMiB: INLINE_MEMORY_MIB,
      ephemeralStorageMiB: INLINE_EPHEMERAL_STORAGE_MIB,
      architecture: TOOLS_LAYER_LAMBDA_ARCHITECTURE,
      layers: [layer],
      // Where the runner task runs: the databases it backs up are reachable from there.
      network: { vpc: network.vpc, vpcSubnets: network.subnets, securityGroups: network.securityGroups },
    };
    const name = environment.name;
    this.backup = new VaultraFunction(this, 'Backup', {
      ...common,
      environment: { ...common.environment, [AWS_FUNCTION_ENV.taskFinishedFunction]: taskFinished.functionName },
      entry: AWS_FUNCTION_ENTRIES.inlineBackup,
      description: `Vaultra ${name}: back up a runtime: inline job inside this function (tools layer), or start it on Fargate when it no longer fits`,
    });
    this.restore = new VaultraFunction(this, 'Restore', {
      ...common,
      entry: AWS_FUNCTION_ENTRIES.inlineRestore,
      description: `Vaultra ${name}: restore or verify a runtime: inline job's backup inside this function (tools layer), under the restore identity`,
    });

    const backup = this.backup.role;
    runner.grantBackups(backup, [snsViaService(Stack.of(this))]);
    runner.grantLaunch(backup, 'backups');
    backup.addToPolicy(publishStatement(topic));
    for (const statement of secretsStatement(awsSecretArns(Stack.of(this), webhookSecretReferences(environment)))) backup.addToPolicy(statement);
    // Settling (and with it retention's deletes) is task-finished's: the hand-off is an invoke of
    // that one function, not of its versions, and nothing else.
    backup.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: [taskFinished.functionArn] }));
    dedupKey.grantRead(backup);

    const restore = this.restore.role;
    runner.grantRestores(restore);
    // A verify of a chunked snapshot checks each chunk's id with the dedup key.
    dedupKey.grantRead(restore);

    // The api function hands an inline job's on-demand backup, restore or verify to these two (an
    // asynchronous invoke): it may invoke them, not their versions, and nothing else; the runs'
    // rights stay with the functions' roles.
    api.function.addEnvironment(AWS_FUNCTION_ENV.inlineBackupFunction, this.backup.function.functionName);
    api.function.addEnvironment(AWS_FUNCTION_ENV.inlineRestoreFunction, this.restore.function.functionName);
    api.role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: [this.backup.function.functionArn, this.restore.function.functionArn] }));
  }
}

/**
 * The functions' bundling, plus the runner CLI bundled beside the handler (`INLINE_RUNNER_PATH`),
 * which the inline launcher starts as a child process: scripts/build-inline-runner.mjs.
 */
function withInlineRunner(bundling: BundlingOptions): BundlingOptions {
  return {
    ...bundling,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (inputDir: string, outputDir: string) => [`node "${inputDir}/scripts/build-inline-runner.mjs" "${outputDir}/${INLINE_RUNNER_PATH.replace(/\/[^/]+$/, '')}"`],
    },
  };
}

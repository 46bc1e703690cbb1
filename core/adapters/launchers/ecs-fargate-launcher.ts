import { ECSClient, RunTaskCommand, type RunTaskCommandInput } from '@aws-sdk/client-ecs';
import { TASK_RUN_ENV, type JobLauncher, type LaunchedTask, type LaunchRequest } from '../../ports/job-launcher.js';
import { LaunchFailedError } from '../../errors.js';
import { withRetries, type RetryPolicy } from '../retry.js';
import { awsErrorName } from '../aws/aws-errors.js';

export interface EcsFargateTarget {
  readonly clusterArn: string;
  readonly taskDefinitionArn: string;
  readonly containerName: string;
  readonly subnetIds: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly assignPublicIp: boolean;
  /**
   * The task role restores and verifies run as (`LaunchRequest.readsBackups`), passed as
   * `overrides.taskRoleArn`. Backups name no role and run as the task definition's own, write-only
   * one. Without it, a run that reads backups is refused.
   */
  readonly restoreTaskRoleArn?: string;
  /**
   * Each job's drill task definition (`LaunchRequest.drill`): the runner beside its scratch server,
   * its task role the drill role. A drill of a job not named here is refused.
   */
  readonly drillTaskDefinitionArns?: Readonly<Record<string, string>>;
}

/** RunTask refusals worth another try: throttling, a transient service fault, Fargate out of capacity. */
const RETRYABLE_EXCEPTIONS = new Set(['ThrottlingException', 'ServerException', 'ServiceUnavailableException', 'LimitExceededException', 'PlatformTaskDefinitionIncompatibilityException']);
const RETRYABLE_FAILURE = /capacity|RESOURCE:|throttl|AGENT/i;

const LAUNCH_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 15_000 };

/**
 * Starts the runner as a Fargate task (DESIGN.md §1): a backup as the task definition's
 * write-only task role, a restore or verify as the restore role. The run id is the RunTask `clientToken`,
 * so a retried call after a lost answer returns the task already started instead of a second
 * one. Throttling and capacity shortages are retried with jittered backoff; anything else (a
 * bad task definition, missing permission) fails at once with the service's reason.
 */
export class EcsFargateLauncher implements JobLauncher {
  constructor(
    private readonly target: EcsFargateTarget,
    private readonly client: Pick<ECSClient, 'send'> = new ECSClient({}),
    private readonly policy: RetryPolicy = LAUNCH_RETRY_POLICY,
  ) {}

  async launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchedTask> {
    const input = request.drill ? this.runTaskInput(request, undefined, this.drillTaskDefinitionOf(request.job)) : this.runTaskInput(request, this.taskRoleOf(request));
    return withRetries(() => this.runTask(input, signal), { policy: this.policy, ...(signal ? { signal } : {}) });
  }

  /** The restore role for a run that reads backups; none (the task definition's backup role) otherwise. */
  private taskRoleOf(request: LaunchRequest): string | undefined {
    if (!request.readsBackups) return undefined;
    if (!this.target.restoreTaskRoleArn) {
      throw new LaunchFailedError('cannot start a restore or verify: the deployment names no restore task role (VAULTRA_RESTORE_TASK_ROLE_ARN); redeploy the Vaultra stack, which creates it', false);
    }
    return this.target.restoreTaskRoleArn;
  }

  /** A drill runs as its task definition's own role (the drill role), never with an override. */
  private drillTaskDefinitionOf(job: string): string {
    const arn = this.target.drillTaskDefinitionArns?.[job];
    if (!arn) throw new LaunchFailedError(`cannot start a drill of ${job}: the deployment has no drill task for it (VAULTRA_DRILL_TASK_DEFINITIONS); add drill.schedule to the job and redeploy the Vaultra stack`, false);
    return arn;
  }

  private runTaskInput(request: LaunchRequest, taskRoleArn: string | undefined, taskDefinition = this.target.taskDefinitionArn): RunTaskCommandInput {
    const environment = { ...request.environment, [TASK_RUN_ENV.job]: request.job, [TASK_RUN_ENV.runId]: request.runId };
    return {
      cluster: this.target.clusterArn,
      taskDefinition,
      launchType: 'FARGATE',
      count: 1,
      clientToken: request.runId,
      startedBy: 'vaultra',
      networkConfiguration: {
        awsvpcConfiguration: {
          subnets: [...this.target.subnetIds],
          securityGroups: [...this.target.securityGroupIds],
          assignPublicIp: this.target.assignPublicIp ? 'ENABLED' : 'DISABLED',
        },
      },
      overrides: {
        containerOverrides: [
          {
            name: this.target.containerName,
            command: [...request.command],
            environment: Object.entries(environment).map(([name, value]) => ({ name, value })),
          },
        ],
        ...(request.cpu ? { cpu: String(request.cpu) } : {}),
        ...(request.memoryMiB ? { memory: String(request.memoryMiB) } : {}),
        ...(taskRoleArn ? { taskRoleArn } : {}),
      },
    };
  }

  private async runTask(input: RunTaskCommandInput, signal?: AbortSignal): Promise<LaunchedTask> {
    let output;
    try {
      output = await this.client.send(new RunTaskCommand(input), { abortSignal: signal });
    } catch (error) {
      const name = awsErrorName(error);
      throw new LaunchFailedError(`ECS RunTask failed: ${name}: ${(error as Error).message}`, RETRYABLE_EXCEPTIONS.has(name), { cause: error });
    }
    const task = output.tasks?.[0];
    if (task?.taskArn) return { taskId: task.taskArn };
    const reasons = (output.failures ?? []).map((failure) => [failure.reason, failure.detail].filter(Boolean).join(': ')).join('; ') || 'no task and no reason returned';
    throw new LaunchFailedError(`ECS RunTask started no task: ${reasons}`, RETRYABLE_FAILURE.test(reasons));
  }
}

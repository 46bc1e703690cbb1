import type { Container, ContainerAppsAPIClient, ContainerResources, EnvironmentVar, JobExecutionBase, JobExecutionContainer, JobExecutionTemplate, JobsStartOptionalParams } from '@azure/arm-appcontainers';
import { TASK_RUN_ENV, type JobLauncher, type LaunchedTask, type LaunchRequest } from '../../ports/job-launcher.js';
import { LaunchFailedError } from '../../errors.js';
import { withRetries, type RetryPolicy } from '../retry.js';
import { describeAzureError, isAbort, isCredentialError, isRetryableAzureError, statusOf } from '../azure/azure-errors.js';
import { containerAppsDrillJobName } from './container-apps-drill-job.js';

/** The Container Apps job that runs the runner (created by the Terraform module). */
export interface ContainerAppsJobTarget {
  readonly resourceGroup: string;
  readonly jobName: string;
  /**
   * The Container Apps job restores and verifies run on (`LaunchRequest.readsBackups`): the same
   * container under the restore identity, the only one that may read and unwrap backups; the
   * runner job's identity is write-only. Without it, a run that reads backups is refused.
   * @default none
   */
  readonly restoreJobName?: string;
  /** The runner's container in the job's template. @default 'runner' */
  readonly containerName?: string;
}

/** What the launcher uses of the ARM client: read the job, start an execution. */
export type ContainerAppsJobsClient = Pick<ContainerAppsAPIClient, 'jobs'>;

export const RUNNER_CONTAINER = 'runner';

const LAUNCH_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 15_000 };
/** How long the job's definition (image, entrypoint, base environment) is reused before it is read again: a redeployed image is picked up within this. */
const DEFINITION_TTL_MS = 10 * 60_000;

interface RunnerDefinition {
  readonly runner: Container;
  /** The job's other containers (a drill job's scratch server), started as defined. */
  readonly sidecars: readonly Container[];
  readonly initContainers: readonly Container[];
}

/**
 * Starts the runner as an execution of a Container Apps job (DESIGN.md §1), with a template
 * override carrying the run's command line and environment.
 *
 * A start with a template replaces the job's containers for that execution, so the override
 * must repeat what the job defines: the launcher reads the job once (`jobs.get`, cached for
 * ten minutes so a new image is picked up), and keeps the runner container's image, entrypoint,
 * environment (secret references included) and size, replacing only the arguments, adding the
 * run's variables and, when the job asks, its size. Init containers and the job's other
 * containers are carried over as defined.
 *
 * A restore or verify (`request.readsBackups`) starts the restore job instead (the same
 * container under the restore identity; the runner job's identity is write-only), and is refused
 * when the deployment names none. A drill (`request.drill`) starts the config job's own drill job
 * (`containerAppsDrillJobName`: the runner beside its scratch server, under the drill identity),
 * at the size its definition splits between the two containers: the run's size is not applied.
 *
 * It returns once ARM has accepted the start (the execution's name comes in the first answer);
 * it never follows the long-running operation, since the execution runs for as long as the
 * backup does: completion is the tracker's business. Throttling (429), 5xx and network faults
 * are retried with jittered backoff; give it a client with the SDK's own retries off
 * (`retryOptions: { maxRetries: 0 }`), or they multiply these. Container Apps has no client
 * token (ECS's `clientToken`): a start whose answer is lost and
 * is retried may start a second execution of the same run, which the runner refuses (the run
 * is claimed once) and the tracker ranks below the one that runs.
 */
export class ContainerAppsJobLauncher implements JobLauncher {
  /** Per Container Apps job: the runner's, the restore job's and each drill job read so far. */
  private readonly definitions = new Map<string, { readonly value: Promise<RunnerDefinition>; readonly readAt: number }>();

  constructor(
    private readonly target: ContainerAppsJobTarget,
    private readonly client: ContainerAppsJobsClient,
    private readonly policy: RetryPolicy = LAUNCH_RETRY_POLICY,
    private readonly now: () => number = Date.now,
  ) {}

  async launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchedTask> {
    const jobName = this.jobNameOf(request);
    const size = request.drill ? {} : request;
    return withRetries(
      async () => {
        const definition = await this.runnerDefinition(jobName, signal);
        return this.start(jobName, this.template(definition, request, size), signal);
      },
      { policy: this.policy, ...(signal ? { signal } : {}) },
    );
  }

  /**
   * A Container Apps execution cannot switch identity, so the identity is chosen by choosing the
   * job: the drill job (drill identity), the restore job (restore identity) for a run that reads
   * backups, the runner job (write-only backup identity) for the rest.
   */
  private jobNameOf(request: LaunchRequest): string {
    if (request.drill) return containerAppsDrillJobName(this.target.jobName, request.job);
    if (!request.readsBackups) return this.target.jobName;
    if (!this.target.restoreJobName) {
      throw new LaunchFailedError('cannot start a restore or verify: the deployment names no restore job (VAULTRA_CONTAINER_APPS_RESTORE_JOB); run terraform apply with the Vaultra module again, which creates it', false);
    }
    return this.target.restoreJobName;
  }

  private get containerName(): string {
    return this.target.containerName ?? RUNNER_CONTAINER;
  }

  /** What a 404 means: the runner's or restore job misnamed, or a drill job Terraform has not made. */
  private notFoundHint(jobName: string): string {
    if (jobName === this.target.jobName) return 'no such job: check VAULTRA_CONTAINER_APPS_JOB and VAULTRA_AZURE_RESOURCE_GROUP';
    if (jobName === this.target.restoreJobName) return 'no such job: check VAULTRA_CONTAINER_APPS_RESTORE_JOB, or run terraform apply, which creates it';
    return 'no drill job for this config job: give it drill.schedule and run terraform apply, which creates it';
  }

  private runnerDefinition(jobName: string, signal?: AbortSignal): Promise<RunnerDefinition> {
    const cached = this.definitions.get(jobName);
    if (cached && this.now() - cached.readAt < DEFINITION_TTL_MS) return cached.value;
    const value = this.readDefinition(jobName, signal);
    const entry = { value, readAt: this.now() };
    this.definitions.set(jobName, entry);
    // A failed read is not cached: the next launch reads again.
    value.catch(() => {
      if (this.definitions.get(jobName) === entry) this.definitions.delete(jobName);
    });
    return value;
  }

  private async readDefinition(jobName: string, signal?: AbortSignal): Promise<RunnerDefinition> {
    const { resourceGroup } = this.target;
    let job;
    try {
      job = await this.client.jobs.get(resourceGroup, jobName, signal ? { abortSignal: signal } : {});
    } catch (error) {
      throw launchError(error, `reading job ${jobName} in resource group ${resourceGroup}`, this.notFoundHint(jobName));
    }
    const containers = job.template?.containers ?? [];
    const runner = containers.find((container) => container.name === this.containerName);
    if (!runner) {
      throw new LaunchFailedError(
        `Container Apps job ${jobName} has no container named ${this.containerName} (it has ${containers.map((container) => container.name).join(', ') || 'none'}): the runner's container must be named ${this.containerName}`,
        false,
      );
    }
    if (!runner.image) throw new LaunchFailedError(`Container Apps job ${jobName}: container ${this.containerName} names no image`, false);
    return { runner, sidecars: containers.filter((container) => container !== runner), initContainers: job.template?.initContainers ?? [] };
  }

  private template({ runner, sidecars, initContainers }: RunnerDefinition, request: LaunchRequest, size: Pick<LaunchRequest, 'cpu' | 'memoryMiB'>): JobExecutionTemplate {
    const runEnvironment: Record<string, string> = { ...request.environment, [TASK_RUN_ENV.job]: request.job, [TASK_RUN_ENV.runId]: request.runId };
    const env: EnvironmentVar[] = [
      ...(runner.env ?? []).filter((variable) => variable.name === undefined || !(variable.name in runEnvironment)),
      ...Object.entries(runEnvironment).map(([name, value]) => ({ name, value })),
    ];
    const resources = sized(runner.resources, size.cpu, size.memoryMiB);
    const container: JobExecutionContainer = {
      name: this.containerName,
      image: runner.image!,
      ...(runner.command?.length ? { command: [...runner.command] } : {}),
      args: [...request.command],
      env,
      ...(resources ? { resources } : {}),
    };
    return { containers: [container, ...sidecars.map(executionContainer)], ...(initContainers.length > 0 ? { initContainers: initContainers.map(executionContainer) } : {}) };
  }

  private async start(jobName: string, template: JobExecutionTemplate, signal?: AbortSignal): Promise<LaunchedTask> {
    const { resourceGroup } = this.target;
    // The execution's name is in ARM's first answer (202 Accepted); the operation it starts is
    // not followed. An error after that answer (the SDK's first status poll) changes nothing:
    // the execution exists.
    let accepted: JobExecutionBase | undefined;
    const onResponse: JobsStartOptionalParams['onResponse'] = (raw, body) => {
      if (raw.request.method === 'POST' && raw.status >= 200 && raw.status < 300) accepted = (body ?? {}) as JobExecutionBase;
    };
    try {
      await this.client.jobs.beginStart(resourceGroup, jobName, { template, onResponse, ...(signal ? { abortSignal: signal } : {}) });
    } catch (error) {
      if (!accepted) throw launchError(error, `starting job ${jobName} in resource group ${resourceGroup}`, this.notFoundHint(jobName));
    }
    const name = accepted?.name ?? accepted?.id?.split('/').pop();
    if (!name) throw new LaunchFailedError(`Container Apps accepted the start of job ${jobName} but named no execution`, false);
    return { taskId: name };
  }
}

/**
 * The job's size, or the run's when it asks for one (Fargate-style CPU units → cores, MiB → Gi).
 * Only CPU and memory: the rest of `resources` is the platform's to report, not to set.
 */
function sized(defined: ContainerResources | undefined, cpuUnits?: number, memoryMiB?: number): ContainerResources | undefined {
  const cpu = cpuUnits ? cpuUnits / 1024 : defined?.cpu;
  const memory = memoryMiB ? `${Number((memoryMiB / 1024).toFixed(4))}Gi` : defined?.memory;
  if (cpu === undefined && memory === undefined) return undefined;
  return { ...(cpu === undefined ? {} : { cpu }), ...(memory === undefined ? {} : { memory }) };
}

function executionContainer(container: Container): JobExecutionContainer {
  const resources = sized(container.resources);
  return {
    ...(container.name ? { name: container.name } : {}),
    ...(container.image ? { image: container.image } : {}),
    ...(container.command ? { command: container.command } : {}),
    ...(container.args ? { args: container.args } : {}),
    ...(container.env ? { env: container.env } : {}),
    ...(resources ? { resources } : {}),
  };
}

/** ARM's refusal as a `LaunchFailedError` naming the call, the status and ARM's code; aborts pass through. */
function launchError(error: unknown, doing: string, notFoundHint: string): unknown {
  if (isAbort(error) || error instanceof LaunchFailedError) return error;
  const status = statusOf(error);
  const hint =
    status === 401 || status === 403 || isCredentialError(error)
      ? ' (the function app\'s managed identity needs Microsoft.App/jobs/read and Microsoft.App/jobs/start/action on the job)'
      : status === 404
        ? ` (${notFoundHint})`
        : '';
  return new LaunchFailedError(`Container Apps ${doing} failed: ${describeAzureError(error)}${hint}`, isRetryableAzureError(error), { cause: error });
}

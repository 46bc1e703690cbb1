import type { ContainerAppsAPIClient, JobExecution } from '@azure/arm-appcontainers';
import type { ExecutionState, ExecutionStatus, ExecutionTracker } from '../../ports/execution-tracker.js';
import { ConfigError, NotFoundError, StorageError } from '../../errors.js';
import { describeAzureError, isAbort, isCredentialError, isRetryableAzureError, statusOf } from '../azure/azure-errors.js';
import { RUNNER_CONTAINER, type ContainerAppsJobTarget } from './container-apps-job-launcher.js';
import { TASK_RUN_ENV } from '../../ports/job-launcher.js';

/** What the tracker uses of the ARM client: the job's executions. */
export type ContainerAppsExecutionsClient = Pick<ContainerAppsAPIClient, 'jobsExecutions'>;

/**
 * Container Apps execution states → the tracker's. `Unknown` (and a state this code does not
 * know yet) counts as running: a run is only settled on a state that says it ended, and one
 * that never ends is the watchdog's (its timeout).
 */
const STATES: Readonly<Record<string, ExecutionState>> = {
  Running: 'running',
  Processing: 'running',
  Unknown: 'running',
  Succeeded: 'succeeded',
  Failed: 'failed',
  Stopped: 'failed',
  Degraded: 'failed',
};

/** When one run has several executions (a retried start), the one that says most about the run wins. */
const RANK: Readonly<Record<ExecutionState, number>> = { failed: 0, succeeded: 1, running: 2 };

/**
 * How the executions the `ContainerAppsJobLauncher` started are doing (DESIGN.md §1: Azure has
 * no task-stopped event, so the reconciler asks). Lists the job's executions (all pages; Container
 * Apps keeps the most recent ones, about a hundred) and matches each to a run by the
 * `VAULTRA_RUN_ID` the launcher put in the runner container's environment; executions without
 * it (started by hand, or by something else) are ignored.
 *
 * Restores and verifies run as executions of the restore job (`target.restoreJobName`), drills
 * as executions of their own jobs (`containerAppsDrillJobName`): the tracker lists those too,
 * after the runner's, for the runs not found yet; a drill job that does not exist lists nothing.
 *
 * Container Apps reports no exit code: a `Succeeded` execution counts as exit 0 and the others
 * as non-zero, and the reason says what the platform said. A run with several executions (a
 * start retried after a lost answer: the runner of the second one refuses the claimed run)
 * reports the one still running, else the one that succeeded, else a failed one.
 */
export class ContainerAppsExecutionTracker implements ExecutionTracker {
  constructor(
    private readonly target: ContainerAppsJobTarget,
    private readonly client: ContainerAppsExecutionsClient,
    private readonly drillJobNames: readonly string[] = [],
  ) {}

  async statusOf(runIds: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, ExecutionStatus>> {
    const found = new Map<string, ExecutionStatus>();
    if (runIds.length === 0) return found;
    const wanted = new Set(runIds);
    const jobNames = [this.target.jobName, ...(this.target.restoreJobName ? [this.target.restoreJobName] : []), ...this.drillJobNames];
    for (const jobName of jobNames) {
      // A run's executions are all of one job: once every run is found, the other jobs are not listed.
      if (found.size === wanted.size) break;
      await this.collect(jobName, wanted, found, signal);
    }
    return found;
  }

  private async collect(jobName: string, wanted: ReadonlySet<string>, found: Map<string, ExecutionStatus>, signal?: AbortSignal): Promise<void> {
    const { resourceGroup } = this.target;
    try {
      for await (const execution of this.client.jobsExecutions.list(resourceGroup, jobName, signal ? { abortSignal: signal } : {})) {
        const runId = this.runIdOf(execution);
        if (!runId || !wanted.has(runId) || !execution.name) continue;
        const status = executionStatus(execution, runId, execution.name);
        const seen = found.get(runId);
        if (!seen || RANK[status.state] > RANK[seen.state]) found.set(runId, status);
      }
    } catch (error) {
      // A restore or drill job not made yet (an apply that failed half-way) has no execution to find; it must
      // not keep every backup from being settled. The runner's job missing is a deployment fault.
      if (jobName !== this.target.jobName && statusOf(error) === 404) return;
      throw trackerError(error, `listing the executions of Container Apps job ${jobName} in resource group ${resourceGroup}`);
    }
  }

  private runIdOf(execution: JobExecution): string | undefined {
    const containers = execution.template?.containers ?? [];
    const runner = containers.find((container) => container.name === (this.target.containerName ?? RUNNER_CONTAINER));
    return runner?.env?.find((variable) => variable.name === TASK_RUN_ENV.runId)?.value;
  }
}

function executionStatus(execution: JobExecution, runId: string, name: string): ExecutionStatus {
  const platformState = execution.status ?? 'Unknown';
  const state = STATES[platformState] ?? 'running';
  const finishedAt = state === 'running' ? undefined : execution.endTime?.toISOString();
  return {
    runId,
    taskId: name,
    state,
    ...(state === 'running' ? {} : { reason: `Container Apps execution ${name} ended ${platformState}` }),
    ...(finishedAt ? { finishedAt } : {}),
  };
}

function trackerError(error: unknown, doing: string): unknown {
  if (isAbort(error)) return error;
  const status = statusOf(error);
  if (status === 404) return new NotFoundError(`${doing} failed: ${describeAzureError(error)} (check VAULTRA_CONTAINER_APPS_JOB and VAULTRA_AZURE_RESOURCE_GROUP)`, { cause: error });
  if (status === 401 || status === 403 || isCredentialError(error)) {
    return new ConfigError(`${doing} failed: ${describeAzureError(error)} (the function app's managed identity needs Microsoft.App/jobs/executions/read on the job)`, { cause: error });
  }
  return new StorageError(`${doing} failed: ${describeAzureError(error)}`, isRetryableAzureError(error), { cause: error });
}

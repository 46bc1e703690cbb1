import type { protos } from '@google-cloud/run';
import type { ExecutionState, ExecutionStatus, ExecutionTracker } from '../../ports/execution-tracker.js';
import { ConfigError, StorageError } from '../../errors.js';
import { redact } from '../../domain/redact.js';
import { abortable } from '../abortable.js';
import { GrpcCode } from '../gcp/grpc-calls.js';
import { lazyGoogleClient } from '../gcp/google-credentials.js';
import { TASK_RUN_ENV } from '../../ports/job-launcher.js';
import type { CloudRunClientOptions } from './cloud-run-job-launcher.js';
import { googleApiError } from './cloud-run-errors.js';

type Execution = protos.google.cloud.run.v2.IExecution;
type ListExecutionsRequest = protos.google.cloud.run.v2.IListExecutionsRequest;
type Condition = protos.google.cloud.run.v2.ICondition;

/** What the tracker needs of `ExecutionsClient` (`@google-cloud/run`): tests hand in a client on a local REST server. */
export interface CloudRunExecutionsApi {
  listExecutions(request: ListExecutionsRequest, options: { autoPaginate: false }): Promise<[Execution[], ListExecutionsRequest | null, ...unknown[]]>;
}

export interface CloudRunExecutionTrackerOptions {
  /** Executions asked for per page. @default 50 */
  readonly pageSize?: number;
  /** Pages read at most per call: the tracker looks at the newest `pageSize × maxPages` executions. @default 4 */
  readonly maxPages?: number;
}

/** A Condition's state, as the client decodes it (a name) or as sent with `enum-encoding=int` (a number). */
const CONDITION_SUCCEEDED = new Set<unknown>(['CONDITION_SUCCEEDED', 4]);
const CONDITION_FAILED = new Set<unknown>(['CONDITION_FAILED', 3]);
const RETRYABLE_CODES = new Set<number>([GrpcCode.UNAVAILABLE, GrpcCode.DEADLINE_EXCEEDED, GrpcCode.RESOURCE_EXHAUSTED]);

/**
 * How the runner executions of one Cloud Run job are doing, for the reconcile function (Cloud
 * Run Jobs emit no task-stopped event the functions could subscribe to without Eventarc and
 * audit logs; a schedule that asks is simpler and loses nothing).
 *
 * - Lists the job's executions (`ListExecutions`, `pageSize` per page, at most `maxPages` pages,
 *   stopping once every run asked for is found): a run older than that window is left to the
 *   watchdog's timeout, like a run with no execution at all.
 * - Matches an execution to a run by `VAULTRA_RUN_ID` in its template's container env. RunJob's
 *   overrides are "applied to update the execution or task spec" (Cloud Run Admin API v2,
 *   `RunJobRequest.overrides`), and `Execution.template` is "the template used to create tasks
 *   for this execution", so the run id the launcher put in the overrides is there. When a retried
 *   RunJob started two executions of one run (the second runner refuses the claimed run id and
 *   exits), a running one wins (the run is not over), then a succeeded one, then the newest.
 * - Ended: `completionTime` is set, or the `Completed` condition is `CONDITION_SUCCEEDED` or
 *   `CONDITION_FAILED`. Succeeded: the `Completed` condition succeeded (without one, every task
 *   succeeded and none failed or was cancelled). The reason of a failure is the failed
 *   conditions' messages and execution reasons (`NON_ZERO_EXIT_CODE`, `CANCELLED`…).
 * - No exit code: an execution does not report its tasks' exit codes (each Task's
 *   `lastAttemptResult` does); a failed execution counts as a non-zero exit.
 */
export class CloudRunExecutionTracker implements ExecutionTracker {
  readonly #executionsClient: () => Promise<CloudRunExecutionsApi>;
  readonly #pageSize: number;
  readonly #maxPages: number;

  /**
   * @param jobName `projects/<p>/locations/<region>/jobs/<job>`: the job the launcher runs
   * @param client an `ExecutionsClient` (tests), or the options to build one with on first use
   *   @default `new ExecutionsClient()` (gRPC, Application Default Credentials)
   */
  constructor(
    readonly jobName: string,
    client?: CloudRunExecutionsApi | CloudRunClientOptions,
    options: CloudRunExecutionTrackerOptions = {},
  ) {
    if (!/^projects\/[^/]+\/locations\/[^/]+\/jobs\/[^/]+$/.test(jobName)) throw new ConfigError(`"${jobName}" is not a Cloud Run job name: expected projects/<project>/locations/<region>/jobs/<job>`);
    this.#pageSize = options.pageSize ?? 50;
    this.#maxPages = options.maxPages ?? 4;
    if (!(Number.isInteger(this.#pageSize) && this.#pageSize >= 1 && this.#pageSize <= 1000)) throw new ConfigError(`pageSize must be 1-1000, got ${this.#pageSize}`);
    if (!(Number.isInteger(this.#maxPages) && this.#maxPages >= 1)) throw new ConfigError(`maxPages must be a positive whole number, got ${this.#maxPages}`);
    if (client && typeof (client as CloudRunExecutionsApi).listExecutions === 'function') {
      const given = Promise.resolve(client as CloudRunExecutionsApi);
      this.#executionsClient = () => given;
    } else {
      const options = (client as CloudRunClientOptions | undefined) ?? {};
      this.#executionsClient = lazyGoogleClient(async () => new (await import('@google-cloud/run')).ExecutionsClient(options), { messagePrefix: 'no Google Cloud credentials: ' });
    }
  }

  async statusOf(runIds: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, ExecutionStatus>> {
    const wanted = new Set(runIds);
    const found = new Map<string, Found>();
    if (wanted.size === 0) return new Map();
    let request: ListExecutionsRequest | null = { parent: this.jobName, pageSize: this.#pageSize };
    for (let page = 0; request && page < this.#maxPages; page++) {
      let executions: Execution[];
      try {
        const client = await this.#executionsClient();
        [executions, request] = await abortable(client.listExecutions(request, { autoPaginate: false }), signal);
      } catch (error) {
        if (signal?.aborted) throw error;
        const { code, status, message } = googleApiError(error);
        throw new StorageError(`listing the executions of Cloud Run job ${this.jobName} failed: ${status}: ${message}`, code !== undefined && RETRYABLE_CODES.has(code), { cause: error });
      }
      for (const execution of executions) {
        const runId = runIdOf(execution);
        if (!runId || !wanted.has(runId) || !execution.name) continue;
        const candidate = { status: statusOf(runId, execution), createdMs: timestampMs(execution.createTime) ?? 0 };
        const seen = found.get(runId);
        if (!seen || preferred(candidate, seen)) found.set(runId, candidate);
      }
      if (found.size === wanted.size) break;
    }
    return new Map([...found].map(([runId, { status }]) => [runId, status]));
  }

}

/** The `VAULTRA_RUN_ID` the launcher put in the execution's overrides, if any. */
function runIdOf(execution: Execution): string | undefined {
  for (const container of execution.template?.containers ?? []) {
    const value = container.env?.find((variable) => variable.name === TASK_RUN_ENV.runId)?.value;
    if (value) return value;
  }
  return undefined;
}

interface Found {
  readonly status: ExecutionStatus;
  readonly createdMs: number;
}

/** Whether `candidate` should replace what was found for its run (a retried RunJob started two executions). */
function preferred(candidate: Found, seen: Found): boolean {
  const rank = (found: Found) => (found.status.state === 'running' ? 2 : found.status.state === 'succeeded' ? 1 : 0);
  if (rank(candidate) !== rank(seen)) return rank(candidate) > rank(seen);
  return candidate.createdMs > seen.createdMs;
}

function statusOf(runId: string, execution: Execution): ExecutionStatus {
  const conditions = execution.conditions ?? [];
  const completed = conditions.find((condition) => condition.type === 'Completed');
  const completedAt = timestampMs(execution.completionTime);
  const ended = completedAt !== undefined || CONDITION_SUCCEEDED.has(completed?.state) || CONDITION_FAILED.has(completed?.state);
  const base = { runId, taskId: execution.name! };
  if (!ended) return { ...base, state: 'running' };
  const tasks = Math.max(1, execution.taskCount ?? 1);
  const succeeded = completed
    ? CONDITION_SUCCEEDED.has(completed.state)
    : (execution.succeededCount ?? 0) >= tasks && !execution.failedCount && !execution.cancelledCount;
  const state: ExecutionState = succeeded ? 'succeeded' : 'failed';
  const reason = succeeded ? undefined : failureReason(execution, conditions);
  return {
    ...base,
    state,
    ...(reason ? { reason } : {}),
    ...(completedAt === undefined ? {} : { finishedAt: new Date(completedAt).toISOString() }),
  };
}

/** `Completed: Task runner-x-task0 failed … (NON_ZERO_EXIT_CODE)`, from every failed condition. */
function failureReason(execution: Execution, conditions: readonly Condition[]): string {
  const parts = conditions
    .filter((condition) => CONDITION_FAILED.has(condition.state))
    .map((condition) => {
      const why = [condition.executionReason, condition.reason].find((value) => typeof value === 'string' && !/_UNDEFINED$/.test(value));
      return `${condition.type ?? 'condition'}: ${condition.message || 'failed'}${why ? ` (${String(why)})` : ''}`;
    });
  if (execution.cancelledCount) parts.push(`${execution.cancelledCount} task(s) cancelled`);
  if (parts.length === 0) parts.push(`${execution.failedCount ?? 0} of ${Math.max(1, execution.taskCount ?? 1)} task(s) failed`);
  return redact(parts.join('; ')).slice(0, 1000);
}

/** A protobuf Timestamp as the client decodes it (`seconds` a number, a decimal string or a Long). */
function timestampMs(timestamp: { seconds?: unknown; nanos?: number | null } | null | undefined): number | undefined {
  if (!timestamp || timestamp.seconds === undefined || timestamp.seconds === null) return undefined;
  const seconds = Number(String(timestamp.seconds));
  if (!Number.isFinite(seconds)) return undefined;
  return seconds * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6);
}

import type { JobsClient, protos } from '@google-cloud/run';
import { TASK_RUN_ENV, type JobLauncher, type LaunchedTask, type LaunchRequest } from '../../ports/job-launcher.js';
import { ConfigError, LaunchFailedError } from '../../errors.js';
import { withRetries, type RetryPolicy } from '../retry.js';
import { abortable } from '../abortable.js';
import { GrpcCode } from '../gcp/grpc-calls.js';
import { lazyGoogleClient } from '../gcp/google-credentials.js';
import { googleApiError } from './cloud-run-errors.js';

type RunJobRequest = protos.google.cloud.run.v2.IRunJobRequest;
type Execution = protos.google.cloud.run.v2.IExecution;
/** `JobsClient` options: endpoint, transport (`fallback: true` is REST), credentials. */
export type CloudRunClientOptions = NonNullable<ConstructorParameters<typeof JobsClient>[0]>;

/** `projects/<project>/locations/<region>/jobs/<job>`: what RunJob and ListExecutions take. */
const JOB_NAME = /^projects\/[a-z0-9.:-]{1,100}\/locations\/[a-z0-9-]{1,63}\/jobs\/[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** What the launcher needs of `JobsClient` (`@google-cloud/run`): tests hand in a client on a local REST server. */
export interface CloudRunJobsApi {
  /** The operation's `metadata` is the new `Execution` (RunJob's metadata type), decoded by the client. */
  runJob(request: RunJobRequest): Promise<[{ readonly name?: string | null; readonly metadata?: unknown }, ...unknown[]]>;
}

export interface CloudRunJobTarget {
  /** The Cloud Run job that runs the runner: `projects/<p>/locations/<region>/jobs/<job>`. */
  readonly jobName: string;
  /** The runner container's name, needed only when the job has several containers. @default the job's only container */
  readonly containerName?: string;
  /**
   * The Cloud Run job restores and verifies run on (`LaunchRequest.readsBackups`): the same image,
   * running as the restore service account, the only one that may read and decrypt backups. The
   * runner job's own account is write-only. Without it, a run that reads backups is refused.
   * @default none
   */
  readonly restoreJobName?: string;
  /** Replaces the job's task timeout for each execution. @default the timeout set on the job (Terraform) */
  readonly timeoutSeconds?: number;
  /**
   * Each drilled job's own Cloud Run job (`LaunchRequest.drill`), by job name: the runner beside
   * its scratch server, running as the drill service account. A drill of a job not named here is
   * refused. @default none
   */
  readonly drillJobNames?: Readonly<Record<string, string>>;
}

/**
 * The runner's container in a drill job: named, because a drill job has two containers and
 * overrides must say which one they change (infra/gcp/drill.tf names it the same).
 */
export const DRILL_RUNNER_CONTAINER_NAME = 'runner';

/** RunJob refusals worth another try: quota/rate limits and a service that is briefly unavailable. */
const RETRYABLE_CODES = new Set<number>([GrpcCode.RESOURCE_EXHAUSTED, GrpcCode.UNAVAILABLE]);

const LAUNCH_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1_000, maxDelayMs: 15_000 };

/**
 * Starts the runner as an execution of a Cloud Run job (DESIGN.md §1) — the runner job for
 * backups, the restore job for restores and verifies, a drill job for drills — with per-execution overrides:
 * the runner's command line as the container's `args` (the image's ENTRYPOINT is
 * `node /app/dist/vaultra.mjs`, and overridden args replace the job's), the request's environment
 * plus `VAULTRA_JOB`/`VAULTRA_RUN_ID` merged into the container's, one task, and the timeout when
 * one is set. It returns as soon as Cloud Run has accepted the execution: the long-running
 * operation is not awaited (an execution runs for hours); completion is found later by
 * `CloudRunExecutionTracker`.
 *
 * - The task id is the execution's resource name, read from the operation's metadata (RunJob's
 *   metadata type is `Execution`); the operation's own name if Cloud Run sent none.
 * - `cpu`/`memoryMiB` of a request are not applied: RunJob overrides carry no resources, so the
 *   runner's size is the job definition's (set per environment by Terraform).
 * - RESOURCE_EXHAUSTED and UNAVAILABLE are retried with jittered backoff. RunJob takes no
 *   idempotency token, so a retry after an answer lost in UNAVAILABLE may start a second
 *   execution of the same run: its runner then finds the run already claimed and stops, and the
 *   tracker settles the run from either. Anything else fails at once with Cloud Run's reason.
 */
export class CloudRunJobLauncher implements JobLauncher {
  readonly #jobsClient: () => Promise<CloudRunJobsApi>;

  /**
   * @param target the job and per-execution settings
   * @param client a `JobsClient` (tests), or the options to build one with on first launch
   *   @default `new JobsClient()` (gRPC, Application Default Credentials)
   */
  constructor(
    readonly target: CloudRunJobTarget,
    client?: CloudRunJobsApi | CloudRunClientOptions,
    private readonly policy: RetryPolicy = LAUNCH_RETRY_POLICY,
  ) {
    if (!JOB_NAME.test(target.jobName)) throw new ConfigError(`"${target.jobName}" is not a Cloud Run job name: expected projects/<project>/locations/<region>/jobs/<job>`);
    if (target.restoreJobName !== undefined && !JOB_NAME.test(target.restoreJobName)) {
      throw new ConfigError(`"${target.restoreJobName}", the restore job, is not a Cloud Run job name: expected projects/<project>/locations/<region>/jobs/<job>`);
    }
    for (const [job, name] of Object.entries(target.drillJobNames ?? {})) {
      if (!JOB_NAME.test(name)) throw new ConfigError(`"${name}", the drill job of ${job}, is not a Cloud Run job name: expected projects/<project>/locations/<region>/jobs/<job>`);
    }
    if (target.timeoutSeconds !== undefined && !(Number.isInteger(target.timeoutSeconds) && target.timeoutSeconds > 0)) {
      throw new ConfigError(`a Cloud Run task timeout is a positive whole number of seconds, got ${target.timeoutSeconds}`);
    }
    if (client && typeof (client as CloudRunJobsApi).runJob === 'function') {
      const given = Promise.resolve(client as CloudRunJobsApi);
      this.#jobsClient = () => given;
    } else {
      const options = (client as CloudRunClientOptions | undefined) ?? {};
      this.#jobsClient = lazyGoogleClient(async () => new (await import('@google-cloud/run')).JobsClient(options), { messagePrefix: 'no Google Cloud credentials: ' });
    }
  }

  async launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchedTask> {
    const input = this.runJobRequest(request);
    return withRetries(() => this.#runJob(input, signal), { policy: this.policy, ...(signal ? { signal } : {}) });
  }

  /**
   * The RunJob request for `request` (exported through the class for tests and docs). Cloud Run
   * cannot switch identity per execution, so the identity is chosen by choosing the job: a drill
   * runs its job's drill job (the drill identity, with the same overrides on its runner
   * container), a restore or verify the restore job (the restore identity), a backup or log push
   * the runner job (the write-only backup identity).
   */
  runJobRequest(request: LaunchRequest): RunJobRequest {
    const environment = { ...request.environment, [TASK_RUN_ENV.job]: request.job, [TASK_RUN_ENV.runId]: request.runId };
    const [jobName, containerName] = request.drill
      ? [this.drillJobOf(request.job), DRILL_RUNNER_CONTAINER_NAME]
      : [request.readsBackups ? this.restoreJob() : this.target.jobName, this.target.containerName];
    return {
      name: jobName,
      overrides: {
        containerOverrides: [
          {
            ...(containerName ? { name: containerName } : {}),
            args: [...request.command],
            env: Object.entries(environment).map(([name, value]) => ({ name, value })),
          },
        ],
        taskCount: 1,
        ...(this.target.timeoutSeconds ? { timeout: { seconds: this.target.timeoutSeconds } } : {}),
      },
    };
  }

  private restoreJob(): string {
    if (!this.target.restoreJobName) {
      throw new LaunchFailedError('cannot start a restore or verify: the deployment names no restore job (VAULTRA_CLOUD_RUN_RESTORE_JOB); apply the Vaultra Terraform module again, which creates it', false);
    }
    return this.target.restoreJobName;
  }

  private drillJobOf(job: string): string {
    const name = this.target.drillJobNames?.[job];
    if (!name) throw new LaunchFailedError(`cannot start a drill of ${job}: the deployment has no drill job for it (VAULTRA_CLOUD_RUN_DRILL_JOBS); add drill.schedule to the job and apply the Vaultra Terraform module again`, false);
    return name;
  }

  async #runJob(input: RunJobRequest, signal?: AbortSignal): Promise<LaunchedTask> {
    let operation;
    try {
      const client = await this.#jobsClient();
      [operation] = await abortable(client.runJob(input), signal);
    } catch (error) {
      if (signal?.aborted) throw error;
      const { code, status, message } = googleApiError(error);
      const retryable = code !== undefined && RETRYABLE_CODES.has(code);
      throw new LaunchFailedError(`Cloud Run RunJob on ${input.name} failed: ${status}: ${message}`, retryable, { cause: error });
    }
    const execution = operation.metadata as Execution | null | undefined;
    const taskId = (typeof execution?.name === 'string' && execution.name) || operation.name;
    if (!taskId) throw new LaunchFailedError(`Cloud Run RunJob on ${input.name} returned neither an execution nor an operation name`, false);
    return { taskId };
  }

}

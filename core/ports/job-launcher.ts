/**
 * Starts one container job that runs the `vaultra` runner (DESIGN.md §1): ECS Fargate, Cloud
 * Run Jobs, Container Apps Jobs, or a local process. The launcher starts the work and returns;
 * completion arrives separately (an ECS task-state event, an execution record, a process exit).
 */
export interface LaunchRequest {
  readonly job: string;
  readonly runId: string;
  /** The runner's arguments, e.g. `['backup', '--spec', '{"job":…,"source":"secret+aws://…",…}', '--json', '--no-progress']`. No secret: only references. */
  readonly command: readonly string[];
  /** Extra environment for the runner (catalog URL, trace context). Never a secret. */
  readonly environment: Readonly<Record<string, string>>;
  /** Per-job size, when the job overrides the environment's runner size. */
  readonly cpu?: number;
  readonly memoryMiB?: number;
  /**
   * The run decrypts backups (a restore or a verify). The launcher starts it under the
   * deployment's restore identity (ECS: the restore task role as `overrides.taskRoleArn`; Cloud
   * Run and Container Apps, whose executions cannot switch identity: the restore job, which runs
   * as it), and refuses when the deployment names none; a backup never sets this and runs as the
   * write-only default identity. @default false
   */
  readonly readsBackups?: boolean;
  /**
   * The run is a scheduled drill: the launcher starts the job's drill task (the runner beside its
   * scratch server, under the deployment's drill identity) instead of the runner's. A launcher
   * with no drill task for the job refuses. @default false
   */
  readonly drill?: boolean;
}

export interface LaunchedTask {
  /** The platform's id of the started task (ECS task ARN, execution name, PID). */
  readonly taskId: string;
}

export interface JobLauncher {
  /**
   * Starts the task. Idempotent per `runId` where the platform allows (ECS `clientToken`).
   * Rejects with `LaunchFailedError` when the task cannot be started after retries.
   */
  launch(request: LaunchRequest, signal?: AbortSignal): Promise<LaunchedTask>;
}

/**
 * Variables every launcher sets in the runner's environment to name its run: the platform then
 * hands them back (ECS task-state events carry the overrides; Cloud Run and Container Apps
 * executions keep their template), which is how a stopped task or execution is tied to its run.
 */
export const TASK_RUN_ENV = { job: 'VAULTRA_JOB', runId: 'VAULTRA_RUN_ID' } as const;

/**
 * Where a platform without a task-stopped event (Cloud Run Jobs, Container Apps Jobs) tells how
 * the runner executions it started are doing. The reconciler asks on a schedule and settles
 * the runs whose execution has ended.
 */
export type ExecutionState = 'running' | 'succeeded' | 'failed';

export interface ExecutionStatus {
  readonly runId: string;
  /** The platform's id of the execution (Cloud Run execution name, Container Apps execution name). */
  readonly taskId: string;
  readonly state: ExecutionState;
  /** The runner's exit code when the platform reports one; `failed` without one counts as non-zero. */
  readonly exitCode?: number;
  /** The platform's words for how it ended (`Task failed: container exited with code 1`, `Timeout`). */
  readonly reason?: string;
  readonly finishedAt?: string;
}

export interface ExecutionTracker {
  /**
   * The executions the launcher started for these runs (matched by the run id the launcher put
   * in the execution's environment). A run with no execution found is absent from the map.
   */
  statusOf(runIds: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, ExecutionStatus>>;
}

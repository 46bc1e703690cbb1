import type { ExecutionStatus, ExecutionTracker } from '../../ports/execution-tracker.js';

/**
 * One tracker over the executions of several platform jobs: the runner's, the restore job's
 * (restores and verifies, under the restore identity) and each drilled job's drill job (a Cloud
 * Run job per drill, since each has its own scratch server and size). A run id
 * lives in exactly one of them, and nothing in a pending record says which, so each tracker in
 * turn is asked for the run ids the ones before it did not find; once every run is found, the
 * rest are asked nothing.
 */
export class CombinedExecutionTracker implements ExecutionTracker {
  /** @param trackers the busiest first (the runner's): later ones are asked only for what is left */
  constructor(private readonly trackers: readonly ExecutionTracker[]) {}

  async statusOf(runIds: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, ExecutionStatus>> {
    const found = new Map<string, ExecutionStatus>();
    for (const tracker of this.trackers) {
      const missing = runIds.filter((runId) => !found.has(runId));
      if (missing.length === 0) break;
      for (const [runId, status] of await tracker.statusOf(missing, signal)) found.set(runId, status);
    }
    return found;
  }
}

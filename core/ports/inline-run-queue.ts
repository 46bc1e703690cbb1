/**
 * An on-demand run of a `runtime: inline` job, handed to the function that runs such jobs
 * (docs/inline-runs.md) rather than started as a task: the api function answers at once with the
 * run id, and the run is recorded, placed (inline, or Fargate on failover) and settled exactly as
 * a scheduled one.
 */
export type InlineRunOrder =
  /** A backup, recorded as `runId` by the inline backup function's start (pending record, lock). */
  | { readonly action: 'backup'; readonly job: string; readonly runId: string }
  /**
   * A restore or verify, recorded as `runId` by the runner the inline restore function starts.
   * `request` is the api request as validated (the backup to read, the target, …).
   */
  | { readonly action: 'restore' | 'verify'; readonly job: string; readonly runId: string; readonly request: Readonly<Record<string, unknown>> };

export interface InlineRunQueue {
  /**
   * Queues `order` for its function and resolves once the platform has ACCEPTED it (not run it),
   * with the queued invocation's id (where the run's log is). Safe to repeat for the same order:
   * the run id is fixed, so a second delivery finds the run recorded and starts nothing new.
   * Rejects with a one-line `LaunchFailedError` when the order could not be delivered.
   */
  enqueue(order: InlineRunOrder, options?: { readonly signal?: AbortSignal }): Promise<{ readonly invocationId: string }>;
}

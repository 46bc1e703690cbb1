import type { Catalog, CatalogCallOptions } from '../ports/catalog.js';
import type { ScheduledJob } from '../config/environments.js';
import { INLINE_FINISH_RESERVE_MS, inlineDurationBudgetMs } from '../config/inline-runtime.js';

/** Where one scheduled backup of an inline job runs, and why not inline when it does not. */
export type InlinePlacement =
  | { readonly where: 'inline' }
  | { readonly where: 'fargate'; readonly reason: 'last-backup-too-long' | 'invocation-too-short'; readonly message: string };

export interface InlinePlacementRequest {
  readonly job: ScheduledJob;
  /** What is left of the function's invocation (`context.getRemainingTimeInMillis()`). */
  readonly remainingMs: number;
}

/**
 * Decides before a run starts whether it fits inline (docs/inline-runs.md, "Failover"). It goes
 * to Fargate when the job's last successful backup took more than its share of Lambda's 15
 * minutes (the database has outgrown a Lambda: the next run would likely be cut off), or when the
 * invocation has less time left than the job's timeout and the finishing reserve (a late start
 * after retries). A job with no successful backup yet starts inline: its timeout, checked at
 * synth to fit in Lambda's limit, still bounds it.
 */
export async function placeInlineRun(catalog: Pick<Catalog, 'latestSuccessful'>, request: InlinePlacementRequest, options: CatalogCallOptions = {}): Promise<InlinePlacement> {
  const { job, remainingMs } = request;
  const neededMs = job.timeoutMs + INLINE_FINISH_RESERVE_MS;
  if (remainingMs < neededMs) {
    return { where: 'fargate', reason: 'invocation-too-short', message: `the invocation has ${seconds(remainingMs)} left, less than the job's timeout and the finishing reserve (${seconds(neededMs)})` };
  }
  const last = await catalog.latestSuccessful(job.name, options);
  const budgetMs = inlineDurationBudgetMs(job);
  if (last?.durationMs !== undefined && last.durationMs > budgetMs) {
    return {
      where: 'fargate',
      reason: 'last-backup-too-long',
      message: `the last successful backup (${last.runId}) took ${seconds(last.durationMs)}, more than the inline share of Lambda's 15 minutes (${seconds(budgetMs)})`,
    };
  }
  return { where: 'inline' };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

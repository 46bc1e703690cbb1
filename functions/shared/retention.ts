import type { ScheduledJob } from '../../core/config/environments.js';
import { applyRetention, type RetentionOutcome } from '../../core/usecases/apply-retention.js';
import type { FinishingDeployment } from './deployment-types.js';

/**
 * The `retain` step a completion handler gives `finishRun` / `reconcileRuns`: the job's retention
 * applied to the deployment's storage and catalog, on the deployment's clock (so a settled run's
 * `prunedAt` and the planner's "now" are the handler's now, not the wall clock's).
 */
export function retentionOf(deps: Pick<FinishingDeployment, 'storage' | 'catalog' | 'now'>, signal?: AbortSignal): (job: ScheduledJob) => Promise<RetentionOutcome> {
  return (job) => applyRetention({ storage: deps.storage, catalog: deps.catalog }, { job: job.name, keep: job.retention ?? {}, ...(deps.now ? { now: deps.now() } : {}), ...(signal ? { signal } : {}) });
}

/**
 * EventBridge "ECS Task State Change" (STOPPED) → this function: reconciles the task's exit with
 * the runner's record and the manifest, settles the run, releases the lock, alerts, and applies
 * retention after a success (DESIGN.md §1, §7). The inline backup function hands its ended runs
 * here the same way (`source: vaultra.inline`, an asynchronous invoke; docs/inline-runs.md), so
 * the delete rights retention needs stay on this function's role alone.
 */
import * as z from 'zod';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parseAtEdge } from '../../core/domain/validate.js';
import { finishRun, type TaskReport } from '../../core/usecases/finish-run.js';
import type { RetentionOutcome } from '../../core/usecases/apply-retention.js';
import type { ScheduledJob } from '../../core/config/environments.js';
import { METRIC, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { TASK_RUN_ENV } from '../../core/ports/job-launcher.js';
import { S3StorageBackend } from '../../core/adapters/storage/s3/s3-storage.js';
import { INLINE_SETTLE_SOURCE } from '../../core/adapters/settlement/lambda-run-settler.js';
import { awsSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { FinishingDeployment } from './shared/deployment-types.js';
import { logger, metrics, observed, type InvocationOptions } from './shared/observability.js';
import { retentionOf } from '../shared/retention.js';

// AWS adds fields to its events over time: read what is needed, ignore the rest.
const taskStoppedSchema = z.object({
  'detail-type': z.literal('ECS Task State Change'),
  detail: z.object({
    taskArn: z.string(),
    lastStatus: z.string(),
    stoppedReason: z.string().optional(),
    stoppedAt: z.string().optional(),
    containers: z.array(z.object({ name: z.string(), exitCode: z.number().int().optional(), reason: z.string().optional() })).default([]),
    overrides: z
      .object({ containerOverrides: z.array(z.object({ name: z.string(), environment: z.array(z.object({ name: z.string(), value: z.string() })).default([]) })).default([]) })
      .default({ containerOverrides: [] }),
  }),
});

/** An inline backup function's hand-off (`LambdaRunSettler`): the run's exit, as its launcher saw it. */
const inlineEndedSchema = z.object({
  source: z.literal(INLINE_SETTLE_SOURCE),
  detail: z.object({
    job: z.string().min(1),
    runId: z.string().min(1),
    taskId: z.string().min(1),
    exitCode: z.number().int().optional(),
    stoppedReason: z.string().optional(),
    stoppedAt: z.string().optional(),
  }),
});

type Ignored = { readonly outcome: 'ignored'; readonly reason: string };

/** The run an event reports ended, or why there is nothing to settle. */
function reportOf(event: unknown): TaskReport | Ignored {
  if (typeof event === 'object' && event !== null && (event as { source?: unknown }).source === INLINE_SETTLE_SOURCE) {
    // JSON drops an undefined exit code: a runner that was killed has none.
    const { detail } = parseAtEdge(inlineEndedSchema, event, 'event');
    return { ...detail, exitCode: detail.exitCode };
  }
  const { detail } = parseAtEdge(taskStoppedSchema, event, 'event');
  if (detail.lastStatus !== 'STOPPED') return { outcome: 'ignored', reason: `task is ${detail.lastStatus}` };
  const runner = detail.overrides.containerOverrides.find((override) => override.name === RUNNER_CONTAINER_NAME);
  const variable = (name: string) => runner?.environment.find((entry) => entry.name === name)?.value;
  const job = variable(TASK_RUN_ENV.job);
  const runId = variable(TASK_RUN_ENV.runId);
  if (!job || !runId) return { outcome: 'ignored', reason: 'not a task Vaultra started' };
  const container = detail.containers.find((candidate) => candidate.name === RUNNER_CONTAINER_NAME);
  return {
    job,
    runId,
    taskId: detail.taskArn,
    exitCode: container?.exitCode,
    stoppedReason: [detail.stoppedReason, container?.reason].filter(Boolean).join('; ') || undefined,
    ...(detail.stoppedAt ? { stoppedAt: detail.stoppedAt } : {}),
  };
}

/**
 * Applies the job's retention and reports what storage refused: under Object Lock a pruned run
 * whose lock still holds stays listed (not marked pruned) and is tried again after the next
 * success, so the refusal is a warning in the log and in the function's result, not an alert.
 */
function reportedRetentionOf(deps: FinishingDeployment, signal: AbortSignal | undefined): (job: ScheduledJob) => Promise<RetentionOutcome> {
  const retain = retentionOf(deps, signal);
  return async (job) => {
    const outcome = await retain(job);
    if (outcome.pruned.length > 0) logger.info('retention pruned runs', { job: job.name, pruned: outcome.pruned });
    if (outcome.failed.length > 0) logger.warn('retention: storage refused to delete runs; they stay listed and are retried after the next success', { job: job.name, failed: outcome.failed });
    const packs = outcome.packs;
    if (packs && (packs.deleted.count > 0 || packs.keptLocked.length > 0)) logger.info('retention swept unused packs', { job: job.name, deleted: packs.deleted.count, deletedBytes: packs.deleted.bytes, keptLocked: packs.keptLocked });
    if (packs && (packs.skipped || packs.failed.length > 0)) logger.warn('retention: unused packs not swept; the next sweep retries', { job: job.name, ...(packs.skipped ? { skipped: packs.skipped } : {}), failed: packs.failed });
    return outcome;
  };
}

export function createHandler(deployment: () => Promise<FinishingDeployment>) {
  return async (event: unknown, _context?: unknown, { signal }: InvocationOptions = {}) => {
    const report = reportOf(event);
    if ('outcome' in report) return report;
    const { job, runId } = report;
    const deps = await deployment();
    metrics.addDimensions({ environment: deps.environment.name, job });
    const result = await finishRun({ ...deps, retain: reportedRetentionOf(deps, signal) }, report, signal ? { signal } : {});
    if ((result.outcome === 'succeeded' || result.outcome === 'failed') && result.run.kind === 'log') {
      metrics.addMetric(result.outcome === 'succeeded' ? METRIC.logPushSucceeded : METRIC.logPushFailed, MetricUnit.Count, 1);
    } else if (result.outcome === 'succeeded' || result.outcome === 'failed') {
      const { run } = result;
      metrics.addMetric(result.outcome === 'succeeded' ? METRIC.runSucceeded : METRIC.runFailed, MetricUnit.Count, 1);
      if (run.durationMs !== undefined) metrics.addMetric(METRIC.durationSeconds, MetricUnit.Seconds, run.durationMs / 1000);
      if (run.bytesRaw !== undefined) metrics.addMetric(METRIC.bytesRaw, MetricUnit.Bytes, run.bytesRaw);
      if (run.bytesStored !== undefined) metrics.addMetric(METRIC.bytesStored, MetricUnit.Bytes, run.bytesStored);
    }
    logger.info('task finished', { job, runId, taskArn: report.taskId, exitCode: report.exitCode, outcome: result.outcome });
    return { outcome: result.outcome, job, runId, ...('retention' in result && result.retention ? { retention: result.retention } : {}) };
  };
}

export const handler = observed(
  createHandler(
    cached(() => {
      const s = awsSettingsFromEnv();
      return { environment: s.environment, catalog: catalogOf(s), notify: notifyOf(s), storage: S3StorageBackend.fromUrl(s.target.storageUrl) };
    }),
  ),
);

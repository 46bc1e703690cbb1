/**
 * EventBridge Scheduler → this function, for jobs with `runtime: inline` (docs/inline-runs.md):
 * the backup runs HERE, the runner as a child process with the tools layer's binaries, and the
 * function settles the run itself once the runner exits (what task-finished does after a Fargate
 * task stops). Before that, the job's last successful backup decides: longer than its share of
 * Lambda's 15 minutes (or too little invocation time left) and the run is started on Fargate
 * exactly as the scheduled-backup function starts it, logged as `inline-failover`.
 * Inline jobs' log catch-ups and drills stay on the scheduled-backup function and Fargate.
 */
import * as z from 'zod';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { jobOf } from '../../core/config/environments.js';
import { LAMBDA_MAX_INVOCATION_MS } from '../../core/config/inline-runtime.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { startBackup, type StartBackupOutcome } from '../../core/usecases/start-backup.js';
import { finishRun, type FinishRunOutcome } from '../../core/usecases/finish-run.js';
import { placeInlineRun } from '../../core/usecases/inline-placement.js';
import { METRIC } from '../../core/platform/aws-deployment.js';
import type { JobLauncher } from '../../core/ports/job-launcher.js';
import type { InlineRunExit } from '../../core/adapters/launchers/lambda-inline-launcher.js';
import { EcsFargateLauncher } from '../../core/adapters/launchers/ecs-fargate-launcher.js';
import { S3StorageBackend } from '../../core/adapters/storage/s3/s3-storage.js';
import { awsSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { FinishingDeployment, LaunchingDeployment } from './shared/deployment-types.js';
import { inlineLauncherFromEnv } from './shared/inline-launcher.js';
import { logger, metrics, observed, type InvocationOptions } from './shared/observability.js';
import { traceEnvironment } from './shared/trace-context.js';
import { retentionOf } from '../shared/retention.js';

const inlineEventSchema = z.object({
  job: z.string(),
  scheduledTime: z.iso.datetime({ offset: true }),
  executionId: z.string().optional(),
  /** Only backups are scheduled here; the job's log pushes and drills target the scheduled-backup function. */
  kind: z.literal('backup').default('backup'),
});

/** A launcher that runs the run to its end before resolving, and then tells how it ended. */
export interface AwaitingLauncher extends JobLauncher {
  completion(taskId: string): InlineRunExit;
}

/** What the inline function uses: everything a start and a finish need, and both launchers. */
export type InlineDeployment = Omit<LaunchingDeployment, 'launcher'> &
  FinishingDeployment & {
    readonly inline: AwaitingLauncher;
    /** Where a run goes when it does not fit inline: the runner task, as for every other job. */
    readonly fargate: JobLauncher;
  };

/** Lambda's context, as far as the placement reads it; a direct call (a test) may leave it out. */
type RemainingTime = Pick<Context, 'getRemainingTimeInMillis'>;

export function createHandler(deployment: () => Promise<InlineDeployment>) {
  return async (event: unknown, context?: RemainingTime, { signal }: InvocationOptions = {}) => {
    const { job: jobName, scheduledTime } = parseAtEdge(inlineEventSchema, event, 'event');
    const deps = await deployment();
    const job = jobOf(deps.environment, jobName);
    const runId = scheduledRunId(job.name, scheduledTime);
    const io = signal ? { signal } : {};
    metrics.addDimensions({ environment: deps.environment.name, job: job.name });
    const request = { job, runId, runnerEnvironment: traceEnvironment(), ...io };

    const placement = await placeInlineRun(deps.catalog, { job, remainingMs: context?.getRemainingTimeInMillis() ?? LAMBDA_MAX_INVOCATION_MS }, io);
    if (placement.where === 'fargate') {
      logger.warn('inline-failover', { job: job.name, runId, reason: placement.reason, why: placement.message });
      metrics.addMetric(METRIC.inlineFailover, MetricUnit.Count, 1);
      const started = await startBackup({ ...deps, launcher: deps.fargate }, request);
      countStart(started);
      logger.info('scheduled backup', { job: job.name, runId, runtime: 'fargate', outcome: started.outcome });
      return { outcome: started.outcome, job: job.name, runId, runtime: 'fargate', failover: placement.reason, ...(started.outcome === 'started' ? { taskId: started.taskId } : {}) };
    }

    const started = await startBackup({ ...deps, launcher: deps.inline }, request);
    countStart(started);
    if (started.outcome !== 'started') return { outcome: started.outcome, job: job.name, runId, runtime: 'inline' };
    const finished = await finishRun({ ...deps, retain: retentionOf(deps, signal) }, deps.inline.completion(started.taskId), io);
    countFinish(finished);
    logger.info('inline backup finished', { job: job.name, runId, taskId: started.taskId, outcome: finished.outcome });
    return { outcome: finished.outcome, job: job.name, runId, runtime: 'inline', taskId: started.taskId };
  };
}

/** The scheduled-backup function's counts for a start that did not run. */
function countStart(started: StartBackupOutcome): void {
  if (started.outcome === 'skipped') metrics.addMetric(METRIC.runSkipped, MetricUnit.Count, 1);
  if (started.outcome === 'launch-failed') metrics.addMetric(METRIC.runFailed, MetricUnit.Count, 1);
}

/** The task-finished function's counts for a settled backup, so dashboards and alarms see inline runs as any other. */
function countFinish(finished: FinishRunOutcome): void {
  if (finished.outcome !== 'succeeded' && finished.outcome !== 'failed') return;
  const { run } = finished;
  metrics.addMetric(finished.outcome === 'succeeded' ? METRIC.runSucceeded : METRIC.runFailed, MetricUnit.Count, 1);
  if (run.durationMs !== undefined) metrics.addMetric(METRIC.durationSeconds, MetricUnit.Seconds, run.durationMs / 1000);
  if (run.bytesRaw !== undefined) metrics.addMetric(METRIC.bytesRaw, MetricUnit.Bytes, run.bytesRaw);
  if (run.bytesStored !== undefined) metrics.addMetric(METRIC.bytesStored, MetricUnit.Bytes, run.bytesStored);
}

export const handler = observed(
  createHandler(
    cached(async () => {
      const s = awsSettingsFromEnv();
      return {
        environment: s.environment,
        target: s.target,
        catalog: catalogOf(s),
        notify: notifyOf(s),
        storage: S3StorageBackend.fromUrl(s.target.storageUrl),
        inline: await inlineLauncherFromEnv(),
        fargate: new EcsFargateLauncher(s.ecs),
      };
    }),
  ),
);

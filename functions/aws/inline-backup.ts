/**
 * EventBridge Scheduler → this function, for jobs with `runtime: inline` (docs/inline-runs.md),
 * and the api function → this function (an asynchronous invoke) for their on-demand backups:
 * the backup runs HERE, the runner as a child process with the tools layer's binaries, and once
 * the runner exits the function hands the run to task-finished (an asynchronous invoke), which
 * settles it as after a Fargate task's stop: this function's role stays write-only, like the
 * runner task's, and never holds the delete rights retention needs. Before that, the job's last
 * successful backup decides: longer than its share of Lambda's 15 minutes (or too little
 * invocation time left) and the run is started on Fargate exactly as the scheduled-backup
 * function starts it, logged as `inline-failover`.
 * Inline jobs' log catch-ups and drills stay on the scheduled-backup function and Fargate.
 */
import * as z from 'zod';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { jobOf } from '../../core/config/environments.js';
import { LAMBDA_MAX_INVOCATION_MS } from '../../core/config/inline-runtime.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { runIdSchema } from '../../core/domain/run.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { startBackup, type StartBackupOutcome } from '../../core/usecases/start-backup.js';
import { placeInlineRun } from '../../core/usecases/inline-placement.js';
import { METRIC } from '../../core/platform/aws-deployment.js';
import type { JobLauncher } from '../../core/ports/job-launcher.js';
import type { RunSettler } from '../../core/ports/run-settler.js';
import type { InlineRunExit } from '../../core/adapters/launchers/lambda-inline-launcher.js';
import { EcsFargateLauncher } from '../../core/adapters/launchers/ecs-fargate-launcher.js';
import { LambdaRunSettler } from '../../core/adapters/settlement/lambda-run-settler.js';
import { ON_DEMAND_INLINE_SOURCE } from '../../core/adapters/launchers/lambda-inline-run-queue.js';
import { oneLine } from '../../core/errors.js';
import { awsSettingsFromEnv, cached, taskFinishedFunctionFromEnv } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { inlineLauncherFromEnv } from './shared/inline-launcher.js';
import { logger, metrics, observed, type InvocationOptions } from './shared/observability.js';
import { traceEnvironment } from './shared/trace-context.js';

const scheduledEventSchema = z.object({
  job: z.string(),
  scheduledTime: z.iso.datetime({ offset: true }),
  executionId: z.string().optional(),
  /** Only backups are scheduled here; the job's log pushes and drills target the scheduled-backup function. */
  kind: z.literal('backup').default('backup'),
});

/** An on-demand backup the api function queued (LambdaInlineRunQueue), under the run id it answered with. */
const onDemandEventSchema = z.strictObject({
  source: z.literal(ON_DEMAND_INLINE_SOURCE),
  job: z.string(),
  runId: runIdSchema,
});

const inlineEventSchema = z.union([onDemandEventSchema, scheduledEventSchema]);

/** A launcher that runs the run to its end before resolving, and then tells how it ended. */
export interface AwaitingLauncher extends JobLauncher {
  completion(taskId: string): InlineRunExit;
}

/** What the inline function uses: everything a start needs, both launchers, and who settles the run. */
export type InlineDeployment = Omit<LaunchingDeployment, 'launcher'> & {
  readonly inline: AwaitingLauncher;
  /** Where a run goes when it does not fit inline: the runner task, as for every other job. */
  readonly fargate: JobLauncher;
  /** Settles an ended inline run under its own role (task-finished): manifest check, lock, alerts, retention. */
  readonly settler: RunSettler;
};

/** Lambda's context, as far as the placement reads it; a direct call (a test) may leave it out. */
type RemainingTime = Pick<Context, 'getRemainingTimeInMillis'>;

export function createHandler(deployment: () => Promise<InlineDeployment>) {
  return async (event: unknown, context?: RemainingTime, { signal }: InvocationOptions = {}) => {
    const parsed = parseAtEdge(inlineEventSchema, event, 'event');
    const deps = await deployment();
    const job = jobOf(deps.environment, parsed.job);
    // A schedule's run id is derived from its fire time, so that a retried delivery is the same run; the api chose an on-demand one.
    const runId = 'runId' in parsed ? parsed.runId : scheduledRunId(job.name, parsed.scheduledTime);
    const trigger = 'runId' in parsed ? 'on-demand' : 'scheduled';
    const io = signal ? { signal } : {};
    metrics.addDimensions({ environment: deps.environment.name, job: job.name });
    const request = { job, runId, runnerEnvironment: traceEnvironment(), ...io };

    const placement = await placeInlineRun(deps.catalog, { job, remainingMs: context?.getRemainingTimeInMillis() ?? LAMBDA_MAX_INVOCATION_MS }, io);
    if (placement.where === 'fargate') {
      logger.warn('inline-failover', { job: job.name, runId, trigger, reason: placement.reason, why: placement.message });
      metrics.addMetric(METRIC.inlineFailover, MetricUnit.Count, 1);
      const started = await startBackup({ ...deps, launcher: deps.fargate }, request);
      countStart(started);
      logger.info(`${trigger} backup`, { job: job.name, runId, runtime: 'fargate', outcome: started.outcome });
      return { outcome: started.outcome, job: job.name, runId, runtime: 'fargate', failover: placement.reason, ...(started.outcome === 'started' ? { taskId: started.taskId } : {}) };
    }

    const started = await startBackup({ ...deps, launcher: deps.inline }, request);
    countStart(started);
    if (started.outcome !== 'started') return { outcome: started.outcome, job: job.name, runId, runtime: 'inline' };
    const exit = deps.inline.completion(started.taskId);
    // Not under the invocation's signal: once it aborts (the runner was stopped), the hand-off is all that is left to do.
    const settling = await handOff(deps.settler, exit);
    logger.info('inline backup ended', { job: job.name, runId, trigger, taskId: started.taskId, exitCode: exit.exitCode, settling });
    return { outcome: 'ended', job: job.name, runId, runtime: 'inline', taskId: started.taskId, exitCode: exit.exitCode ?? null, settling };
  };
}

/**
 * Hands the ended run to task-finished. A hand-off that fails after the settler's retries is
 * logged, not thrown: a thrown error would make Lambda run this scheduled invocation (the whole
 * backup) again. The run then stays as the runner recorded it, its lock held until the lock
 * expires (the job's timeout plus a grace); it is counted as a failed run, so the job's RunFailed
 * alarm pages.
 */
async function handOff(settler: RunSettler, exit: InlineRunExit): Promise<'handed-off' | 'hand-off-failed'> {
  try {
    await settler.handOff(exit);
    return 'handed-off';
  } catch (error) {
    logger.error('inline backup not handed off for settling: the run keeps its lock until it expires and gets no manifest check, alert or retention; check the role may invoke task-finished', { job: exit.job, runId: exit.runId, error: oneLine(error) });
    // Counted as a failed run: the job's RunFailed alarm pages, as no settled run will.
    metrics.addMetric(METRIC.runFailed, MetricUnit.Count, 1);
    return 'hand-off-failed';
  }
}

/** The scheduled-backup function's counts for a start that did not run. */
function countStart(started: StartBackupOutcome): void {
  if (started.outcome === 'skipped') metrics.addMetric(METRIC.runSkipped, MetricUnit.Count, 1);
  if (started.outcome === 'launch-failed') metrics.addMetric(METRIC.runFailed, MetricUnit.Count, 1);
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
        inline: await inlineLauncherFromEnv(),
        fargate: new EcsFargateLauncher(s.ecs),
        settler: new LambdaRunSettler(taskFinishedFunctionFromEnv()),
      };
    }),
  ),
);

/**
 * EventBridge Scheduler → this function → ECS RunTask (DESIGN.md §1). One schedule per job sends
 * `{"job": …, "scheduledTime": "<aws.scheduler.scheduled-time>", "executionId": …}`; the run id
 * comes from (job, scheduled time), so a redelivered trigger starts nothing new.
 */
import * as z from 'zod';
import { jobOf } from '../../core/config/environments.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { startBackup } from '../../core/usecases/start-backup.js';
import { METRIC } from '../../core/platform/aws-deployment.js';
import { EcsFargateLauncher } from '../../core/adapters/launchers/ecs-fargate-launcher.js';
import { awsSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { logger, metrics, observed, type InvocationOptions } from './shared/observability.js';
import { traceEnvironment } from './shared/trace-context.js';
import { MetricUnit } from '@aws-lambda-powertools/metrics';

const scheduledEventSchema = z.object({
  job: z.string(),
  scheduledTime: z.iso.datetime({ offset: true }),
  executionId: z.string().optional(),
});

export function createHandler(deployment: () => Promise<LaunchingDeployment>) {
  return async (event: unknown, _context?: unknown, { signal }: InvocationOptions = {}) => {
    const { job: jobName, scheduledTime } = parseAtEdge(scheduledEventSchema, event, 'event');
    const deps = await deployment();
    const job = jobOf(deps.environment, jobName);
    const runId = scheduledRunId(job.name, scheduledTime);
    metrics.addDimensions({ environment: deps.environment.name, job: job.name });
    const result = await startBackup(deps, { job, runId, runnerEnvironment: traceEnvironment(), ...(signal ? { signal } : {}) });
    logger.info('scheduled backup', { job: job.name, runId, outcome: result.outcome, ...(result.outcome === 'started' ? { taskId: result.taskId } : {}) });
    if (result.outcome === 'skipped') metrics.addMetric(METRIC.runSkipped, MetricUnit.Count, 1);
    if (result.outcome === 'launch-failed') metrics.addMetric(METRIC.runFailed, MetricUnit.Count, 1);
    return { outcome: result.outcome, job: job.name, runId, ...(result.outcome === 'started' ? { taskId: result.taskId } : {}) };
  };
}

export const handler = observed(
  createHandler(
    cached(() => {
      const s = awsSettingsFromEnv();
      return { environment: s.environment, target: s.target, catalog: catalogOf(s), notify: notifyOf(s), launcher: new EcsFargateLauncher(s.ecs) };
    }),
  ),
);

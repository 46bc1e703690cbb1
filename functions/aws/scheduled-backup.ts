/**
 * EventBridge Scheduler → this function → ECS RunTask (DESIGN.md §1). One schedule per job sends
 * `{"job": …, "scheduledTime": "<aws.scheduler.scheduled-time>", "executionId": …}`; the run id
 * comes from (job, scheduled time), so a redelivered trigger starts nothing new. A job with `logs`
 * has a second schedule, `rate(<every>)`, whose event adds `"kind": "log"`: it starts a log
 * catch-up (`vaultra logs push`) on the same task definition, at the push's size. A job with
 * `drill.schedule` has a third, whose event says `"kind": "drill"`: it starts the job's drill task
 * (`vaultra drill latest`, the runner beside its scratch server, under the drill role).
 */
import * as z from 'zod';
import { jobOf } from '../../core/config/environments.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { startBackup } from '../../core/usecases/start-backup.js';
import { logPushRunId, startLogPush } from '../../core/usecases/start-log-push.js';
import { drillRunId, startDrill } from '../../core/usecases/start-drill.js';
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
  /** What the schedule starts: the job's backup (absent, as every schedule before log catch-ups), or a log catch-up. */
  kind: z.enum(['backup', 'log', 'drill']).default('backup'),
});

const STARTERS = {
  backup: { runId: scheduledRunId, start: startBackup, message: 'scheduled backup' },
  log: { runId: logPushRunId, start: startLogPush, message: 'scheduled log push' },
  drill: { runId: drillRunId, start: startDrill, message: 'scheduled drill' },
} as const;

export function createHandler(deployment: () => Promise<LaunchingDeployment>) {
  return async (event: unknown, _context?: unknown, { signal }: InvocationOptions = {}) => {
    const { job: jobName, scheduledTime, kind } = parseAtEdge(scheduledEventSchema, event, 'event');
    const deps = await deployment();
    const job = jobOf(deps.environment, jobName);
    const starter = STARTERS[kind];
    const runId = starter.runId(job.name, scheduledTime);
    metrics.addDimensions({ environment: deps.environment.name, job: job.name });
    const request = { job, runId, runnerEnvironment: traceEnvironment(), ...(signal ? { signal } : {}) };
    const result = await starter.start(deps, request);
    logger.info(starter.message, { job: job.name, runId, outcome: result.outcome, ...(result.outcome === 'started' ? { taskId: result.taskId } : {}) });
    // A skipped push is the previous one still catching up: routine, so not counted as a skipped backup.
    if (result.outcome === 'skipped' && kind === 'backup') metrics.addMetric(METRIC.runSkipped, MetricUnit.Count, 1);
    if (result.outcome === 'launch-failed') metrics.addMetric(kind === 'log' ? METRIC.logPushFailed : METRIC.runFailed, MetricUnit.Count, 1);
    // A backup's result is as it always was; a push's and a drill's say so.
    return { outcome: result.outcome, ...(kind === 'backup' ? {} : { kind }), job: job.name, runId, ...(result.outcome === 'started' ? { taskId: result.taskId } : {}) };
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

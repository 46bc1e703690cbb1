/**
 * Cloud Scheduler → this function → a Cloud Run job execution (DESIGN.md §1). One Cloud Scheduler
 * job per backup job, in the job's time zone, POSTs `{"job": "<name>"}` with an OIDC token; the
 * scheduled time comes from its `X-CloudScheduler-ScheduleTime` header (RFC 3339), which stays the
 * same on every retry of one firing, so the run id derived from (job, scheduled time) makes a
 * redelivered trigger start nothing new. A body `scheduledTime` is used only when the header is
 * absent (a hand-made call). A job with `logs` has a second Cloud Scheduler job posting
 * `{"job": "<name>", "kind": "log"}` every `logs.every`: it starts a log catch-up
 * (`vaultra logs push`) on the same runner job. A job with `drill.schedule` has a third, posting
 * `{"job": "<name>", "kind": "drill"}`: it starts the job's drill job (`vaultra drill latest`, the
 * runner beside its scratch server, as the drill service account).
 */
import * as z from 'zod';
import { jobOf } from '../../core/config/environments.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { ConfigError } from '../../core/errors.js';
import { startBackup } from '../../core/usecases/start-backup.js';
import { logPushRunId, startLogPush } from '../../core/usecases/start-log-push.js';
import { drillRunId, startDrill } from '../../core/usecases/start-drill.js';
import { cached, gcpSettingsFromEnv } from './shared/settings.js';
import { catalogOf, launcherOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { httpFunction, jsonBody } from './shared/http.js';
import { log } from './shared/log.js';
import { traceEnvironment } from './shared/trace-context.js';

const SCHEDULE_TIME_HEADER = 'x-cloudscheduler-scheduletime';

const scheduledRequestSchema = z.object({
  job: z.string(),
  scheduledTime: z.iso.datetime({ offset: true }).optional(),
  /** What the schedule starts: the job's backup (absent), a log catch-up, or a drill. */
  kind: z.enum(['backup', 'log', 'drill']).default('backup'),
});
const scheduleTimeSchema = z.iso.datetime({ offset: true });

/** What each kind of schedule starts, and the run id it derives from (job, scheduled time): one per kind, so they never collide. */
const STARTERS = {
  backup: { runId: scheduledRunId, start: startBackup, message: 'scheduled backup' },
  log: { runId: logPushRunId, start: startLogPush, message: 'scheduled log push' },
  drill: { runId: drillRunId, start: startDrill, message: 'scheduled drill' },
} as const;

/**
 * Every recorded outcome answers 200 with `{outcome, job, runId, taskId?}` — started, duplicate,
 * skipped (recorded and alerted), launch-failed (recorded and alerted): redelivering the trigger
 * could only be a duplicate. A request that cannot be served (catalog unreachable before the run
 * was recorded) is a 500, which Cloud Scheduler retries under the same run id.
 */
export function createHandler(deployment: () => Promise<LaunchingDeployment>) {
  return httpFunction('scheduledBackup', async (request, { signal, trace }) => {
    const body = parseAtEdge(scheduledRequestSchema, jsonBody(request), 'request');
    const header = request.get(SCHEDULE_TIME_HEADER);
    if (!header && !body.scheduledTime) {
      throw new ConfigError('no scheduled time: Cloud Scheduler sends X-CloudScheduler-ScheduleTime; for a backup on demand, call the api function with {"action":"backup"}');
    }
    const scheduledTime = header ? parseAtEdge(scheduleTimeSchema, header, 'X-CloudScheduler-ScheduleTime') : body.scheduledTime!;
    const deps = await deployment();
    const job = jobOf(deps.environment, body.job);
    const { kind } = body;
    const starter = STARTERS[kind];
    const runId = starter.runId(job.name, scheduledTime);
    const start = { job, runId, runnerEnvironment: traceEnvironment(trace), ...(signal ? { signal } : {}) };
    const result = await starter.start(deps, start);
    const taskId = result.outcome === 'started' ? { taskId: result.taskId } : {};
    log(result.outcome === 'launch-failed' ? 'ERROR' : 'INFO', starter.message, { job: job.name, runId, scheduledTime, outcome: result.outcome, ...taskId, ...(trace.traceId ? { traceId: trace.traceId } : {}) });
    // A backup's answer is as it always was; a push's and a drill's say so.
    return { status: 200, body: { outcome: result.outcome, ...(kind === 'backup' ? {} : { kind }), job: job.name, runId, ...taskId } };
  });
}

export const scheduledBackup = createHandler(
  cached(() => {
    const s = gcpSettingsFromEnv();
    return { environment: s.environment, target: s.target, catalog: catalogOf(s), notify: notifyOf(s), launcher: launcherOf(s) };
  }),
);

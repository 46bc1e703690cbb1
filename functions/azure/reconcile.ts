/**
 * The reconcile timer (DESIGN.md §1): Container Apps emits no task-stopped event, so every two
 * minutes this settles each backup whose execution has ended — open runs, and runs the runner
 * recorded as finished itself — exactly as AWS's task-finished does (runner record + manifest +
 * execution state → succeeded or failed), releases the job's lock, alerts, and applies retention
 * after a success.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import type { ScheduledJob } from '../../core/config/environments.js';
import { reconcileRuns, type ReconciledRun } from '../../core/usecases/reconcile-runs.js';
import { retentionOf } from '../shared/retention.js';
import { azureSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, credentialOf, notifyOf, storageOf, trackerOf } from './shared/clients.js';
import type { ReconcilingDeployment } from './shared/deployment-types.js';
import { alerting, logLine } from './shared/invocation.js';

/** NCRONTAB (with seconds): every two minutes. */
export const RECONCILE_SCHEDULE = '0 */2 * * * *';

export function createHandler(deployment: () => Promise<ReconcilingDeployment>) {
  return async (_timer: Timer, context: InvocationContext): Promise<{ runs: ReconciledRun[] }> => {
    const deps = await deployment();
    const retain = async (job: ScheduledJob) => {
      const outcome = await retentionOf(deps)(job);
      if (outcome.pruned.length > 0 || outcome.failed.length > 0) context.log(logLine('retention', { job: job.name, ...outcome }));
      return outcome;
    };
    const reconciling = { ...deps, notify: alerting(deps.notify, context), retain };
    const runs = await reconcileRuns(reconciling);
    for (const run of runs) {
      if (run.outcome === 'succeeded') context.log(logLine('run finished', run));
      else if (run.outcome === 'failed') context.warn(logLine('run finished', run));
    }
    context.log(logLine('reconcile', { open: runs.length, settled: runs.filter((run) => run.outcome === 'succeeded' || run.outcome === 'failed').length }));
    return { runs };
  };
}

export const handler = createHandler(
  cached(() => {
    const s = azureSettingsFromEnv();
    return { environment: s.environment, catalog: catalogOf(s), notify: notifyOf(s), storage: storageOf(s), tracker: trackerOf(s, credentialOf(s)) };
  }),
);

/**
 * Its own Cloud Scheduler job (every few minutes) → this function: the completion step Cloud Run
 * Jobs need, since they send no task-stopped event to a function (DESIGN.md §1). Every backup
 * run not settled yet — open, or recorded as finished by the runner itself — is looked up among
 * the Cloud Run job's executions; each whose execution has ended is settled like AWS's
 * task-finished does — the runner's record and the manifest in storage decide success,
 * the lock is released, failures alert — and retention is applied after a success.
 */
import { reconcileRuns } from '../../core/usecases/reconcile-runs.js';
import { retentionOf } from '../shared/retention.js';
import { cached, gcpSettingsFromEnv } from './shared/settings.js';
import { catalogOf, notifyOf, storageOf, trackerOf } from './shared/clients.js';
import type { ReconcilingDeployment } from './shared/deployment-types.js';
import { httpFunction } from './shared/http.js';
import { log } from './shared/log.js';

export function createHandler(deployment: () => Promise<ReconcilingDeployment>) {
  return httpFunction('reconcile', async (_request, { signal }) => {
    const deps = await deployment();
    const reconciled = await reconcileRuns({ ...deps, retain: retentionOf(deps, signal) }, signal ? { signal } : {});
    const settled = reconciled.filter((run) => run.outcome === 'succeeded' || run.outcome === 'failed');
    log(settled.some((run) => run.outcome === 'failed') ? 'WARNING' : 'INFO', 'reconcile', { looked: reconciled.length, settled: settled.length, reconciled });
    return { status: 200, body: { reconciled } };
  });
}

export const reconcile = createHandler(
  cached(() => {
    const s = gcpSettingsFromEnv();
    return { environment: s.environment, catalog: catalogOf(s), notify: notifyOf(s), storage: storageOf(s), tracker: trackerOf(s) };
  }),
);

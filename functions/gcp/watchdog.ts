/**
 * Its own Cloud Scheduler job (hourly) → this function: alerts when a job has no successful
 * backup within its RPO and fails runs stuck past their timeout (DESIGN.md §7); for jobs with
 * `logs`, alerts on the archive's lag and gaps and logs `logArchiveLagSeconds` per job. Publishes
 * the freshness gauges (last success age, RPO, log archive lag) as `gauge` log lines for
 * log-based metrics and, with `OTEL_EXPORTER_OTLP_ENDPOINT` set, over OTLP.
 */
import { watchJobs } from '../../core/usecases/watch-jobs.js';
import { freshnessFromHealth, freshnessReadings } from '../../core/usecases/job-freshness.js';
import { exportGauges, gaugeLogFields, GAUGE_LOG_MESSAGE } from '../shared/freshness-telemetry.js';
import { cached, gcpSettingsFromEnv } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { WatchingDeployment } from './shared/deployment-types.js';
import { httpFunction } from './shared/http.js';
import { log } from './shared/log.js';

export function createHandler(deployment: () => Promise<WatchingDeployment>) {
  return httpFunction('watchdog', async (_request, { signal }) => {
    const deps = await deployment();
    const jobs = await watchJobs(deps, signal ? { signal } : {});
    const breached = jobs.filter((job) => job.rpoBreached).map((job) => job.job);
    const stuck = jobs.flatMap((job) => job.stuckRuns);
    // One line per job with its age (and, with `logs`, the archive's lag), for log-based metrics.
    for (const job of jobs) {
      const logs = job.logs ? { logArchiveLagSeconds: job.logs.lagSeconds ?? null, logLagBreached: job.logs.lagBreached, ...(job.logs.gap ? { logGap: job.logs.gap } : {}) } : {};
      log('INFO', 'job health', { job: job.job, secondsSinceLastSuccess: job.secondsSinceLastSuccess ?? null, rpoBreached: job.rpoBreached, ...logs });
    }
    const readings = freshnessReadings(freshnessFromHealth(deps.environment, jobs));
    for (const reading of readings) log('INFO', GAUGE_LOG_MESSAGE, gaugeLogFields(reading));
    const otlp = await exportGauges(readings);
    log(breached.length || stuck.length || otlp.outcome === 'failed' ? 'WARNING' : 'INFO', 'watchdog', { jobs: jobs.length, breached, stuck, otlp });
    return { status: 200, body: { jobs } };
  });
}

export const watchdog = createHandler(
  cached(() => {
    const s = gcpSettingsFromEnv();
    return { environment: s.environment, catalog: catalogOf(s), notify: notifyOf(s) };
  }),
);

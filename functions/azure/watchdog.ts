/**
 * The hourly watchdog timer (DESIGN.md §7): alerts when a job has no successful backup within
 * its RPO, fails runs stuck past their timeout, and logs seconds-since-last-success per job
 * (`job health {…}`) for workbooks and log alert rules. Publishes the freshness gauges (last
 * success age, RPO, log archive lag) as `gauge {…}` lines and, with `OTEL_EXPORTER_OTLP_ENDPOINT`
 * set, over OTLP.
 */
import type { InvocationContext, Timer } from '@azure/functions';
import { watchJobs, type JobHealth } from '../../core/usecases/watch-jobs.js';
import { freshnessFromHealth, freshnessReadings } from '../../core/usecases/job-freshness.js';
import { exportGauges, gaugeLogFields, GAUGE_LOG_MESSAGE } from '../shared/freshness-telemetry.js';
import { azureSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { WatchingDeployment } from './shared/deployment-types.js';
import { alerting, logLine } from './shared/invocation.js';

/** NCRONTAB (with seconds): at the top of every hour. */
export const WATCHDOG_SCHEDULE = '0 0 * * * *';

export function createHandler(deployment: () => Promise<WatchingDeployment>) {
  return async (_timer: Timer, context: InvocationContext): Promise<{ jobs: JobHealth[] }> => {
    const deps = await deployment();
    const health = await watchJobs({ ...deps, notify: alerting(deps.notify, context) });
    for (const job of health) context.log(logLine('job health', { environment: deps.environment.name, ...job }));
    const readings = freshnessReadings(freshnessFromHealth(deps.environment, health));
    for (const reading of readings) context.log(logLine(GAUGE_LOG_MESSAGE, gaugeLogFields(reading)));
    const otlp = await exportGauges(readings);
    if (otlp.outcome === 'failed') context.warn(logLine('gauges not exported over OTLP', { reason: otlp.reason }));
    context.log(logLine('watchdog', { jobs: health.length, breached: health.filter((job) => job.rpoBreached).map((job) => job.job), stuck: health.flatMap((job) => job.stuckRuns), otlp: otlp.outcome }));
    return { jobs: health };
  };
}

export const handler = createHandler(
  cached(() => {
    const s = azureSettingsFromEnv();
    return { environment: s.environment, catalog: catalogOf(s), notify: notifyOf(s) };
  }),
);

/**
 * A rate schedule → this function: alerts when a job has no successful backup within its RPO and
 * when a run is stuck past its timeout, and for jobs with `logs` when the archived log lags past
 * its RPO or lost a stretch; publishes seconds-since-last-success (and LogArchiveLagSeconds) per
 * job, from the catalog, as EMF for the CloudWatch dashboard and the RPO alarms (DESIGN.md §7),
 * and the same freshness gauges as on every cloud: `gauge` log lines and, with
 * `OTEL_EXPORTER_OTLP_ENDPOINT` set, OTLP (to an ADOT collector or any other).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { watchJobs } from '../../core/usecases/watch-jobs.js';
import { METRIC } from '../../core/platform/aws-deployment.js';
import { awsSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { WatchingDeployment } from './shared/deployment-types.js';
import { logger, metrics, observed, type InvocationOptions } from './shared/observability.js';
import { freshnessFromHealth, freshnessReadings } from '../../core/usecases/job-freshness.js';
import { exportGauges, gaugeLogFields, GAUGE_LOG_MESSAGE } from '../shared/freshness-telemetry.js';

export function createHandler(deployment: () => Promise<WatchingDeployment>) {
  return async (_event?: unknown, _context?: unknown, { signal }: InvocationOptions = {}) => {
    const deps = await deployment();
    const health = await watchJobs(deps, signal ? { signal } : {});
    for (const job of health) {
      // One metric set per job and metric: each carries its own dimensions.
      const publish = (name: string, seconds: number | undefined) => {
        if (seconds === undefined) return;
        const single = metrics.singleMetric();
        single.addDimensions({ environment: deps.environment.name, job: job.job });
        single.addMetric(name, MetricUnit.Seconds, seconds);
      };
      publish(METRIC.secondsSinceLastSuccess, job.secondsSinceLastSuccess);
      publish(METRIC.logArchiveLagSeconds, job.logs?.lagSeconds);
    }
    const readings = freshnessReadings(freshnessFromHealth(deps.environment, health));
    for (const reading of readings) logger.info(GAUGE_LOG_MESSAGE, gaugeLogFields(reading));
    const otlp = await exportGauges(readings);
    if (otlp.outcome === 'failed') logger.warn('gauges not exported over OTLP', { reason: otlp.reason });
    logger.info('watchdog', {
      otlp: otlp.outcome,
      jobs: health.length,
      breached: health.filter((job) => job.rpoBreached).map((job) => job.job),
      stuck: health.flatMap((job) => job.stuckRuns),
      logLagging: health.filter((job) => job.logs?.lagBreached).map((job) => job.job),
      logGaps: health.filter((job) => job.logs?.gap).map((job) => job.job),
    });
    return { jobs: health };
  };
}

export const handler = observed(
  createHandler(
    cached(() => {
      const s = awsSettingsFromEnv();
      return { environment: s.environment, catalog: catalogOf(s), notify: notifyOf(s) };
    }),
  ),
);

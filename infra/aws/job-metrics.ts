import { Duration } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, type METRIC } from '../../core/platform/aws-deployment.js';

/** The service name the functions run under (POWERTOOLS_SERVICE_NAME). */
export const METRICS_SERVICE = 'vaultra';

export type JobMetricName = (typeof METRIC)[keyof typeof METRIC];

export interface JobMetricOptions {
  readonly statistic: 'Sum' | 'Maximum' | 'Average';
  readonly period: Duration;
  readonly label?: string;
}

/**
 * One of a job's metrics as the functions publish it (Powertools Metrics, EMF): namespace
 * `METRICS_NAMESPACE`, dimensions `{ service, environment, job }`. Powertools adds `service`
 * (POWERTOOLS_SERVICE_NAME) to every metric as a default dimension, and CloudWatch matches
 * dimensions exactly, so the alarms name it too.
 */
export function jobMetric(environmentName: string, jobName: string, metricName: JobMetricName, options: JobMetricOptions): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: METRICS_SERVICE, environment: environmentName, job: jobName },
    statistic: options.statistic,
    period: options.period,
    ...(options.label ? { label: options.label } : {}),
  });
}

/** Hourly watchdog points, read over two hours: one late or lost run of the watchdog does not page. */
export const RPO_ALARM_PERIOD = Duration.hours(2);

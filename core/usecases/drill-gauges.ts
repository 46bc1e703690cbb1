import type { Environment } from '../config/environments.js';
import { METRIC_ATTRIBUTE, METRICS } from '../domain/telemetry-metrics.js';
import type { GaugeReading } from './job-freshness.js';
import type { JobStatus } from './job-status.js';

/**
 * The last restore drill of each enabled job, as gauges beside the freshness ones in `vaultra
 * status --prometheus`: its measured RTO (seconds, with milliseconds: a small database's drill
 * takes less than one) and whether it passed. A job never drilled, or whose last drill is still
 * running, has none; a drill that failed before its restore ran has no RTO, only `passed 0`.
 * Alert on a drill past its budget in PromQL, or on `vaultra_job_last_drill_passed == 0`.
 */
export function drillReadings(environment: Environment, statuses: readonly JobStatus[]): GaugeReading[] {
  return statuses.flatMap((status) => {
    const drill = status.lastDrill;
    if (status.state === 'disabled' || !drill || (drill.status !== 'succeeded' && drill.status !== 'failed')) return [];
    const attributes = { [METRIC_ATTRIBUTE.job]: status.job, [METRIC_ATTRIBUTE.environment]: environment.name };
    return [
      ...(drill.rtoMs === undefined ? [] : [{ metric: METRICS.lastDrillRto, attributes, value: drill.rtoMs / 1000 }]),
      { metric: METRICS.lastDrillPassed, attributes, value: drill.status === 'succeeded' ? 1 : 0 },
    ];
  });
}

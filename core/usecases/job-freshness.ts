import type { Environment, ScheduledJob } from '../config/environments.js';
import { ENGINE_IDS, type EngineId } from '../domain/engine-vocabulary.js';
import { dbSystemOf } from '../domain/db-system.js';
import { METRIC_ATTRIBUTE, METRICS, type MetricDefinition } from '../domain/telemetry-metrics.js';
import type { JobStatus } from './job-status.js';
import type { JobHealth } from './watch-jobs.js';

/**
 * How fresh one enabled job's backups are, in whole seconds, as the catalog records them: the
 * gauges `vaultra status --prometheus` prints and every cloud's watchdog emits. Both compute it
 * from what they already read (`jobStatuses`, `watchJobs`), which measure ages with the same
 * functions, so a dashboard and an alert cannot disagree on who is late.
 */
export interface JobFreshness {
  readonly job: string;
  readonly environment: string;
  /** OTel `db.system` of the newest successful backup's engine; `undefined` before the first one. */
  readonly dbSystem?: string;
  /**
   * Seconds since the newest successful backup ended or, before the first one, since the job's
   * first run (what the RPO is measured on: a job that never succeeded ages too); `undefined`
   * for a job that never ran.
   */
  readonly lastSuccessAgeSeconds?: number;
  readonly rpoSeconds: number;
  /** Jobs with `logs` only: seconds of the server's log not yet archived; `undefined` with nothing archived or backed up. */
  readonly logArchiveLagSeconds?: number;
}

/** One gauge value with its attributes (OTel keys, dotted), ready for an OTel meter or a Prometheus text. */
export interface GaugeReading {
  readonly metric: MetricDefinition;
  readonly attributes: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Freshness of `vaultra status`'s jobs. Disabled jobs are left out: they are not judged, so no alert may fire on them. */
export function freshnessFromStatuses(environment: Environment, statuses: readonly JobStatus[]): JobFreshness[] {
  const measured = new Map(
    statuses
      .filter((status) => status.state !== 'disabled')
      .map((status) => [status.job, { engine: status.lastSuccess?.engine, ageSeconds: secondsOf(status.ageMs), logLagSeconds: secondsOf(status.logs?.lagMs) }]),
  );
  return freshnessOf(environment, measured);
}

/** Freshness of the watchdog's jobs (it checks enabled jobs only). */
export function freshnessFromHealth(environment: Environment, health: readonly JobHealth[]): JobFreshness[] {
  const measured = new Map(health.map((job) => [job.job, { engine: job.engine, ageSeconds: job.secondsSinceLastSuccess, logLagSeconds: job.logs?.lagSeconds }]));
  return freshnessOf(environment, measured);
}

/**
 * The gauges of `freshness`, one reading per job and metric that has a value: a job that never
 * ran has an RPO but no age (alert on it with `vaultra_job_rpo_seconds unless on(vaultra_job)
 * vaultra_job_last_success_age_seconds`).
 */
export function freshnessReadings(freshness: readonly JobFreshness[]): GaugeReading[] {
  return freshness.flatMap((job) => {
    const attributes = {
      [METRIC_ATTRIBUTE.job]: job.job,
      [METRIC_ATTRIBUTE.environment]: job.environment,
      ...(job.dbSystem ? { [METRIC_ATTRIBUTE.dbSystem]: job.dbSystem } : {}),
    };
    const reading = (metric: MetricDefinition, value: number | undefined): GaugeReading[] => (value === undefined ? [] : [{ metric, attributes, value }]);
    return [...reading(METRICS.lastSuccessAge, job.lastSuccessAgeSeconds), ...reading(METRICS.rpo, job.rpoSeconds), ...reading(METRICS.logArchiveLag, job.logArchiveLagSeconds)];
  });
}

interface Measured {
  readonly engine: string | undefined;
  readonly ageSeconds: number | undefined;
  readonly logLagSeconds: number | undefined;
}

/** The environment's jobs that were measured, in config order, each with its RPO from the config. */
function freshnessOf(environment: Environment, measured: ReadonlyMap<string, Measured>): JobFreshness[] {
  return environment.jobs.flatMap((job: ScheduledJob) => {
    const values = measured.get(job.name);
    if (!values) return [];
    return [
      {
        job: job.name,
        environment: environment.name,
        ...(isEngineId(values.engine) ? { dbSystem: dbSystemOf(values.engine) } : {}),
        ...(values.ageSeconds !== undefined ? { lastSuccessAgeSeconds: values.ageSeconds } : {}),
        rpoSeconds: Math.round(job.rpoMs / 1000),
        ...(job.logs && values.logLagSeconds !== undefined ? { logArchiveLagSeconds: values.logLagSeconds } : {}),
      },
    ];
  });
}

/** Whole seconds, as the watchdog reports them, so both paths give the same numbers. */
function secondsOf(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms / 1000);
}

function isEngineId(engine: string | undefined): engine is EngineId {
  return (ENGINE_IDS as readonly (string | undefined)[]).includes(engine);
}

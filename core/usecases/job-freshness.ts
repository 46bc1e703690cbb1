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
  return statuses
    .filter((status) => status.state !== 'disabled')
    .map((status) =>
      freshnessOf(environment, status.job, {
        engine: status.lastSuccess?.engine,
        ageSeconds: status.ageMs === undefined ? undefined : Math.round(status.ageMs / 1000),
        logLagSeconds: status.logs?.lagMs === undefined ? undefined : Math.round(status.logs.lagMs / 1000),
      }),
    );
}

/** Freshness of the watchdog's jobs (it checks enabled jobs only). */
export function freshnessFromHealth(environment: Environment, health: readonly JobHealth[]): JobFreshness[] {
  return health.map((job) => freshnessOf(environment, job.job, { engine: job.engine, ageSeconds: job.secondsSinceLastSuccess, logLagSeconds: job.logs?.lagSeconds }));
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

function freshnessOf(environment: Environment, name: string, measured: { engine: string | undefined; ageSeconds: number | undefined; logLagSeconds: number | undefined }): JobFreshness {
  const job: ScheduledJob | undefined = environment.jobs.find((candidate) => candidate.name === name);
  // Both callers list the environment's own jobs; a miss is a programming error, not a config one.
  if (!job) throw new Error(`job ${name} is not in environment ${environment.name}`);
  return {
    job: name,
    environment: environment.name,
    ...(isEngineId(measured.engine) ? { dbSystem: dbSystemOf(measured.engine) } : {}),
    ...(measured.ageSeconds !== undefined ? { lastSuccessAgeSeconds: measured.ageSeconds } : {}),
    rpoSeconds: Math.round(job.rpoMs / 1000),
    ...(job.logs && measured.logLagSeconds !== undefined ? { logArchiveLagSeconds: measured.logLagSeconds } : {}),
  };
}

function isEngineId(engine: string | undefined): engine is EngineId {
  return (ENGINE_IDS as readonly (string | undefined)[]).includes(engine);
}

/**
 * The metrics Vaultra emits through OpenTelemetry, one list for every emitter (the runner, the
 * watchdogs, `vaultra status --prometheus`) and every reader (the Grafana dashboard, the docs),
 * so a dashboard panel can only query a metric that exists.
 *
 * Names follow the OTel conventions (dotted, unit in `unit`, not in the name unless it is the
 * quantity itself); `prometheus` is the name the OpenTelemetry Collector's Prometheus exporter
 * gives it (dots → underscores, the unit appended unless the name already holds it, `_total` on
 * counters), which is what PromQL queries. Histograms also expose `_bucket`, `_sum`, `_count`.
 */
export type MetricInstrument = 'counter' | 'histogram' | 'gauge';

export interface MetricDefinition {
  readonly name: string;
  readonly instrument: MetricInstrument;
  /** UCUM, as OTel wants it: `s`, `By`, `By/s`, `1`, `{run}`. */
  readonly unit: string;
  readonly description: string;
  readonly prometheus: string;
}

/** Attribute keys the metrics carry (Prometheus labels: dots become underscores). */
export const METRIC_ATTRIBUTE = {
  job: 'vaultra.job',
  environment: 'vaultra.environment',
  /** `backup`, `log`, `restore`, `verify`, `drill`. */
  runKind: 'vaultra.run.kind',
  /** `succeeded`, `failed`. */
  status: 'vaultra.run.status',
  /** OTel semantic convention: the database engine (`postgresql`, `mysql` — MariaDB too —, `mongodb`, `sqlite`, `directory`, `docker-volume`; core/domain/db-system.ts). */
  dbSystem: 'db.system',
  /** OTel semantic convention: the failure's class (the error's name, e.g. `ToolFailedError`). */
  errorType: 'error.type',
  /** A storage destination's name (`primary`, a fan-out copy's name). */
  destination: 'vaultra.destination',
} as const;

export const METRICS = {
  runDuration: { name: 'vaultra.run.duration', instrument: 'histogram', unit: 's', description: 'Wall time of a run, from start to its recorded outcome', prometheus: 'vaultra_run_duration_seconds' },
  runs: { name: 'vaultra.runs', instrument: 'counter', unit: '{run}', description: 'Runs finished, by kind and status', prometheus: 'vaultra_runs_total' },
  runFailures: { name: 'vaultra.run.failures', instrument: 'counter', unit: '{run}', description: 'Failed runs, by error.type', prometheus: 'vaultra_run_failures_total' },
  rawBytes: { name: 'vaultra.run.raw.bytes', instrument: 'counter', unit: 'By', description: 'Bytes read from the source (before compression)', prometheus: 'vaultra_run_raw_bytes_total' },
  storedBytes: { name: 'vaultra.run.stored.bytes', instrument: 'counter', unit: 'By', description: 'Bytes written to storage (compressed and encrypted), per destination', prometheus: 'vaultra_run_stored_bytes_total' },
  throughput: { name: 'vaultra.run.throughput', instrument: 'histogram', unit: 'By/s', description: 'Raw bytes per second of a run', prometheus: 'vaultra_run_throughput_bytes_per_second' },
  compressionRatio: { name: 'vaultra.run.compression.ratio', instrument: 'histogram', unit: '1', description: 'Raw bytes over stored bytes of a run', prometheus: 'vaultra_run_compression_ratio' },
  uploadRetries: { name: 'vaultra.upload.retries', instrument: 'counter', unit: '{retry}', description: 'Storage requests retried, per destination', prometheus: 'vaultra_upload_retries_total' },
  lastSuccessAge: { name: 'vaultra.job.last_success.age', instrument: 'gauge', unit: 's', description: 'Seconds since the job\'s last successful backup, from the catalog', prometheus: 'vaultra_job_last_success_age_seconds' },
  rpo: { name: 'vaultra.job.rpo', instrument: 'gauge', unit: 's', description: 'The job\'s recovery point objective', prometheus: 'vaultra_job_rpo_seconds' },
  logArchiveLag: { name: 'vaultra.job.log_archive.lag', instrument: 'gauge', unit: 's', description: 'Seconds since the end of the job\'s archived change log', prometheus: 'vaultra_job_log_archive_lag_seconds' },
  drillRto: { name: 'vaultra.drill.rto', instrument: 'histogram', unit: 's', description: 'Recovery time a restore drill measured (fetch, restore, verify), by job and outcome', prometheus: 'vaultra_drill_rto_seconds' },
  lastDrillRto: { name: 'vaultra.job.last_drill.rto', instrument: 'gauge', unit: 's', description: 'The RTO the job\'s last restore drill measured, from the catalog', prometheus: 'vaultra_job_last_drill_rto_seconds' },
  lastDrillPassed: { name: 'vaultra.job.last_drill.passed', instrument: 'gauge', unit: '{drill}', description: 'Whether the job\'s last restore drill passed (1) or failed (0), from the catalog', prometheus: 'vaultra_job_last_drill_passed' },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

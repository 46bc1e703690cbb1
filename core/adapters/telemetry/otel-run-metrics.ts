import type { Attributes, Counter, Histogram, Meter } from '@opentelemetry/api';
import { METRIC_ATTRIBUTE, METRICS, type MetricDefinition } from '../../domain/telemetry-metrics.js';

/** One finished run, as its metrics see it (built from the run record by the runner). */
export interface RunMeasurement {
  readonly kind: 'backup' | 'log' | 'restore' | 'verify' | 'drill';
  /** Left out when it is not known (a restore that failed before it found its backup, with no --job). */
  readonly job?: string;
  readonly environment?: string;
  /** `db.system` (dbSystemOf). */
  readonly dbSystem?: string;
  readonly status: 'succeeded' | 'failed';
  readonly durationMs: number;
  /** The error's class name, for a failed run. */
  readonly errorType?: string;
  readonly bytesRaw?: number;
  /** Bytes stored by the run in each destination (by its location). */
  readonly storedPerDestination?: readonly { readonly destination: string; readonly bytes: number }[];
  /** Storage requests retried during the run. */
  readonly retries?: number;
  /** A drill's measured RTO (fetch + restore + verify; its scratch server's start left out). */
  readonly rtoMs?: number;
}

/**
 * The run metrics of `METRICS` (names, units and descriptions from that one list), recorded
 * once when a run ends: the runner is short-lived, so its reader exports at shutdown, not on a
 * timer. The freshness gauges (`lastSuccessAge`, `rpo`, `logArchiveLag`) are not the runner's:
 * the watchdog and `vaultra status` emit them from the catalog.
 */
export class OtelRunMetrics {
  private readonly runDuration: Histogram;
  private readonly runs: Counter;
  private readonly runFailures: Counter;
  private readonly rawBytes: Counter;
  private readonly storedBytes: Counter;
  private readonly throughput: Histogram;
  private readonly compressionRatio: Histogram;
  private readonly uploadRetries: Counter;
  private readonly drillRto: Histogram;

  constructor(meter: Meter) {
    const counter = (definition: MetricDefinition) => meter.createCounter(definition.name, { unit: definition.unit, description: definition.description });
    const histogram = (definition: MetricDefinition, boundaries?: number[]) =>
      meter.createHistogram(definition.name, { unit: definition.unit, description: definition.description, ...(boundaries ? { advice: { explicitBucketBoundaries: boundaries } } : {}) });
    // Buckets a backup's figures fall into: seconds to hours, kB/s to GB/s, ratios 1 to 20.
    this.runDuration = histogram(METRICS.runDuration, [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400]);
    this.runs = counter(METRICS.runs);
    this.runFailures = counter(METRICS.runFailures);
    this.rawBytes = counter(METRICS.rawBytes);
    this.storedBytes = counter(METRICS.storedBytes);
    this.throughput = histogram(METRICS.throughput, [1e4, 1e5, 1e6, 1e7, 5e7, 1e8, 2.5e8, 5e8, 1e9]);
    this.compressionRatio = histogram(METRICS.compressionRatio, [1, 1.5, 2, 3, 4, 6, 8, 12, 20]);
    this.uploadRetries = counter(METRICS.uploadRetries);
    // An RTO is seconds to hours: the buckets of a run's duration.
    this.drillRto = histogram(METRICS.drillRto, [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14_400]);
  }

  record(run: RunMeasurement): void {
    const attributes: Attributes = {
      ...(run.job ? { [METRIC_ATTRIBUTE.job]: run.job } : {}),
      [METRIC_ATTRIBUTE.runKind]: run.kind,
      ...(run.environment ? { [METRIC_ATTRIBUTE.environment]: run.environment } : {}),
      ...(run.dbSystem ? { [METRIC_ATTRIBUTE.dbSystem]: run.dbSystem } : {}),
    };
    const seconds = run.durationMs / 1000;
    this.runs.add(1, { ...attributes, [METRIC_ATTRIBUTE.status]: run.status });
    this.runDuration.record(seconds, { ...attributes, [METRIC_ATTRIBUTE.status]: run.status });
    if (run.retries) this.uploadRetries.add(run.retries, attributes);
    // A failed drill's RTO is recorded too (labelled failed): how far it got, and how long that took.
    if (run.kind === 'drill' && run.rtoMs !== undefined) this.drillRto.record(run.rtoMs / 1000, { ...attributes, [METRIC_ATTRIBUTE.status]: run.status });
    if (run.status === 'failed') {
      this.runFailures.add(1, { ...attributes, [METRIC_ATTRIBUTE.errorType]: run.errorType ?? 'Error' });
      return;
    }
    const stored = run.storedPerDestination ?? [];
    for (const { destination, bytes } of stored) this.storedBytes.add(bytes, { ...attributes, [METRIC_ATTRIBUTE.destination]: destination });
    if (run.bytesRaw === undefined) return;
    this.rawBytes.add(run.bytesRaw, attributes);
    if (seconds > 0) this.throughput.record(run.bytesRaw / seconds, attributes);
    const storedOnce = stored[0]?.bytes;
    if (storedOnce) this.compressionRatio.record(run.bytesRaw / storedOnce, attributes);
  }
}

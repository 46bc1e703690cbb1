import type { GaugeReading } from '../../core/usecases/job-freshness.js';
import { prometheusLabelName } from '../../core/domain/prometheus-names.js';
import { oneLine } from '../../core/errors.js';
import { redact } from '../../core/domain/redact.js';

/**
 * How every cloud's watchdog publishes the freshness gauges (DESIGN.md §7; names in
 * core/domain/telemetry-metrics.ts): always as structured log lines, which Cloud Logging and
 * Log Analytics turn into metrics without any collector, and over OTLP when the standard
 * `OTEL_*` variables ask for metrics — the same series the OpenTelemetry Collector hands to
 * Prometheus, so one Grafana dashboard serves every cloud and `vaultra status --prometheus`.
 */

/** The message of a gauge's log line: a log-based metric filters on it. */
export const GAUGE_LOG_MESSAGE = 'gauge';

/**
 * One log line's fields per reading, in Prometheus's words: `metric` (its Prometheus name),
 * `value`, and one field per label (`vaultra_job`, `vaultra_environment`, `db_system`). A
 * log-based metric per name extracts `value` and the labels, and matches the Prometheus series.
 */
export function gaugeLogFields(reading: GaugeReading): Record<string, string | number> {
  const labels = Object.fromEntries(Object.entries(reading.attributes).map(([key, value]) => [prometheusLabelName(key), value]));
  return { metric: reading.metric.prometheus, value: reading.value, ...labels };
}

/** `off`: no OTLP metrics asked for; `exported`; or why the export failed (one line, for the log). */
export type GaugeExport = { readonly outcome: 'off' } | { readonly outcome: 'exported'; readonly gauges: number } | { readonly outcome: 'failed'; readonly reason: string };

/**
 * Sends `readings` as OTel gauges over OTLP/HTTP when an endpoint is set
 * (`OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, not turned off by
 * `OTEL_METRICS_EXPORTER=none` or `OTEL_SDK_DISABLED=true`). The SDK loads only then, so a
 * watchdog without a collector pays nothing for it. Never rejects: a collector that is down must
 * not stop the watchdog's alerts, so the caller logs the outcome. A down endpoint costs at most
 * `OTEL_EXPORTER_OTLP_TIMEOUT` (10 s by default), the exporter's own retries included.
 */
export async function exportGauges(readings: readonly GaugeReading[]): Promise<GaugeExport> {
  // process.env, not a parameter: the OTLP exporter reads its endpoint, headers and timeout there.
  const env = process.env;
  if (!otlpMetricsWanted(env)) return { outcome: 'off' };
  try {
    const { sendGauges } = await import('./otlp-gauges.js');
    await sendGauges(readings, env.OTEL_SERVICE_NAME?.trim() || 'vaultra-watchdog');
    return { outcome: 'exported', gauges: readings.length };
  } catch (error) {
    // The endpoint may carry credentials in its URL; the headers (tokens) never reach a message.
    return { outcome: 'failed', reason: redact(oneLine(error)) };
  }
}

function otlpMetricsWanted(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  if (env.OTEL_METRICS_EXPORTER?.trim().toLowerCase() === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim());
}

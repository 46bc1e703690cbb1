import { AggregationTemporality, type PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { OtlpProtocol } from './telemetry-settings.js';

/** The exporters of one OTLP protocol; each reads its endpoint, headers and timeout from the standard variables. */
export interface OtlpExporters {
  spans(): SpanExporter;
  metrics(options: MetricExporterOptions): PushMetricExporter;
}

/** What the runner decides for the metric exporter; unset fields are left to the standard variables. */
export interface MetricExporterOptions {
  readonly temporalityPreference?: AggregationTemporality;
}

/** Delta when the settings ask for it; otherwise nothing, so the exporter reads OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE. */
export function metricExporterOptions(deltaMetrics: boolean | undefined): MetricExporterOptions {
  return deltaMetrics ? { temporalityPreference: AggregationTemporality.DELTA } : {};
}

/** The chosen protocol's exporters, and only those loaded (gRPC's pull in a gRPC stack). */
export async function otlpExportersFor(protocol: OtlpProtocol): Promise<OtlpExporters> {
  if (protocol === 'grpc') return (await import('./otlp-grpc-exporters.js')).otlpExporters;
  if (protocol === 'http/json') return (await import('./otlp-json-exporters.js')).otlpExporters;
  return (await import('./otlp-proto-exporters.js')).otlpExporters;
}

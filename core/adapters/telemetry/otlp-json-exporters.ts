import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import type { OtlpExporters } from './otlp-exporters.js';

/** OTLP over http/json. Its own module, imported only when chosen: each protocol's exporters are their own bundle chunk. */
export const otlpExporters: OtlpExporters = {
  spans: () => new OTLPTraceExporter(),
  metrics: (options) => new OTLPMetricExporter(options),
};

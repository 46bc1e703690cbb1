import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import type { OtlpExporters } from './otlp-exporters.js';

/** OTLP over grpc. Its own module, imported only when chosen: each protocol's exporters are their own bundle chunk. */
export const otlpExporters: OtlpExporters = {
  spans: () => new OTLPTraceExporter(),
  metrics: (options) => new OTLPMetricExporter(options),
};

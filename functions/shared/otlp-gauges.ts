/**
 * The OpenTelemetry SDK side of `exportGauges`, loaded only when OTLP metrics are asked for.
 * Separate from the runner's SDK setup: a watchdog invocation records a handful of gauges once
 * and must know whether they arrived before the function freezes, so it collects and exports
 * them itself instead of running a periodic reader (whose flush swallows export errors).
 */
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import type { Gauge } from '@opentelemetry/api';
import type { GaugeReading } from '../../core/usecases/job-freshness.js';

/** Collects on demand only: `sendGauges` exports what it collects, once. */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/**
 * Records each reading on a gauge named by its metric (`vaultra.job.last_success.age`, unit `s`)
 * and sends them in one OTLP/HTTP request to the endpoint the `OTEL_EXPORTER_OTLP_*` variables
 * name (the exporter reads them, headers and timeout included). Rejects when the export fails.
 */
export async function sendGauges(readings: readonly GaugeReading[], serviceName: string): Promise<void> {
  // OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME as every SDK reads them, with our default name.
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': serviceName })).merge(detectResources({ detectors: [envDetector] }));
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ resource, readers: [reader] });
  const exporter = new OTLPMetricExporter();
  try {
    const meter = provider.getMeter('vaultra-watchdog');
    const gauges = new Map<string, Gauge>();
    for (const { metric, attributes, value } of readings) {
      const gauge = gauges.get(metric.name) ?? meter.createGauge(metric.name, { unit: metric.unit, description: metric.description });
      gauges.set(metric.name, gauge);
      gauge.record(value, attributes);
    }
    const { resourceMetrics } = await reader.collect();
    const result = await new Promise<ExportResult>((resolve) => exporter.export(resourceMetrics, resolve));
    if (result.code !== ExportResultCode.SUCCESS) throw new Error(`OTLP metrics export failed: ${result.error?.message ?? 'no reason given'}`);
  } finally {
    await provider.shutdown();
    await exporter.shutdown();
  }
}

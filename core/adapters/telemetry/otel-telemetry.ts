import { context, propagation, ROOT_CONTEXT, trace, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { setGlobalErrorHandler, W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';
import type { RunTracer } from '../../ports/run-tracer.js';
import { noTracing } from '../../ports/run-tracer.js';
import { redact } from '../../domain/redact.js';
import { oneLine } from '../../errors.js';
import { OtelRunTracer } from './otel-run-tracer.js';
import { OtelRunMetrics, type RunMeasurement } from './otel-run-metrics.js';
import type { TelemetrySettings } from './telemetry-settings.js';
import { metricExporterOptions, otlpExportersFor } from './otlp-exporters.js';

/** What the runner holds while telemetry is on. */
export interface TelemetrySession {
  readonly tracer: RunTracer;
  recordRun(run: RunMeasurement): void;
  /** A request was retried: an event on the phase it happened in. `message` is already redacted. */
  retried(message: string, attempt: number): void;
  /** The ids of the span active here, for log lines (`trace_id`, `span_id`); none outside a span. */
  activeIds(): { readonly trace_id: string; readonly span_id: string } | undefined;
  /**
   * Exports what is left and stops. Resolves within `timeoutMs` whatever the collector does
   * (down, hung): telemetry never holds a finished run's process open, nor fails it.
   * Returns false when the export did not finish in time.
   */
  shutdown(timeoutMs: number): Promise<boolean>;
}

/**
 * Starts the OpenTelemetry SDK as the settings say: tracer and meter providers on the OTLP
 * exporter of the chosen protocol (each exporter reads its endpoint, headers and timeout from
 * the standard variables), the resource from `OTEL_SERVICE_NAME`/`OTEL_RESOURCE_ATTRIBUTES`
 * over `service.name=vaultra`, and the launcher's `TRACEPARENT` as the parent of the run.
 * This module is the only one that loads the SDK; the runner imports it only when an endpoint is set.
 */
export async function startOtelTelemetry(settings: TelemetrySettings, version: string, warn: (line: string) => void): Promise<TelemetrySession> {
  let warned = false;
  // The SDK reports export failures here; one line, once: the run goes on without telemetry.
  setGlobalErrorHandler((error) => {
    if (warned) return;
    warned = true;
    warn(`warning: OpenTelemetry export failed (${redact(oneLine(error))}); the run goes on without it`);
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const resource = runnerResource(version);

  const tracerProvider = settings.traces ? new BasicTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor((await otlpExportersFor(settings.traces)).spans())] }) : undefined;
  const meterProvider = settings.metrics ? new MeterProvider({ resource, readers: [new PeriodicExportingMetricReader({ exporter: (await otlpExportersFor(settings.metrics)).metrics(metricExporterOptions(settings.deltaMetrics)) })] }) : undefined;
  // Not registered as the global providers: the cloud SDKs (Firestore, Azure) trace through the
  // global API, and their request spans are theirs to turn on, not a side effect of ours.
  const runMetrics = meterProvider ? new OtelRunMetrics(meterProvider.getMeter('vaultra', version)) : undefined;

  return {
    tracer: tracerProvider ? new OtelRunTracer(tracerProvider.getTracer('vaultra', version), processContext(settings)) : noTracing,
    recordRun: (run) => runMetrics?.record(run),
    retried: (message, attempt) => void trace.getActiveSpan()?.addEvent('retry', { 'vaultra.retry.attempt': attempt, 'vaultra.retry.reason': message }),
    activeIds: () => {
      const span = trace.getActiveSpan()?.spanContext();
      return span ? { trace_id: span.traceId, span_id: span.spanId } : undefined;
    },
    shutdown: async (timeoutMs) => {
      const stopped = Promise.allSettled([tracerProvider?.shutdown(), meterProvider?.shutdown()]).then(() => true);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((resolve) => (timer = setTimeout(resolve, timeoutMs, false)));
      try {
        return await Promise.race([stopped, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The parent of the run's first span: the W3C trace context the launcher passed in the environment. */
function processContext(settings: TelemetrySettings): Context {
  if (!settings.parent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, settings.parent);
}

/** `service.name=vaultra` and the version, under whatever the standard variables say. */
function runnerResource(version: string): Resource {
  return defaultResource()
    .merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: 'vaultra', [ATTR_SERVICE_VERSION]: version }))
    .merge(detectResources({ detectors: [envDetector] }));
}

/**
 * The RunTracer port over the OpenTelemetry SDK (core/adapters/telemetry/otel-run-tracer.ts), on
 * the SDK's own in-memory exporter: phases nest through the async context under the process's
 * trace, a failure is one redacted line with its class, and what `fn` returns or throws is
 * unchanged.
 */
import { context, propagation, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OtelRunTracer } from '../../core/adapters/telemetry/otel-run-tracer.js';
import { registerSecret } from '../../core/domain/redact.js';
import { DumpFailedError } from '../../core/errors.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_ID = 'b7ad6b7169203331';

describe('OtelRunTracer', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  const launcher = new W3CTraceContextPropagator().extract(ROOT_CONTEXT, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` }, { get: (carrier, key) => carrier[key], keys: Object.keys });
  const tracer = new OtelRunTracer(provider.getTracer('test'), launcher);

  beforeAll(() => {
    context.setGlobalContextManager(contextManager.enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  });
  afterAll(() => {
    context.disable();
    propagation.disable();
  });
  beforeEach(() => exporter.reset());

  it('nests phases under the run, and the run under the launcher\'s span, across awaits', async () => {
    const value = await tracer.span('backup', { 'vaultra.job': 'shop', 'vaultra.run_id': undefined }, async () => {
      await tracer.span('claim', {}, () => new Promise((resolve) => setTimeout(resolve, 5)));
      return tracer.span('commit', {}, async (span) => {
        span.addEvent('stored', { 'vaultra.destination': 'file:///store' });
        return 42;
      });
    });

    expect(value).toBe(42);
    const spans = exporter.getFinishedSpans();
    const byName = Object.fromEntries(spans.map((span) => [span.name, span]));
    expect(spans.map((span) => span.spanContext().traceId)).toEqual([TRACE_ID, TRACE_ID, TRACE_ID]);
    expect(byName.backup!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(byName.claim!.parentSpanContext?.spanId).toBe(byName.backup!.spanContext().spanId);
    expect(byName.commit!.parentSpanContext?.spanId).toBe(byName.backup!.spanContext().spanId);
    expect(byName.backup!.attributes).toEqual({ 'vaultra.job': 'shop' });
    expect(byName.commit!.events.map((event) => [event.name, event.attributes])).toEqual([['stored', { 'vaultra.destination': 'file:///store' }]]);
  });

  it('a rejected phase is ERROR with its class and one redacted line, and rejects with the same error', async () => {
    const secret = 'canary-otel-unit-secret';
    registerSecret(secret);
    const failure = new DumpFailedError(`pg_dump: connection failed for password ${secret}\nsecond line`, `password ${secret}`);

    await expect(tracer.span('backup', {}, () => tracer.span('start dump', {}, () => Promise.reject(failure)))).rejects.toBe(failure);

    for (const span of exporter.getFinishedSpans()) {
      expect(span.status.code).toBe(2);
      expect(span.status.message).not.toContain(secret);
      expect(span.status.message).not.toContain('\n');
      expect(span.attributes['error.type']).toBe('DumpFailedError');
      const exception = span.events.find((event) => event.name === 'exception')!;
      expect(exception.attributes).toEqual({ 'exception.type': 'DumpFailedError', 'exception.message': span.status.message });
    }
  });

  it('fail() marks a phase failed without throwing (a run whose failure is its result)', async () => {
    await tracer.span('backup', {}, async (span) => span.fail(new Error('the dump tool exited 1')));

    const [span] = exporter.getFinishedSpans();
    expect(span!.status).toEqual({ code: 2, message: 'the dump tool exited 1' });
  });
});

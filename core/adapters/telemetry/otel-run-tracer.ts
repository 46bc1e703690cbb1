import { context, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { RunTracer, TraceAttributes, TraceSpan } from '../../ports/run-tracer.js';
import { redact } from '../../domain/redact.js';
import { oneLine } from '../../errors.js';

/**
 * The `RunTracer` port over an OpenTelemetry tracer. A phase becomes a span, the child of the
 * span active in its async context (AsyncLocalStorage) or, for the run's first span, of the
 * trace the process was started in (`TRACEPARENT`), so one trace runs scheduler → function →
 * runner → phases.
 */
export class OtelRunTracer implements RunTracer {
  constructor(
    private readonly tracer: Tracer,
    /** The context a span without an active parent starts in: the launcher's trace, or none. */
    private readonly processContext: Context,
  ) {}

  async span<T>(name: string, attributes: TraceAttributes, fn: (span: TraceSpan) => Promise<T>): Promise<T> {
    const active = context.active();
    const parent = trace.getSpan(active) ? active : this.processContext;
    return this.tracer.startActiveSpan(name, { attributes: definedOnly(attributes) }, parent, async (span) => {
      try {
        return await fn(phaseOf(span));
      } catch (error) {
        markFailed(span, error);
        throw error;
      } finally {
        span.end();
      }
    });
  }
}

function phaseOf(span: Span): TraceSpan {
  return {
    setAttributes: (attributes) => void span.setAttributes(definedOnly(attributes)),
    addEvent: (name, attributes) => void span.addEvent(name, attributes ? definedOnly(attributes) : undefined),
    fail: (error) => markFailed(span, error),
  };
}

/**
 * Status ERROR, `error.type` (the error's class) and an exception event with the one-line
 * message, redacted like every line the runner prints, and no stack (it may quote a secret).
 */
function markFailed(span: Span, error: unknown): void {
  const type = error instanceof Error ? error.name : 'Error';
  const message = redact(oneLine(error));
  span.recordException({ name: type, message });
  span.setAttribute('error.type', type);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

function definedOnly(attributes: TraceAttributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined)) as Attributes;
}

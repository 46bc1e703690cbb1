import type { RunTracer, TraceAttributes, TraceSpan } from '../core/ports/run-tracer.js';
import { METRIC_ATTRIBUTE } from '../core/domain/telemetry-metrics.js';

/**
 * What a restore or verify ran on, for its metrics: the job and database system. The use cases
 * learn them when they locate the backup and say so on their phases (`locatedAttributes`); the
 * runner reads them there rather than asking every use case for one more callback.
 */
export interface RunSubject {
  job?: string;
  dbSystem?: string;
}

/** `inner`, with every attribute its phases set also noted in `subject` when it names the job or the database system. */
export function subjectNotingTracer(inner: RunTracer, subject: RunSubject): RunTracer {
  const note = (attributes: TraceAttributes) => {
    const job = attributes[METRIC_ATTRIBUTE.job];
    const dbSystem = attributes[METRIC_ATTRIBUTE.dbSystem];
    if (typeof job === 'string' && job !== '') subject.job = job;
    if (typeof dbSystem === 'string' && dbSystem !== '') subject.dbSystem = dbSystem;
  };
  return {
    span: (name, attributes, fn) => {
      note(attributes);
      return inner.span(name, attributes, (span) => fn(notingSpan(span, note)));
    },
  };
}

function notingSpan(span: TraceSpan, note: (attributes: TraceAttributes) => void): TraceSpan {
  return {
    setAttributes: (attributes) => {
      note(attributes);
      span.setAttributes(attributes);
    },
    addEvent: (name, attributes) => span.addEvent(name, attributes),
    fail: (error) => span.fail(error),
  };
}

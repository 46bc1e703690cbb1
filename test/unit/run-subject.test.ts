import { describe, expect, it } from 'vitest';
import { noTracing, type RunTracer, type TraceAttributes } from '../../core/ports/run-tracer.js';
import { subjectNotingTracer, type RunSubject } from '../../runner/run-subject.js';

/** A tracer that records what reaches it: the wrapper must pass everything on unchanged. */
function recordingTracer(seen: { name: string; attributes: TraceAttributes[] }[]): RunTracer {
  return {
    span: (name, attributes, fn) => {
      const entry = { name, attributes: [attributes] };
      seen.push(entry);
      return fn({ setAttributes: (more) => void entry.attributes.push(more), addEvent: () => undefined, fail: () => undefined });
    },
  };
}

describe('the run subject of a restore or verify, from its phases', () => {
  it('notes the job and db.system the use case puts on a phase, and passes every attribute on', async () => {
    const subject: RunSubject = { job: 'from-option' };
    const seen: { name: string; attributes: TraceAttributes[] }[] = [];
    const tracer = subjectNotingTracer(recordingTracer(seen), subject);

    await tracer.span('locate', {}, async (span) => span.setAttributes({ 'vaultra.job': 'shop', 'db.system': 'postgresql', 'db.namespace': 'shop' }));
    await tracer.span('authenticate', { 'vaultra.job': '' }, async () => undefined);

    expect(subject).toEqual({ job: 'shop', dbSystem: 'postgresql' });
    expect(seen.map((entry) => entry.name)).toEqual(['locate', 'authenticate']);
    expect(seen[0]!.attributes).toEqual([{}, { 'vaultra.job': 'shop', 'db.system': 'postgresql', 'db.namespace': 'shop' }]);
  });

  it('keeps what it had when no phase names a job (tracing off underneath)', async () => {
    const subject: RunSubject = {};
    const result = await subjectNotingTracer(noTracing, subject).span('locate', {}, async () => 42);
    expect(result).toBe(42);
    expect(subject).toEqual({});
  });
});

import type { IncomingHttpHeaders } from 'node:http';

export interface TraceContext {
  /** The W3C `traceparent` for the runner (`TRACEPARENT`), when the request carried a trace. */
  readonly traceparent?: string;
  /** The 32-hex trace id, for the log entries' trace link. */
  readonly traceId?: string;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const CLOUD_TRACE = /^([0-9a-f]{32})\/(\d{1,20})(?:;o=([01]))?$/i;

/**
 * The trace context of an incoming request (DESIGN.md §9): its W3C `traceparent` header, or
 * else Google's `X-Cloud-Trace-Context: TRACE_ID/SPAN_ID;o=OPTIONS` (span id in decimal)
 * rewritten as a `traceparent`. All-zero ids are invalid in both and ignored.
 */
export function traceContext(headers: IncomingHttpHeaders): TraceContext {
  const w3c = TRACEPARENT.exec(String(headers.traceparent ?? '').trim().toLowerCase());
  if (w3c && !/^0+$/.test(w3c[1]!) && !/^0+$/.test(w3c[2]!)) return { traceparent: w3c[0], traceId: w3c[1]! };
  const cloud = CLOUD_TRACE.exec(String(headers['x-cloud-trace-context'] ?? '').trim());
  if (!cloud) return {};
  const traceId = cloud[1]!.toLowerCase();
  let span: bigint;
  try {
    span = BigInt(cloud[2]!);
  } catch {
    return {};
  }
  if (/^0+$/.test(traceId) || span === 0n || span >= 2n ** 64n) return { traceId };
  return { traceparent: `00-${traceId}-${span.toString(16).padStart(16, '0')}-${cloud[3] === '1' ? '01' : '00'}`, traceId };
}

/** The environment a launched runner gets from the request's trace: `TRACEPARENT`, when there is one. */
export function traceEnvironment(trace: TraceContext): Record<string, string> {
  return trace.traceparent ? { TRACEPARENT: trace.traceparent } : {};
}

import { telemetrySettings } from '../core/adapters/telemetry/telemetry-settings.js';
import type { RunMeasurement } from '../core/adapters/telemetry/otel-run-metrics.js';
import type { TelemetrySession } from '../core/adapters/telemetry/otel-telemetry.js';
import type { RetryNotice } from '../core/adapters/retry.js';
import { noTracing, type RunTracer } from '../core/ports/run-tracer.js';
import { redact } from '../core/domain/redact.js';
import { VAULTRA_VERSION } from '../core/version.js';
import { printAboveProgress } from './progress.js';

/**
 * The runner's OpenTelemetry, for the whole process: started by `main` when an `OTEL_*` endpoint
 * is set, ended (bounded) before the process exits. Off, nothing of the SDK is even loaded: the
 * adapter is imported here, dynamically, into its own bundle chunk, and the commands get
 * `noTracing`. Like the retry observer, one per process, reached by the commands that run things.
 */
let session: TelemetrySession | undefined;
let started = false;
let retriesInRun = 0;

/**
 * How long exporting the last spans and the run's metrics may hold up the exit. A collector on
 * the same host or network answers in milliseconds; one that is down or hung must not keep a
 * finished backup's process (and its container, and its bill) alive.
 */
export const TELEMETRY_SHUTDOWN_MS = 3_000;

export async function startTelemetry(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const settings = telemetrySettings(env);
  if (!settings.traces && !settings.metrics) return;
  const { startOtelTelemetry } = await import('../core/adapters/telemetry/otel-telemetry.js');
  session = await startOtelTelemetry(settings, VAULTRA_VERSION, (line) => printAboveProgress(`vaultra: ${line}`));
  started = true;
}

/**
 * Whether this process started the SDK. Its exporters may still hold timers after the bounded
 * shutdown (retrying a collector that is down, for up to their own 10 s timeout), which would
 * keep the process alive: the entry point exits explicitly then.
 */
export function telemetryStarted(): boolean {
  return started;
}

/** Exports what is left, within `TELEMETRY_SHUTDOWN_MS`; false when it did not finish in time. */
export async function stopTelemetry(): Promise<boolean> {
  const stopping = session;
  session = undefined;
  return stopping ? stopping.shutdown(TELEMETRY_SHUTDOWN_MS) : true;
}

/** The tracer the use cases get: OpenTelemetry's, or `noTracing` when telemetry is off. */
export function runTracer(): RunTracer {
  return session?.tracer ?? noTracing;
}

/** Records a finished run's metrics, with the retries seen since the last one. */
export function recordRunMetrics(run: Omit<RunMeasurement, 'retries'>): void {
  session?.recordRun({ ...run, retries: retriesInRun });
  retriesInRun = 0;
}

/** A storage (or catalog) request retried: counted for the run's metrics, and an event on the phase it happened in. */
export function noteRetry(notice: RetryNotice): void {
  if (!session) return;
  retriesInRun += 1;
  session.retried(redact(notice.message), notice.attempt);
}

/** `trace_id` and `span_id` of the span active here, for JSON output lines; empty without one. */
export function traceFields(): Record<string, string> {
  return session?.activeIds() ?? {};
}

/** A command's action as one span (`restore`, `verify`): the use case's phases become its children. */
export function tracedAction<Args extends unknown[]>(name: string, action: (...args: Args) => Promise<void>): (...args: Args) => Promise<void> {
  return (...args) => runTracer().span(name, {}, () => action(...args));
}

import { telemetrySettings } from '../core/adapters/telemetry/telemetry-settings.js';
import type { RunMeasurement } from '../core/adapters/telemetry/otel-run-metrics.js';
import type { TelemetrySession } from '../core/adapters/telemetry/otel-telemetry.js';
import type { RetryNotice } from '../core/adapters/retry.js';
import { noTracing, type RunTracer } from '../core/ports/run-tracer.js';
import { redact } from '../core/domain/redact.js';
import { VAULTRA_VERSION } from '../core/version.js';
import { printAboveProgress } from './progress.js';
import { subjectNotingTracer, type RunSubject } from './run-subject.js';

/**
 * The runner's OpenTelemetry, for the whole process: started by `main` when an `OTEL_*` endpoint
 * is set, ended (bounded) before the process exits. Off, nothing of the SDK is even loaded: the
 * adapter is imported here, dynamically, into its own bundle chunk, and the commands get
 * `noTracing`. Like the retry observer, one per process, reached by the commands that run things.
 */
let session: TelemetrySession | undefined;
let started = false;
let retriesInRun = 0;
/** The restore or verify being measured, while its action runs: what its phases said it ran on. */
let measuredSubject: RunSubject | undefined;

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
  if (!session) return noTracing;
  return measuredSubject ? subjectNotingTracer(session.tracer, measuredSubject) : session.tracer;
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

/**
 * A restore's or verify's action as one run: one span (the use case's phases become its
 * children) and the run metrics of its kind (runs, duration, failures by `error.type`). The job
 * label is the located backup's, else the command's `--job` (commander passes the options
 * second), else left out: never a made-up `unknown`. Off, it is the action and nothing else.
 */
export function measuredAction<Args extends [unknown, { readonly job?: string }, ...unknown[]]>(kind: 'restore' | 'verify', action: (...args: Args) => Promise<void>): (...args: Args) => Promise<void> {
  return (...args) => {
    if (!session) return action(...args);
    return runTracer().span(kind, {}, async () => {
      const requested = args[1].job;
      const subject: RunSubject = requested ? { job: requested } : {};
      measuredSubject = subject;
      retriesInRun = 0;
      const started = performance.now();
      const measure = (error?: unknown) =>
        recordRunMetrics({
          kind,
          ...(subject.job ? { job: subject.job } : {}),
          ...(subject.dbSystem ? { dbSystem: subject.dbSystem } : {}),
          status: error === undefined ? 'succeeded' : 'failed',
          durationMs: performance.now() - started,
          ...(error !== undefined ? { errorType: error instanceof Error ? error.name : 'Error' } : {}),
        });
      try {
        await action(...args);
        measure();
      } catch (error) {
        measure(error);
        throw error;
      } finally {
        measuredSubject = undefined;
      }
    });
  };
}

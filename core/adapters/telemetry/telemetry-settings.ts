/**
 * What the standard `OTEL_*` variables ask of the runner, read without loading any of the
 * OpenTelemetry SDK: with none of them set, telemetry is off and the SDK never loads.
 * The exporters read the rest themselves (headers, timeouts, temporality, certificates).
 */
import { ConfigError } from '../../errors.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';

export interface TelemetrySettings {
  /** Export traces, and with which protocol; `undefined`: no traces. */
  readonly traces?: OtlpProtocol;
  /** Export metrics, and with which protocol; `undefined`: no metrics. */
  readonly metrics?: OtlpProtocol;
  /**
   * Export metrics as deltas (the runner's default): every run is a process that reports once
   * and exits, so cumulative series would restart at each run and `increase()` would see
   * nothing; a collector's `delta_to_cumulative` adds the deltas up (docs/observability.md).
   * False when the user chose with `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`: the
   * exporter then reads that variable itself.
   */
  readonly deltaMetrics?: boolean;
  /** The W3C trace context the process was started in (`TRACEPARENT`, `TRACESTATE`: the launchers set them). */
  readonly parent?: { readonly traceparent: string; readonly tracestate?: string };
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];

/** Telemetry off: what `telemetrySettings` gives without an endpoint. */
export const TELEMETRY_OFF: TelemetrySettings = {};

/**
 * Reads the settings. A signal is exported when an endpoint serves it (the shared
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or the signal's own) and its `OTEL_<SIGNAL>_EXPORTER` is not
 * `none`; `OTEL_SDK_DISABLED=true` turns everything off. An unknown protocol is refused rather
 * than guessed: a typo must not silently send nothing.
 */
export function telemetrySettings(env: NodeJS.ProcessEnv = process.env): TelemetrySettings {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return TELEMETRY_OFF;
  const traces = signal(env, 'TRACES');
  const metrics = signal(env, 'METRICS');
  if (!traces && !metrics) return TELEMETRY_OFF;
  const traceparent = env.TRACEPARENT?.trim();
  return {
    ...(traces ? { traces } : {}),
    ...(metrics ? { metrics, deltaMetrics: !env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE?.trim() } : {}),
    ...(traceparent ? { parent: { traceparent, ...(env.TRACESTATE ? { tracestate: env.TRACESTATE } : {}) } } : {}),
  };
}

function signal(env: NodeJS.ProcessEnv, name: 'TRACES' | 'METRICS'): OtlpProtocol | undefined {
  const endpoint = env[`OTEL_EXPORTER_OTLP_${name}_ENDPOINT`]?.trim() || env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!endpoint) return undefined;
  const exporters = (env[`OTEL_${name}_EXPORTER`] ?? 'otlp').split(',').map((value) => value.trim().toLowerCase());
  if (exporters.includes('none') || !exporters.includes('otlp')) return undefined;
  const protocol = (env[`OTEL_EXPORTER_OTLP_${name}_PROTOCOL`] ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf').trim() as OtlpProtocol;
  if (!PROTOCOLS.includes(protocol)) {
    throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL is '${protocol}': use http/protobuf, http/json or grpc (or unset OTEL_EXPORTER_OTLP_ENDPOINT to turn telemetry off)`);
  }
  return protocol;
}

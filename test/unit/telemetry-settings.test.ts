import { describe, expect, it } from 'vitest';
import { TELEMETRY_OFF, telemetrySettings } from '../../core/adapters/telemetry/telemetry-settings.js';
import { ConfigError } from '../../core/errors.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('telemetry settings from the standard OTEL_* variables', () => {
  it('is off with no endpoint, whatever else is set', () => {
    expect(telemetrySettings({})).toEqual(TELEMETRY_OFF);
    expect(telemetrySettings({ OTEL_SERVICE_NAME: 'backups', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', TRACEPARENT })).toEqual(TELEMETRY_OFF);
  });

  it('exports both signals over http/protobuf by default, under the launcher\'s trace', () => {
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', TRACEPARENT })).toEqual({ traces: 'http/protobuf', metrics: 'http/protobuf', deltaMetrics: true, parent: { traceparent: TRACEPARENT } });
  });

  it('takes each signal\'s own endpoint and protocol, and leaves out a signal without one', () => {
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4317', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc' })).toEqual({ traces: 'grpc' });
    expect(telemetrySettings({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://127.0.0.1:4318/v1/metrics', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toEqual({ metrics: 'http/json', deltaMetrics: true });
  });

  it('honours OTEL_SDK_DISABLED and OTEL_<SIGNAL>_EXPORTER=none', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(telemetrySettings({ ...endpoint, OTEL_SDK_DISABLED: 'TRUE' })).toEqual(TELEMETRY_OFF);
    expect(telemetrySettings({ ...endpoint, OTEL_SDK_DISABLED: 'false', OTEL_TRACES_EXPORTER: 'none' })).toEqual({ metrics: 'http/protobuf', deltaMetrics: true });
    expect(telemetrySettings({ ...endpoint, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' })).toEqual(TELEMETRY_OFF);
  });

  it('exports metrics as deltas unless OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE chose (short-lived runs)', () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
    expect(telemetrySettings(endpoint).deltaMetrics).toBe(true);
    expect(telemetrySettings({ ...endpoint, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'cumulative' }).deltaMetrics).toBe(false);
    expect(telemetrySettings({ ...endpoint, OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: ' ' }).deltaMetrics).toBe(true);
  });

  it('refuses a protocol it does not know, in one line naming the value', () => {
    const read = () => telemetrySettings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuff' });
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(/'http\/protobuff': use http\/protobuf, http\/json or grpc/);
  });
});

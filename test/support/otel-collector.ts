/**
 * A real OpenTelemetry Collector for the telemetry tests (built by scripts/setup-otel-collector.sh
 * from the Go module proxy): the OTLP receiver on 127.0.0.1 (gRPC and HTTP, free ports) and the
 * file exporter writing what it received as OTLP JSON lines, which the test reads back as spans
 * and metric points. Started per suite, stopped by PID.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmulator, type EmulatorProcess } from './emulator-process.js';
import { freePort } from './postgres-server.js';
import { which } from './exec.js';

export const OTEL_COLLECTOR_BINARY = 'vaultra-otelcol';

export interface OtelCollector {
  /** `http://127.0.0.1:<port>`: OTLP/HTTP (the SDK appends `/v1/traces`, `/v1/metrics`). */
  readonly httpEndpoint: string;
  /** `http://127.0.0.1:<port>`: OTLP/gRPC. */
  readonly grpcEndpoint: string;
  /** Every span received so far, flattened with its resource's attributes. */
  spans(): CollectedSpan[];
  /** Every metric data point received so far. */
  metricPoints(): CollectedPoint[];
  /** Everything the collector wrote (spans, metrics, its own log), as text: what a canary must be absent from. */
  everything(): string;
  /** Waits until `ready` holds over what was received (the file exporter flushes every second). */
  waitFor<T>(what: string, ready: () => T | undefined, timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
type OtlpAttribute = { key: string; value: OtlpValue };
export type Attributes = Record<string, string | number | boolean | undefined>;

export interface CollectedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly attributes: Attributes;
  readonly resource: Attributes;
  readonly events: readonly { readonly name: string; readonly attributes: Attributes }[];
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly statusMessage?: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
}

export interface CollectedPoint {
  readonly metric: string;
  readonly unit: string;
  readonly kind: 'sum' | 'histogram' | 'gauge';
  readonly attributes: Attributes;
  /** A sum's or gauge's value; a histogram's sum. */
  readonly value: number;
  /** A histogram's count. */
  readonly count?: number;
  /** A sum's or histogram's aggregation temporality. */
  readonly temporality?: 'delta' | 'cumulative';
  readonly resource: Attributes;
}

export function otelCollectorBinary(): string | undefined {
  return which(OTEL_COLLECTOR_BINARY);
}

export async function startOtelCollector(binary = OTEL_COLLECTOR_BINARY): Promise<OtelCollector> {
  const [grpcPort, httpPort] = [await freePort(), await freePort()];
  let dir = '';
  const collector: EmulatorProcess = await startEmulator({
    name: 'otelcol',
    command: binary,
    args: (baseDir) => {
      dir = baseDir;
      writeFileSync(join(baseDir, 'config.yaml'), collectorConfig(baseDir, grpcPort, httpPort));
      return ['--config', `file:${join(baseDir, 'config.yaml')}`];
    },
    // The HTTP receiver answers any path once the pipelines run (405/404 for a GET).
    ready: async () => {
      await fetch(`http://127.0.0.1:${httpPort}/v1/traces`, { signal: AbortSignal.timeout(1_000) });
      return true;
    },
    timeoutMs: 30_000,
  });
  const read = (name: string): unknown[] => {
    const path = join(dir, name);
    if (!existsSync(path)) return [];
    return readFileSync(path, 'utf8').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line) as unknown);
  };
  const spans = () => read('traces.jsonl').flatMap(spansOf);
  const metricPoints = () => read('metrics.jsonl').flatMap(pointsOf);
  return {
    httpEndpoint: `http://127.0.0.1:${httpPort}`,
    grpcEndpoint: `http://127.0.0.1:${grpcPort}`,
    spans,
    metricPoints,
    // The exported spans and metrics, and the collector's own log (where a rejected payload would be quoted).
    everything: () => [...['traces.jsonl', 'metrics.jsonl'].map((name) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), 'utf8') : '')), collector.output()].join('\n'),
    waitFor: async (what, ready, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = ready();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`the collector received no ${what} within ${timeoutMs / 1000} s`);
        await sleep(200);
      }
    },
    stop: () => collector.stop(),
  };
}

function collectorConfig(dir: string, grpcPort: number, httpPort: number): string {
  return `receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:${grpcPort}
      http:
        endpoint: 127.0.0.1:${httpPort}
exporters:
  file/traces:
    path: ${join(dir, 'traces.jsonl')}
    flush_interval: 200ms
  file/metrics:
    path: ${join(dir, 'metrics.jsonl')}
    flush_interval: 200ms
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file/traces]
    metrics:
      receivers: [otlp]
      exporters: [file/metrics]
`;
}

function attributesOf(list: readonly OtlpAttribute[] | undefined): Attributes {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined) ?? value.doubleValue ?? value.boolValue]));
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: OtlpAttribute[];
  events?: { name: string; attributes?: OtlpAttribute[] }[];
  status?: { code?: number; message?: string };
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

function spansOf(line: unknown): CollectedSpan[] {
  const { resourceSpans = [] } = line as { resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[] };
  return resourceSpans.flatMap(({ resource, scopeSpans = [] }) =>
    scopeSpans.flatMap(({ spans = [] }) =>
      spans.map((span) => ({
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId ?? '',
        name: span.name,
        attributes: attributesOf(span.attributes),
        resource: attributesOf(resource?.attributes),
        events: (span.events ?? []).map((event) => ({ name: event.name, attributes: attributesOf(event.attributes) })),
        statusCode: span.status?.code ?? 0,
        ...(span.status?.message ? { statusMessage: span.status.message } : {}),
        startNs: BigInt(span.startTimeUnixNano),
        endNs: BigInt(span.endTimeUnixNano),
      })),
    ),
  );
}

interface OtlpPoint {
  attributes?: OtlpAttribute[];
  asInt?: string | number;
  asDouble?: number;
  sum?: number;
  count?: string | number;
}
interface OtlpMetric {
  name: string;
  unit?: string;
  sum?: { dataPoints?: OtlpPoint[]; aggregationTemporality?: number };
  gauge?: { dataPoints?: OtlpPoint[] };
  histogram?: { dataPoints?: OtlpPoint[]; aggregationTemporality?: number };
}

/** OTLP's AggregationTemporality enum, by number. */
const TEMPORALITY: Record<number, 'delta' | 'cumulative'> = { 1: 'delta', 2: 'cumulative' };

function pointsOf(line: unknown): CollectedPoint[] {
  const { resourceMetrics = [] } = line as { resourceMetrics?: { resource?: { attributes?: OtlpAttribute[] }; scopeMetrics?: { metrics?: OtlpMetric[] }[] }[] };
  return resourceMetrics.flatMap(({ resource, scopeMetrics = [] }) =>
    scopeMetrics.flatMap(({ metrics = [] }) =>
      metrics.flatMap((metric) => {
        const kind = metric.histogram ? 'histogram' : metric.gauge ? 'gauge' : 'sum';
        const points = (metric.histogram ?? metric.gauge ?? metric.sum)?.dataPoints ?? [];
        const temporality = TEMPORALITY[(metric.histogram ?? metric.sum)?.aggregationTemporality ?? 0];
        return points.map((point) => ({
          metric: metric.name,
          unit: metric.unit ?? '',
          kind,
          attributes: attributesOf(point.attributes),
          value: kind === 'histogram' ? Number(point.sum ?? 0) : Number(point.asInt ?? point.asDouble ?? 0),
          ...(kind === 'histogram' ? { count: Number(point.count ?? 0) } : {}),
          ...(temporality ? { temporality } : {}),
          resource: attributesOf(resource?.attributes),
        }));
      }),
    ),
  );
}

/**
 * For the cloud flow tests: a collector the runner processes export to, when the binary is here
 * (under `CI=true` it must be: scripts/setup-otel-collector.sh builds it); `undefined` otherwise,
 * and the flow's trace assertions are left out locally.
 */
export async function startFlowCollector(): Promise<OtelCollector | undefined> {
  const binary = otelCollectorBinary();
  if (!binary) {
    if (process.env.CI === 'true') throw new Error(`CI=true and ${OTEL_COLLECTOR_BINARY} is missing: run scripts/setup-otel-collector.sh`);
    return undefined;
  }
  return startOtelCollector(binary);
}

/** The variables that make a runner export to `collector` (none without one). */
export function exportingTo(collector: OtelCollector | undefined): Record<string, string> {
  return collector ? { OTEL_EXPORTER_OTLP_ENDPOINT: collector.httpEndpoint } : {};
}

/**
 * The runner's root span (`name`) in the trace `traceparent` started: same trace id, the
 * function's span as its parent, and the phases below it. Waits for the collector to write it.
 */
export async function runnerRootSpan(collector: OtelCollector, traceparent: string, name = 'backup'): Promise<{ root: CollectedSpan; children: CollectedSpan[] }> {
  const [, traceId, parentSpanId] = traceparent.split('-') as [string, string, string, string];
  const root = await collector.waitFor(`runner span ${name} in trace ${traceId}`, () => collector.spans().find((span) => span.traceId === traceId && span.name === name && span.parentSpanId === parentSpanId), 15_000);
  const children = collector.spans().filter((span) => span.parentSpanId === root.spanId);
  return { root, children };
}

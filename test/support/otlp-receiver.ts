import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One gauge data point as an OTLP/HTTP JSON request carried it. */
export interface ReceivedGauge {
  readonly name: string;
  readonly unit: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly value: number;
  readonly resource: Readonly<Record<string, string>>;
}

export interface OtlpReceiver {
  /** What to set `OTEL_EXPORTER_OTLP_ENDPOINT` to (`http://127.0.0.1:<port>`). */
  readonly endpoint: string;
  /** The gauges of every `POST /v1/metrics` so far, decoded from the OTLP JSON encoding. */
  readonly gauges: ReceivedGauge[];
  /** Requests received so far, by path. */
  readonly paths: string[];
  close(): Promise<void>;
}

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}
interface OtlpMetricsRequest {
  resourceMetrics?: {
    resource?: { attributes?: KeyValue[] };
    scopeMetrics?: { metrics?: { name: string; unit?: string; gauge?: { dataPoints?: { attributes?: KeyValue[]; asDouble?: number; asInt?: string | number }[] } }[] }[];
  }[];
}

/**
 * A local OTLP/HTTP receiver on 127.0.0.1 for the JSON encoding (what
 * `@opentelemetry/exporter-metrics-otlp-http` sends), decoding gauges the way a collector reads
 * them: the request shape is the OTLP ExportMetricsServiceRequest's protobuf-JSON mapping.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const gauges: ReceivedGauge[] = [];
  const paths: string[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      paths.push(request.url ?? '');
      if (request.method !== 'POST' || request.url !== '/v1/metrics' || !request.headers['content-type']?.startsWith('application/json')) {
        response.writeHead(415).end();
        return;
      }
      gauges.push(...decodeGauges(JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpMetricsRequest));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    gauges,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function decodeGauges(body: OtlpMetricsRequest): ReceivedGauge[] {
  return (body.resourceMetrics ?? []).flatMap((resourceMetrics) => {
    const resource = attributesOf(resourceMetrics.resource?.attributes);
    return (resourceMetrics.scopeMetrics ?? []).flatMap((scope) =>
      (scope.metrics ?? []).flatMap((metric) =>
        (metric.gauge?.dataPoints ?? []).map((point) => ({
          name: metric.name,
          unit: metric.unit ?? '',
          attributes: attributesOf(point.attributes),
          value: point.asDouble ?? Number(point.asInt),
          resource,
        })),
      ),
    );
  });
}

function attributesOf(list: KeyValue[] | undefined): Record<string, string> {
  return Object.fromEntries((list ?? []).map(({ key, value }) => [key, String(value.stringValue ?? value.intValue ?? value.doubleValue ?? value.boolValue)]));
}

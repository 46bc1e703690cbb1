/**
 * A local HTTP proxy in front of an emulator (moto, fake-gcs-server, Azurite…) that injects
 * faults into chosen requests: an error status (throttling, 5xx), a connection reset part-way
 * through the request body, a request that never gets an answer, a delay, a flipped byte in the
 * request or response body, a response cut short. Everything else is forwarded untouched, and
 * every request is recorded (method, path, query, what was injected, the status returned, how
 * many requests were in progress) for the test to assert on.
 *
 * Clients simply use `endpoint` instead of the emulator's. Bound to 127.0.0.1, a free port.
 *
 * @example
 * const proxy = await startFaultyHttpProxy(moto.endpoint);
 * proxy.setRule(onlyFirst(2, (r) => r.query.has('partNumber'), respond(503, s3ErrorXml('SlowDown'))));
 * // … use proxy.endpoint …
 * expect(proxy.requests.filter((r) => r.fault === 'respond')).toHaveLength(2);
 * await proxy.close();
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Transform, type TransformCallback } from 'node:stream';

export interface ProxiedRequest {
  /** 0-based, in order of arrival. */
  readonly index: number;
  readonly method: string;
  /** The path without the query. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
}

export type Fault =
  /** Answer with this status and body without forwarding (the request body is read first). */
  | { readonly kind: 'respond'; readonly status: number; readonly body?: string; readonly headers?: Readonly<Record<string, string>> }
  /** Destroy the client's connection once this many request-body bytes arrived (0: at once). */
  | { readonly kind: 'reset'; readonly afterRequestBytes?: number }
  /** Read the request, never answer (until the client gives up or the proxy closes). */
  | { readonly kind: 'hang' }
  /** Forward after a pause. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Forward with one byte of the request body flipped. */
  | { readonly kind: 'corrupt-request'; readonly atByte?: number }
  /** Forward, and flip one byte of the response body on the way back. */
  | { readonly kind: 'corrupt-response'; readonly atByte?: number }
  /** Forward, then cut the response body after this many bytes (connection destroyed). */
  | { readonly kind: 'truncate-response'; readonly afterBytes: number }
  /** Forward (the upstream acts on it), then destroy the connection instead of answering: a lost answer. */
  | { readonly kind: 'lose-response' };

export type FaultRule = (request: ProxiedRequest) => Fault | undefined;

export interface RecordedRequest extends ProxiedRequest {
  readonly fault?: Fault['kind'];
  /** Status sent to the client; undefined when the connection was reset or never answered. */
  status?: number;
  readonly startedAtMs: number;
  endedAtMs?: number;
}

export interface FaultyHttpProxy {
  /** `http://127.0.0.1:<port>`: use it instead of the upstream's endpoint. */
  readonly endpoint: string;
  readonly requests: readonly RecordedRequest[];
  /** Replaces the rule; `undefined` forwards everything. */
  setRule(rule: FaultRule | undefined): void;
  /** The most requests matching `match` that were in progress at the same time. */
  peakConcurrent(match?: (request: RecordedRequest) => boolean): number;
  /** Stops listening and destroys every open connection (hung requests included). */
  close(): Promise<void>;
}

export async function startFaultyHttpProxy(upstream: string, rule?: FaultRule): Promise<FaultyHttpProxy> {
  const target = new URL(upstream);
  let current = rule;
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const seen = { index: requests.length, method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers };
    const fault = current?.(seen);
    const record: RecordedRequest = { ...seen, ...(fault ? { fault: fault.kind } : {}), startedAtMs: performance.now() };
    requests.push(record);
    const end = () => (record.endedAtMs ??= performance.now());
    res.on('finish', () => {
      record.status = res.statusCode;
      end();
    });
    res.on('close', end);
    switch (fault?.kind) {
      case 'respond':
        req.resume();
        req.on('end', () => {
          res.writeHead(fault.status, { 'content-type': 'application/xml', ...fault.headers });
          res.end(fault.body ?? '');
        });
        return;
      case 'reset':
        resetAfter(req, fault.afterRequestBytes ?? 0);
        return;
      case 'hang':
        req.resume();
        return;
      case 'delay':
        req.pause();
        setTimeout(() => forward(req, res, target, undefined), fault.ms);
        return;
      default:
        forward(req, res, target, fault);
    }
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    setRule: (next) => {
      current = next;
    },
    peakConcurrent: (match = () => true) => {
      const events: [number, number][] = [];
      for (const r of requests.filter(match)) {
        events.push([r.startedAtMs, 1]);
        events.push([r.endedAtMs ?? Infinity, -1]);
      }
      events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      let active = 0;
      let peak = 0;
      for (const [, delta] of events) peak = Math.max(peak, (active += delta));
      return peak;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function resetAfter(req: IncomingMessage, afterBytes: number): void {
  let seen = 0;
  if (afterBytes <= 0) {
    req.socket.destroy();
    return;
  }
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen >= afterBytes) req.socket.destroy();
  });
  req.on('end', () => req.socket.destroy());
}

function forward(req: IncomingMessage, res: ServerResponse, target: URL, fault: Fault | undefined): void {
  const outgoing = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
    if (fault?.kind === 'lose-response') {
      answer.resume();
      answer.on('end', () => res.socket?.destroy());
      return;
    }
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    if (fault?.kind === 'corrupt-response') answer.pipe(flipByte(fault.atByte ?? 0)).pipe(res);
    else if (fault?.kind === 'truncate-response') {
      let sent = 0;
      answer.on('data', (chunk: Buffer) => {
        if (sent + chunk.length >= fault.afterBytes) {
          res.write(chunk.subarray(0, fault.afterBytes - sent));
          sent = fault.afterBytes;
          answer.destroy();
          // Let the bytes leave before the connection goes.
          setTimeout(() => res.socket?.destroy(), 20);
        } else {
          sent += chunk.length;
          res.write(chunk);
        }
      });
    } else answer.pipe(res);
  });
  outgoing.on('error', () => res.socket?.destroy());
  if (fault?.kind === 'corrupt-request') req.pipe(flipByte(fault.atByte ?? 0)).pipe(outgoing);
  else req.pipe(outgoing);
}

/** Passes bytes through with the one at offset `atByte` inverted. */
function flipByte(atByte: number): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      if (atByte >= offset && atByte < offset + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[atByte - offset] = chunk[atByte - offset]! ^ 0xff;
      }
      offset += chunk.length;
      callback(null, chunk);
    },
  });
}

/** A fault for the first `count` requests that match, then nothing. */
export function onlyFirst(count: number, match: (request: ProxiedRequest) => boolean, fault: Fault): FaultRule {
  let left = count;
  return (request) => {
    if (left <= 0 || !match(request)) return undefined;
    left -= 1;
    return fault;
  };
}

/** The same fault for every request that matches. */
export function always(match: (request: ProxiedRequest) => boolean, fault: Fault): FaultRule {
  return (request) => (match(request) ? fault : undefined);
}

/** The first rule that injects something wins. */
export function anyOf(...rules: FaultRule[]): FaultRule {
  return (request) => {
    for (const rule of rules) {
      const fault = rule(request);
      if (fault) return fault;
    }
    return undefined;
  };
}

export function respond(status: number, body = '', headers: Readonly<Record<string, string>> = {}): Fault {
  return { kind: 'respond', status, body, headers };
}

/** An S3-style XML error body (`<Error><Code>SlowDown</Code>…`). */
export function s3ErrorXml(code: string, message = code): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>faulty-proxy</RequestId></Error>`;
}

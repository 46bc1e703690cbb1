/**
 * Lambda's Invoke REST path (`POST /2015-03-31/functions/<name>/invocations`) on 127.0.0.1 and a
 * free port, served by a real handler: no emulator here runs Lambda functions without Docker
 * (moto and LocalStack start containers), so the SDK's real `InvokeCommand` is sent here instead.
 * An asynchronous invoke (`X-Amz-Invocation-Type: Event`) is answered 202 at once and the handler
 * runs after, as Lambda queues it; `drained()` waits for every handler run so far.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedInvocation {
  readonly functionName: string;
  readonly invocationType: string;
  readonly event: unknown;
  /** What the handler returned, or the error it threw (as Lambda would log it). */
  readonly result: Promise<unknown>;
}

export class LambdaInvokeServer {
  readonly invocations: ServedInvocation[] = [];
  #server: Server | undefined;

  constructor(private readonly handler: (event: unknown) => Promise<unknown>) {}

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(request.url ?? '');
        if (request.method !== 'POST' || !match) {
          response.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'ResourceNotFoundException' });
          response.end(JSON.stringify({ message: `no function at ${request.url}` }));
          return;
        }
        const invocationType = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
        const event: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null');
        if (invocationType === 'Event') {
          response.writeHead(202);
          response.end();
          this.invocations.push({ functionName: decodeURIComponent(match[1]!), invocationType, event, result: this.handler(event).catch((error: unknown) => error) });
          return;
        }
        const result = this.handler(event);
        this.invocations.push({ functionName: decodeURIComponent(match[1]!), invocationType, event, result });
        result.then(
          (value) => {
            response.writeHead(200, { 'content-type': 'application/json' });
            response.end(JSON.stringify(value));
          },
          (error: unknown) => {
            response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
            response.end(JSON.stringify({ errorMessage: String(error) }));
          },
        );
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  /** Waits for every handler run started so far, and returns their results in order. */
  async drained(): Promise<unknown[]> {
    return Promise.all(this.invocations.map((invocation) => invocation.result));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }
}

/**
 * A local HTTP endpoint on 127.0.0.1 and a free port, standing in for a chat or incident
 * service (Teams, Discord, PagerDuty, healthchecks.io): it records every request and answers
 * with the replies queued for it, then with `defaultReply` (TESTING.md: webhooks).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly atMs: number;
}

/** What the receiver does with one request: answer it, or never answer (`hang`). */
export type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

export class HttpReceiver {
  readonly requests: RecordedRequest[] = [];
  readonly #queued: Reply[] = [];
  #server: Server | undefined;

  /** @param defaultReply what a service answers a good request with (Discord 204, PagerDuty 202 + JSON, healthchecks 200 OK) */
  constructor(private readonly defaultReply: Exclude<Reply, 'hang'> = { status: 200, body: 'ok' }) {}

  async start(): Promise<this> {
    this.#server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({ method: request.method!, path: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), atMs: Date.now() });
        const reply = this.#queued.shift() ?? this.defaultReply;
        if (reply === 'hang') return;
        // Like many services' error pages, a failure echoes the path: a notifier must not pass it on.
        response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
        response.end(reply.body ?? (reply.status >= 400 ? `Cannot ${request.method} ${request.url}` : ''));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}${path}`;
  }

  /** Queues replies for the next requests. */
  reply(...replies: Reply[]): void {
    this.#queued.push(...replies);
  }

  reset(): void {
    this.requests.length = 0;
    this.#queued.length = 0;
    this.#server?.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

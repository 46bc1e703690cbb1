/**
 * The Cloud Storage JSON API requests of this adapter — resumable-upload chunks, ranged reads,
 * metadata, listings, deletes — each one plain request whose buffer, timeout and retry the
 * adapter controls (the SDK's uploader keeps its own retry loop and per-upload retry budget).
 *
 * Made with `node:http`/`node:https`, not `fetch`: fetch copies a Buffer body before sending it
 * (the Fetch standard's "extract a body") and joins a response from its chunks, which cost a
 * chunk-sized copy per request and measured ~100 MiB more peak RSS on a streamed upload. Here a
 * chunk is written as is, and a ranged read keeps the chunks the socket delivered.
 *
 * Credentials come from the SDK's `GoogleAuth` (Application Default Credentials); none are sent
 * to an `http://` emulator.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { GcsHttpError } from './gcs-errors.js';
import { requestTimeoutError, requestTimeoutMs } from '../request-timeout.js';

export interface GcsHttpOptions {
  /** `https://storage.googleapis.com`, or an emulator's origin. */
  readonly endpoint: string;
  /** Authorization headers for a request; `undefined` for an emulator. */
  readonly authHeaders?: () => Promise<Record<string, string>>;
  /** One request's time limit, answer included, whatever its size. @default `requestTimeoutMs()` of the bytes the request moves (`../request-timeout.ts`) */
  readonly requestTimeoutMs?: number;
}

export interface GcsRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly headers?: Record<string, string>;
  readonly body?: Buffer | string;
  readonly signal?: AbortSignal;
  /** Statuses that are an answer, not an error; anything else rejects with `GcsHttpError`. */
  readonly expect: readonly number[];
  /** Bytes the answer brings (a ranged read), for the time limit; the body sent counts on its own. @default 0 */
  readonly answerBytes?: number;
}

/** An answer whose body is still to be read (or discarded). */
export class GcsResponse {
  constructor(
    readonly status: number,
    readonly headers: IncomingHttpHeaders,
    private readonly message: IncomingMessage,
    /** Turns a failure while reading the body into the error to report (a timeout, not an abort). */
    private readonly failure: (error: unknown) => unknown = (error) => error,
  ) {}

  header(name: string): string | undefined {
    const value = this.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  /**
   * The body as the chunks it arrived in (no copy into one buffer: that would double the
   * garbage per byte), stopping after `limitBytes` (the rest is dropped, the connection closed).
   */
  async chunks(limitBytes = Number.POSITIVE_INFINITY): Promise<Buffer[]> {
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of this.message as AsyncIterable<Buffer>) {
        const keep = Math.min(chunk.length, limitBytes - total);
        if (keep > 0) chunks.push(keep === chunk.length ? chunk : chunk.subarray(0, keep));
        total += keep;
        if (total >= limitBytes) break;
      }
    } catch (error) {
      throw this.failure(error);
    }
    return chunks;
  }

  async text(): Promise<string> {
    return Buffer.concat(await this.chunks()).toString('utf8');
  }

  async json<T>(): Promise<T> {
    return JSON.parse(await this.text()) as T;
  }

  /** Reads and drops the body, so the connection can serve the next request. */
  async discard(): Promise<void> {
    try {
      for await (const chunk of this.message) void chunk;
    } catch (error) {
      throw this.failure(error);
    }
  }
}

export class GcsHttp {
  readonly endpoint: string;
  readonly #authHeaders: (() => Promise<Record<string, string>>) | undefined;
  readonly #timeoutMs: number | undefined;
  readonly #agent: HttpAgent;

  constructor(options: GcsHttpOptions) {
    this.endpoint = options.endpoint.replace(/\/+$/, '');
    this.#authHeaders = options.authHeaders;
    this.#timeoutMs = options.requestTimeoutMs;
    // Keep connections for the next chunk or range; ranges run 4 at a time by default.
    this.#agent = this.endpoint.startsWith('https:') ? new HttpsAgent({ keepAlive: true, maxSockets: 16 }) : new HttpAgent({ keepAlive: true, maxSockets: 16 });
  }

  /** `…/storage/v1/b/<bucket>/o/<name>` (metadata; `?alt=media` for content). */
  objectUrl(bucket: string, name: string): string {
    return `${this.endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`;
  }

  /** `…/upload/storage/v1/b/<bucket>/o`: where a resumable session starts. */
  uploadUrl(bucket: string): string {
    return `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o`;
  }

  /**
   * Sends one request. The time limit covers the answer's body too: the caller reads it (or
   * discards it) before the limit, or the read fails with the timeout.
   */
  async request(request: GcsRequest): Promise<GcsResponse> {
    const sentBytes = typeof request.body === 'string' ? Buffer.byteLength(request.body) : (request.body?.length ?? 0);
    const timeoutMs = this.#timeoutMs ?? requestTimeoutMs(sentBytes + (request.answerBytes ?? 0));
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    signal.throwIfAborted();
    const url = new URL(request.url);
    // Session URIs point at the service (or the emulator); requests to it carry our credentials.
    const auth = this.#authHeaders && url.protocol === 'https:' ? await this.#authHeaders() : {};
    const body = typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    const headers: Record<string, string> = { ...auth, ...request.headers };
    if (body || request.method === 'PUT' || request.method === 'POST') headers['content-length'] = String(body?.length ?? 0);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    // Node reports both an abort and our timeout as an AbortError: a timeout is a lost answer,
    // worth retrying, so it gets its own name (translateGcsError retries TimeoutError).
    const failure = (error: unknown): unknown =>
      timeout.aborted && !request.signal?.aborted ? requestTimeoutError(timeoutMs, error) : error;
    let message: IncomingMessage;
    try {
      message = await new Promise<IncomingMessage>((resolve, reject) => {
        const outgoing = send(url, { method: request.method, headers, agent: this.#agent, signal }, resolve);
        outgoing.on('error', reject);
        outgoing.end(body);
      });
    } catch (error) {
      throw failure(error);
    }
    const response = new GcsResponse(message.statusCode ?? 0, message.headers, message, failure);
    if (!request.expect.includes(response.status)) throw await httpError(response);
    return response;
  }

  /** Sends one request and parses its JSON answer. */
  async json<T>(request: GcsRequest): Promise<{ response: GcsResponse; body: T }> {
    const response = await this.request(request);
    return { response, body: await response.json<T>() };
  }

  /** Closes idle kept-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** The error for an unexpected answer, with the service's own message when it sent JSON. */
async function httpError(response: GcsResponse): Promise<GcsHttpError> {
  const text = (await response.text().catch(() => '')).slice(0, 2000);
  let detail = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(text) as { error?: { message?: string; errors?: { reason?: string }[] } };
    if (parsed.error?.message) detail = parsed.error.message.replace(/\s+/g, ' ').slice(0, 200);
    reason = parsed.error?.errors?.find((e) => e.reason)?.reason;
  } catch {
    // not JSON: keep the text
  }
  return new GcsHttpError(response.status, detail, reason);
}

/**
 * A time limit on every S3 request, scaled by its size (`../request-timeout.ts`). The SDK's own
 * `socketTimeout` is an idle timeout: a store that accepts a connection and never answers holds
 * each try for its full length, which, with 6 tries, left a backup silent for minutes.
 *
 * The limit runs until the answer's headers arrive (the request body is sent by then); the
 * answer's body (a ranged GET) is bounded by the idle timeout, so a slow but moving download is
 * never cut. The limit wraps the client's own request handler, so every command gets it.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { requestTimeoutError, requestTimeoutMs } from '../request-timeout.js';

type RequestHandler = S3Client['config']['requestHandler'];
type HandleArguments = Parameters<RequestHandler['handle']>;

/** Bytes a request moves: its body, or the range it asks for. */
function bytesOf(request: { headers?: Record<string, string> }): number {
  const headers = request.headers ?? {};
  const lower = (name: string) => headers[name] ?? headers[name.toLowerCase()] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  const sent = Number(lower('content-length') ?? 0) || 0;
  const range = /^bytes=(\d+)-(\d+)$/.exec(lower('range') ?? '');
  return sent + (range ? Number(range[2]) - Number(range[1]) + 1 : 0);
}

/** Puts a deadline of `requestTimeoutMs(bytes)` on each request `client` sends. */
export function addRequestDeadlines(client: S3Client): void {
  const inner = client.config.requestHandler;
  const handle = async (...[request, given]: HandleArguments) => {
    const options = (given ?? {}) as { abortSignal?: unknown; requestTimeout?: number };
    const ms = requestTimeoutMs(bytesOf(request as { headers?: Record<string, string> }));
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), ms);
    const caller = options.abortSignal as AbortSignal | undefined;
    try {
      return await inner.handle(request, { ...options, abortSignal: caller ? AbortSignal.any([caller, deadline.signal]) : deadline.signal } as HandleArguments[1]);
    } catch (error) {
      // The SDK reports our deadline as an abort; it is a lost answer, worth another try.
      if (deadline.signal.aborted && !caller?.aborted) throw requestTimeoutError(ms, error);
      throw error;
    } finally {
      clearTimeout(timer);
    }
  };
  client.config.requestHandler = new Proxy(inner, { get: (target, name, receiver) => (name === 'handle' ? handle : Reflect.get(target, name, receiver)) });
}

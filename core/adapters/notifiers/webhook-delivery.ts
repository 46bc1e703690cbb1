/**
 * One webhook POST, with the retries every webhook notifier shares: a time limit per attempt,
 * the shared capped-exponential backoff with full jitter (`withRetries`), and
 * Retry-After honoured on 429.
 *
 * What is retried: a network failure, an attempt that timed out, 429 and 5xx. What is not: any
 * other 4xx (the payload or the URL is wrong, and will stay wrong) and a 3xx (a signed alert is
 * never sent on to wherever a redirect points).
 *
 * The URL is a secret (a Slack webhook URL lets anyone post to the channel): no message made
 * here quotes it, nor the error of a request made with it (`fetch` puts the URL in some of its
 * own messages), nor a response body that could echo it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortedError, NotifyFailedError } from '../../errors.js';
import { VAULTRA_VERSION } from '../../version.js';
import { withRetries, type RetryPolicy } from '../retry.js';

export interface WebhookDeliveryOptions {
  /** Time limit of one attempt, answer included. @default 10_000 */
  readonly attemptTimeoutMs?: number;
  /** @default {@link WEBHOOK_RETRY_POLICY} */
  readonly retryPolicy?: RetryPolicy;
  /** The longest Retry-After honoured; a longer one is cut to this. @default 20_000 */
  readonly maxRetryAfterMs?: number;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Four attempts in all; the waits stay short because an alert is sent from a function with a deadline. */
export const WEBHOOK_RETRY_POLICY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8_000 };

export interface WebhookPost {
  /** The notifier's name, which starts every message (`slack: …`). */
  readonly notifier: string;
  /** The resolved URL: a secret. */
  readonly url: string;
  readonly body: string;
  /** The headers of attempt `attempt` (1-based): a signature may be made fresh for each. */
  readonly headers: (attempt: number) => Record<string, string>;
  /**
   * A short excerpt of an error answer that may go into the message, or `undefined` for none.
   * @default none: a receiver's error page may echo the URL
   */
  readonly explainRefusal?: (body: string) => string | undefined;
  readonly signal?: AbortSignal;
}

/** An answer that is not 2xx, for the retry decision. */
class RefusedAttempt extends Error {
  constructor(
    readonly status: number,
    readonly excerpt: string | undefined,
  ) {
    super(`HTTP ${status}`);
  }
}

/**
 * POSTs `post.body` until a 2xx answer. Rejects with `NotifyFailedError` (one line naming the
 * notifier and the last HTTP status or network failure), or `AbortedError` when `post.signal`
 * aborts.
 */
export async function postWebhook(post: WebhookPost, options: WebhookDeliveryOptions = {}): Promise<void> {
  const fetchFn = options.fetch ?? globalThis.fetch;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 20_000;
  checkUrl(post);

  // What a 429 asked for and what the backoff already waited: the next attempt waits the difference.
  let retryAfterMs = 0;
  let backoffMs = 0;
  const attempt = async (n: number): Promise<void> => {
    const extraWaitMs = retryAfterMs - backoffMs;
    retryAfterMs = 0;
    if (extraWaitMs > 0) await sleep(extraWaitMs, undefined, post.signal ? { signal: post.signal } : undefined);
    const timeout = AbortSignal.timeout(attemptTimeoutMs);
    const response = await fetchFn(post.url, {
      method: 'POST',
      headers: { 'user-agent': `vaultra/${VAULTRA_VERSION}`, ...post.headers(n) },
      body: post.body,
      redirect: 'manual',
      signal: post.signal ? AbortSignal.any([post.signal, timeout]) : timeout,
    });
    // Accepted: the answer's body is of no interest, and waiting for it could only turn a delivery into a retry.
    if (response.ok) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    const text = await readExcerpt(response);
    if (response.status === 429) retryAfterMs = Math.min(maxRetryAfterMs, retryAfterHeaderMs(response.headers.get('retry-after')) ?? 0);
    throw new RefusedAttempt(response.status, post.explainRefusal?.(text));
  };

  try {
    await withRetries(attempt, {
      policy: options.retryPolicy ?? WEBHOOK_RETRY_POLICY,
      translate: (error) => classify(error, post.notifier, attemptTimeoutMs),
      // The last refusal, and how long the notifier kept at it; no caller retries a delivery again.
      giveUp: (error, attempts) => new NotifyFailedError(`${error.message} (gave up after ${attempts} attempts)`, { cause: error }),
      onRetry: (_error, _attempt, delayMs) => {
        backoffMs = delayMs;
      },
      ...(post.signal ? { signal: post.signal } : {}),
    });
  } catch (error) {
    if (post.signal?.aborted) throw new AbortedError(`${post.notifier}: delivery cancelled`);
    throw error;
  }
}

/**
 * What one failed attempt means: a `NotifyFailedError`, retryable (what `withRetries` retries
 * on) for 429, 5xx, a timeout or a network failure, final for anything else. Built without the
 * URL, so the last one can be rethrown as is.
 */
function classify(error: unknown, notifier: string, attemptTimeoutMs: number): NotifyFailedError {
  if (error instanceof RefusedAttempt) {
    const message = `${notifier}: the webhook answered HTTP ${error.status}${error.excerpt ? ` (${error.excerpt})` : ''}`;
    if (error.status === 429 || error.status >= 500) return new NotifyFailedError(message, { retryable: true });
    return new NotifyFailedError(error.status >= 300 && error.status < 400 ? `${message}: redirects are not followed` : message);
  }
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'TimeoutError') return new NotifyFailedError(`${notifier}: the webhook did not answer within ${attemptTimeoutMs} ms`, { retryable: true });
  // fetch rejects with TypeError('fetch failed') whose cause carries the socket's code; never pass its message on.
  if (error instanceof TypeError) return new NotifyFailedError(`${notifier}: could not reach the webhook (${networkCode(error)})`, { retryable: true });
  return new NotifyFailedError(`${notifier}: sending failed (${typeof name === 'string' ? name : 'unknown error'})`);
}

function networkCode(error: TypeError): string {
  const cause = error.cause as { code?: unknown; name?: unknown } | undefined;
  if (typeof cause?.code === 'string' && /^[A-Z0-9_]+$/.test(cause.code)) return cause.code;
  return typeof cause?.name === 'string' ? cause.name : 'network error';
}

/** A malformed URL makes fetch throw a message that quotes it: refuse it here, without quoting. */
function checkUrl(post: WebhookPost): void {
  let protocol: string;
  try {
    protocol = new URL(post.url).protocol;
  } catch {
    throw new NotifyFailedError(`${post.notifier}: the webhook URL is not a valid URL (check the secret it comes from)`);
  }
  if (protocol !== 'https:' && protocol !== 'http:') throw new NotifyFailedError(`${post.notifier}: the webhook URL must be http(s), got ${protocol}`);
}

/** The first KiB of the answer, read so the connection can be reused; the rest is dropped. */
async function readExcerpt(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < 1024) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, 1024).toString('utf8');
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3), in milliseconds. */
export function retryAfterHeaderMs(value: string | null, nowMs = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * The `message` of a JSON error answer (`{ "message": "Unknown Webhook" }`), when it is one plain
 * short line of words: no digit, slash or colon, so it cannot be echoing a URL, a token or a key.
 * An `explainRefusal` for services that answer so.
 */
export function jsonErrorMessage(body: string): string | undefined {
  try {
    const message = (JSON.parse(body) as { message?: unknown }).message;
    return typeof message === 'string' && /^[A-Za-z .,'()-]{1,80}$/.test(message) ? message : undefined;
  } catch {
    return undefined;
  }
}

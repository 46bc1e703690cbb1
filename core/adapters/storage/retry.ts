/**
 * Retrying one storage request (a part, a range, a listing page) with capped exponential backoff
 * and full jitter: attempt n waits a random time in [0, min(maxDelayMs, baseDelayMs × 2^(n-1))],
 * which spreads the retries of many parts that failed together (a throttling burst) instead of
 * sending them back in lock-step.
 *
 * Whether an error is worth retrying is decided once, by the adapter's `translate` function,
 * which turns an SDK error into a Vaultra error: only a `StorageError` with `retryable: true` is
 * retried; `NotFoundError`, `IntegrityError`, a permanent `StorageError` or an abort end it at
 * once. Store-neutral: the S3, GCS and Azure adapters share it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError } from '../../errors.js';

export interface RetryPolicy {
  /** Attempts in total, the first included. @default 6 */
  readonly maxAttempts: number;
  /** @default 250 */
  readonly baseDelayMs: number;
  /** @default 20_000 */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 20_000 };

export interface RetryOptions {
  readonly policy?: RetryPolicy;
  /** Turns whatever the request threw into the error to retry on or rethrow (a Vaultra error). */
  readonly translate: (error: unknown) => unknown;
  /** Stops waiting and retrying; the abort reason is rethrown as is. */
  readonly signal?: AbortSignal;
  /** Called before each wait (for logs and tests). */
  readonly onRetry?: (error: StorageError, attempt: number, delayMs: number, maxAttempts: number) => void;
  /** @default Math.random */
  readonly random?: () => number;
}

/** One retry, as a user is told about it: what failed and why (one line), which attempt of how many, and the wait before the next. */
export interface RetryNotice {
  readonly message: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly delayMs: number;
}

let observer: ((notice: RetryNotice) => void) | undefined;

/**
 * Where every storage retry of this process is reported (the CLI's stderr line). Retries happen
 * deep inside each adapter's requests, far from the command that could print them; one
 * listener set by the entry point hears them all, without a logger passed through every request.
 * `undefined` stops reporting.
 */
export function observeStorageRetries(listener: ((notice: RetryNotice) => void) | undefined): void {
  observer = listener;
}

/** Reports one retry to the observer, if any (shared with adapters that keep their own retry loop). */
export function reportRetry(notice: RetryNotice): void {
  observer?.(notice);
}

/** Whether `error` (already translated) should be tried again. */
export function isRetryable(error: unknown): error is StorageError {
  return error instanceof StorageError && error.retryable;
}

/** The wait before attempt `attempt + 1`, full jitter. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/**
 * Runs `operation` until it succeeds, fails permanently, or `maxAttempts` are used up. The
 * operation must be safe to repeat (a part upload of the same bytes, a ranged read).
 * Rejects with the translated error; after the last attempt, with a `StorageError` that says
 * how many attempts were made.
 */
export async function withRetries<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await operation(attempt);
    } catch (raw) {
      if (options.signal?.aborted) throw options.signal.reason;
      const error = options.translate(raw);
      if (!isRetryable(error)) throw error;
      if (attempt >= policy.maxAttempts) {
        throw new StorageError(`${error.message} (gave up after ${attempt} attempts)`, true, { cause: error });
      }
      const delayMs = backoffDelayMs(policy, attempt, options.random);
      options.onRetry?.(error, attempt, delayMs, policy.maxAttempts);
      reportRetry({ message: error.message, attempt, maxAttempts: policy.maxAttempts, delayMs });
      await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : undefined).catch(() => {
        throw options.signal?.reason;
      });
    }
  }
}

/**
 * Retrying one request (a storage part, a catalog write, a job launch, a webhook POST) with
 * capped exponential backoff and full jitter: attempt n waits a random time in
 * [0, min(maxDelayMs, baseDelayMs × 2^(n-1))], which spreads the retries of many requests that
 * failed together (a throttling burst) instead of sending them back in lock-step.
 *
 * Whether an error is worth retrying is decided once, by the adapter's `translate` function,
 * which turns an SDK error into a Vaultra error: only a `VaultraError` whose `retryable` property
 * is true is retried (see `core/errors.ts`); anything else, and an abort, ends it at once. Shared
 * by every adapter ring (storage, catalog, launchers, notifiers), so there is one vocabulary
 * (`maxAttempts`) and one place that reports retries.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError, VaultraError } from '../errors.js';

export interface RetryPolicy {
  /** Attempts in total, the first included. @default 6 */
  readonly maxAttempts: number;
  /** @default 250 */
  readonly baseDelayMs: number;
  /** @default 20_000 */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 20_000 };

/** A Vaultra error that says it is transient: the same request may succeed on the next attempt. */
export type RetryableError = VaultraError & { readonly retryable: true };

export interface RetryOptions {
  readonly policy?: RetryPolicy;
  /**
   * Turns whatever the request threw into the error to retry on or rethrow (a Vaultra error).
   * @default the error as thrown
   */
  readonly translate?: (error: unknown) => unknown;
  /** Stops waiting and retrying; the abort reason is rethrown as is. */
  readonly signal?: AbortSignal;
  /** Called before each wait (for logs and tests). */
  readonly onRetry?: (error: RetryableError, attempt: number, delayMs: number, maxAttempts: number) => void;
  /**
   * What to reject with when the last attempt failed with a retryable error.
   * @default {@link gaveUpError}
   */
  readonly giveUp?: (error: RetryableError, attempts: number) => unknown;
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
 * Where every retry of this process is reported (the CLI's stderr line). Retries happen deep
 * inside each adapter's requests, far from the command that could print them; one listener set
 * by the entry point hears them all, without a logger passed through every request.
 * `undefined` stops reporting.
 */
export function observeRetries(listener: ((notice: RetryNotice) => void) | undefined): void {
  observer = listener;
}

/** Reports one retry to the observer, if any. */
function reportRetry(notice: RetryNotice): void {
  observer?.(notice);
}

/** Whether `error` (already translated) should be tried again: a Vaultra error that says so. */
function isRetryable(error: unknown): error is RetryableError {
  return error instanceof VaultraError && error.retryable;
}

/** The wait before attempt `attempt + 1`, full jitter. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}

/**
 * The default end of a request that stayed transient: a storage error says how many attempts
 * were made; any other kind is rethrown as its adapter worded it (a launch or delivery failure
 * already names the last refusal).
 */
function gaveUpError(error: RetryableError, attempts: number): unknown {
  if (error instanceof StorageError) return new StorageError(`${error.message} (gave up after ${attempts} attempts)`, true, { cause: error });
  return error;
}

/**
 * Runs `operation` until it succeeds, fails permanently, or `maxAttempts` are used up. The
 * operation must be safe to repeat (a part upload of the same bytes, a ranged read, a RunTask
 * with a client token). Rejects with the translated error; after the last attempt, with what
 * `giveUp` makes of it.
 */
export async function withRetries<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    try {
      return await operation(attempt);
    } catch (raw) {
      if (options.signal?.aborted) throw options.signal.reason;
      const error = options.translate ? options.translate(raw) : raw;
      if (!isRetryable(error)) throw error;
      if (attempt >= policy.maxAttempts) throw (options.giveUp ?? gaveUpError)(error, attempt);
      const delayMs = backoffDelayMs(policy, attempt, options.random);
      options.onRetry?.(error, attempt, delayMs, policy.maxAttempts);
      reportRetry({ message: error.message, attempt, maxAttempts: policy.maxAttempts, delayMs });
      await sleep(delayMs, undefined, options.signal ? { signal: options.signal } : undefined).catch(() => {
        throw options.signal?.reason;
      });
    }
  }
}

/**
 * What a request that kept failing with retryable errors rejects with when its adapter wants
 * the last raw SDK error back (Azure reads status and code from it): that error as `cause`, and
 * how many attempts were made, so the error line can say "(gave up after N attempts)".
 */
export class RetriesExhaustedError extends Error {
  constructor(
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(`gave up after ${attempts} attempts`, options);
    this.name = 'RetriesExhaustedError';
  }
}

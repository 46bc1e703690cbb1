/**
 * Retries with exponential backoff and full jitter (AWS Architecture Blog, "Exponential Backoff
 * and Jitter"): the n-th retry waits a random time in [0, min(maxDelayMs, baseDelayMs × 2^n)],
 * so many writers that failed together do not come back together.
 *
 * The delays are the shared storage retry's (`../retry.ts`); what this adds is a per-try
 * timeout, and a retryability check on the SDK's own errors. The Blob adapter uses this
 * instead of the SDK's StorageRetryPolicy, which it turns off
 * (`maxTries: 1`): that policy waits without jitter, does not retry 429/502/504, nor a block
 * the service rejected for a damaged MD5, and cannot stop a try that stalls.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelayMs, DEFAULT_RETRY_POLICY } from '../retry.js';
import { requestTimeoutError } from '../request-timeout.js';

export interface RetryOptions {
  /** Tries in all, the first included. @default 6 */
  readonly maxTries?: number;
  /** @default 250 */
  readonly baseDelayMs?: number;
  /** @default 20_000 */
  readonly maxDelayMs?: number;
  /** A try that has not finished after this long is abandoned (its request aborted) and counts as a retryable failure. @default none (the adapter passes `requestTimeoutMs` of the bytes moved) */
  readonly tryTimeoutMs?: number;
}

export interface RetryContext {
  /** Aborted when the caller aborts, or when this try's `tryTimeoutMs` ran out. */
  readonly signal: AbortSignal;
  /** 1 for the first try. */
  readonly attempt: number;
}

/**
 * What a request that kept failing with retryable errors rejects with: the last error as `cause`,
 * and how many tries were made, so the error line can say "(gave up after N attempts)" like the
 * other stores' (`azureError()` reads the cause's status and code through it).
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

/**
 * Calls `attempt` until it succeeds, fails with an error `isRetryable` refuses, runs out of
 * tries, or `signal` aborts (then the caller's abort reason is thrown, without waiting).
 * `attempt` must be safe to repeat: every call here is idempotent (stage the same block id,
 * commit the same list, read the same range).
 */
export async function withRetries<T>(
  attempt: (context: RetryContext) => Promise<T>,
  isRetryable: (error: unknown) => boolean,
  options: RetryOptions & { readonly signal?: AbortSignal; readonly onRetry?: (error: unknown, attempt: number, delayMs: number, maxTries: number) => void } = {},
): Promise<T> {
  const maxTries = options.maxTries ?? 6;
  for (let tryNumber = 1; ; tryNumber++) {
    options.signal?.throwIfAborted();
    const timeout = options.tryTimeoutMs ? AbortSignal.timeout(options.tryTimeoutMs) : undefined;
    const signal = timeout ? (options.signal ? AbortSignal.any([options.signal, timeout]) : timeout) : (options.signal ?? new AbortController().signal);
    try {
      return await attempt({ signal, attempt: tryNumber });
    } catch (thrown) {
      if (options.signal?.aborted) throw options.signal.reason ?? thrown;
      const error = timeout?.aborted ? requestTimeoutError(options.tryTimeoutMs!, thrown) : thrown;
      const retryable = timeout?.aborted || isRetryable(error);
      if (!retryable) throw error;
      if (tryNumber >= maxTries) throw new RetriesExhaustedError(tryNumber, { cause: error });
      const policy = { maxAttempts: maxTries, baseDelayMs: options.baseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs, maxDelayMs: options.maxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs };
      const delayMs = backoffDelayMs(policy, tryNumber);
      options.onRetry?.(error, tryNumber, delayMs, maxTries);
      await sleep(delayMs, undefined, { signal: options.signal });
    }
  }
}

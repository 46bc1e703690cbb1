import { afterEach, describe, expect, it } from 'vitest';
import { observeRetries, withRetries, type RetryNotice, type RetryPolicy } from '../../core/adapters/retry.js';
import { ConfigError, LaunchFailedError, NotifyFailedError, StorageError } from '../../core/errors.js';

const FAST: RetryPolicy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 };

/** An operation that fails with `error` `failures` times, then answers 'ok'. */
function failing(error: Error, failures: number): { operation: () => Promise<string>; calls: () => number } {
  let calls = 0;
  return {
    operation: async () => {
      calls++;
      if (calls <= failures) throw error;
      return 'ok';
    },
    calls: () => calls,
  };
}

describe('withRetries: one loop for every adapter ring, keyed on VaultraError.retryable', () => {
  afterEach(() => observeRetries(undefined));

  it('retries any kind that says it is transient: storage, launch, notify', async () => {
    for (const error of [new StorageError('busy', true), new LaunchFailedError('throttled', true), new NotifyFailedError('HTTP 503', { retryable: true })]) {
      const { operation, calls } = failing(error, 2);
      await expect(withRetries(operation, { policy: FAST })).resolves.toBe('ok');
      expect(calls()).toBe(3);
    }
  });

  it('ends at once on an error that is not retryable, whatever its kind', async () => {
    for (const error of [new StorageError('denied', false), new LaunchFailedError('bad task definition', false), new ConfigError('typo'), new Error('not ours')]) {
      const { operation, calls } = failing(error, 5);
      await expect(withRetries(operation, { policy: FAST })).rejects.toBe(error);
      expect(calls()).toBe(1);
    }
  });

  it('after the last attempt: a storage error says how many were made, another kind is rethrown as worded, or as giveUp makes it', async () => {
    await expect(withRetries(failing(new StorageError('busy', true), 9).operation, { policy: FAST })).rejects.toThrow('busy (gave up after 3 attempts)');
    const throttled = new LaunchFailedError('throttled', true);
    await expect(withRetries(failing(throttled, 9).operation, { policy: FAST })).rejects.toBe(throttled);
    const gaveUp = withRetries(failing(new NotifyFailedError('HTTP 503', { retryable: true }), 9).operation, {
      policy: FAST,
      giveUp: (error, attempts) => new NotifyFailedError(`${error.message} (${attempts} attempts)`),
    });
    await expect(gaveUp).rejects.toThrow('HTTP 503 (3 attempts)');
  });

  it('reports every retry, of any kind, to the one observer (the CLI prints them on stderr)', async () => {
    const notices: RetryNotice[] = [];
    observeRetries((notice) => notices.push(notice));
    await withRetries(failing(new LaunchFailedError('ECS RunTask failed: ThrottlingException', true), 2).operation, { policy: FAST, random: () => 0 });
    expect(notices).toEqual([
      { message: 'ECS RunTask failed: ThrottlingException', attempt: 1, maxAttempts: 3, delayMs: 0 },
      { message: 'ECS RunTask failed: ThrottlingException', attempt: 2, maxAttempts: 3, delayMs: 0 },
    ]);
  });

  it('an aborted signal stops it before the first attempt and during a wait, with the abort reason', async () => {
    const reason = new Error('cancelled');
    const { operation, calls } = failing(new StorageError('busy', true), 9);
    await expect(withRetries(operation, { policy: FAST, signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(calls()).toBe(0);

    const controller = new AbortController();
    const waiting = withRetries(failing(new StorageError('busy', true), 9).operation, { policy: { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 }, signal: controller.signal, random: () => 1 });
    setTimeout(() => controller.abort(reason), 20);
    await expect(waiting).rejects.toBe(reason);
  });
});

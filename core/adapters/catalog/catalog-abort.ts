/**
 * How a catalog honours a call's `AbortSignal` (`CatalogCallOptions`): a call whose signal has
 * already aborted sends and writes nothing, and one that aborts while waiting on the service
 * rejects at once with an `AbortedError` naming what was cancelled (the abort reason as
 * `cause`), whether or not the SDK could cancel its request.
 */
import { AbortedError } from '../../errors.js';
import type { CatalogCallOptions } from '../../ports/catalog.js';
import { abortable } from '../abortable.js';

/** The error an aborted catalog call rejects with. */
export function catalogAborted(signal: AbortSignal, doing: string): AbortedError {
  return new AbortedError(`${doing} was cancelled`, { cause: signal.reason });
}

/** Throws before anything is sent or written when the call's signal has already aborted. */
export function checkNotAborted(options: CatalogCallOptions | undefined, doing: string): void {
  const signal = options?.signal;
  if (signal?.aborted) throw catalogAborted(signal, doing);
}

/**
 * Resolves as `call` does, or rejects as soon as the signal aborts. For SDKs that take no
 * signal (Firestore): the request then runs on unobserved, so only idempotent calls, or calls
 * whose outcome a later read settles, are left behind this way.
 */
export async function untilAborted<T>(call: Promise<T>, options: CatalogCallOptions | undefined, doing: string): Promise<T> {
  const signal = options?.signal;
  try {
    return await abortable(call, signal);
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw catalogAborted(signal, doing);
    throw error;
  }
}

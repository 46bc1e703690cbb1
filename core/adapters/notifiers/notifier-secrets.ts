import { redact, registerSecret } from '../../domain/redact.js';
import { AbortedError, NotifyFailedError, oneLine } from '../../errors.js';
import type { ResolveSecret } from '../secrets/secret-resolve.js';

export type { ResolveSecret };

/**
 * Resolves a webhook's secret (its URL, its signing key) at send time, and registers the value
 * for redaction whichever resolver produced it. A failure names the reference, never a value.
 */
export async function resolveForNotifier(notifier: string, what: string, reference: string, resolve: ResolveSecret, signal?: AbortSignal): Promise<string> {
  let value: string;
  try {
    value = await resolve(reference, signal);
  } catch (error) {
    if (signal?.aborted) throw new AbortedError(`${notifier}: delivery cancelled`, { cause: error });
    throw new NotifyFailedError(`${notifier}: could not read the ${what} secret: ${redact(oneLine(error))}`, { cause: error });
  }
  registerSecret(value);
  return value;
}

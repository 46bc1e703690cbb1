import type { Alert, Notifier } from '../ports/notifier.js';
import { redact } from '../domain/redact.js';
import { oneLine } from '../errors.js';

export interface NotifyOutcome {
  /** Names of the notifiers that delivered the alert. */
  readonly delivered: string[];
  /** The others, each with one redacted line saying why. */
  readonly failed: { readonly notifier: string; readonly error: string }[];
}

/**
 * Sends `alert` to every notifier at once (a routine alert only to those that track runs) and
 * reports who got it. Never rejects: a broken
 * Slack hook must not stop the SNS email, and the caller (a function finishing a run) has its
 * own work to complete whatever the alerting did. The caller decides what a failure means (a
 * log line, a metric).
 */
export async function notifyAll(everyNotifier: readonly Notifier[], alert: Alert, signal?: AbortSignal): Promise<NotifyOutcome> {
  const notifiers = alert.routine ? everyNotifier.filter((notifier) => notifier.tracksRuns) : everyNotifier;
  // `async () => …` turns a notifier that throws synchronously into a rejection like the others.
  const settled = await Promise.allSettled(notifiers.map(async (notifier) => notifier.notify(alert, signal)));
  const outcome: NotifyOutcome = { delivered: [], failed: [] };
  settled.forEach((result, i) => {
    const name = notifiers[i]!.name;
    if (result.status === 'fulfilled') outcome.delivered.push(name);
    else outcome.failed.push({ notifier: name, error: redact(oneLine(result.reason)) });
  });
  return outcome;
}

import type { Alert } from '../../ports/notifier.js';

/**
 * Cuts `text` to at most `maxChars` UTF-16 units (how Slack and SNS count), ending with
 * `ellipsis` when cut, without splitting a surrogate pair.
 */
export function truncate(text: string, maxChars: number, ellipsis = '…'): string {
  if (text.length <= maxChars) return text;
  let cut = text.slice(0, Math.max(0, maxChars - ellipsis.length));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut + ellipsis;
}

/** Where the alert comes from, as `label: value` pairs in reading order (absent values left out). */
export function alertOrigin(alert: Alert): [label: string, value: string][] {
  const origin: [string, string][] = [
    ['Environment', alert.environment],
    ['Job', alert.job],
  ];
  if (alert.runId) origin.push(['Run', alert.runId]);
  return origin;
}

/** The facts as `[label, value]` pairs, in the order given. */
export function alertFacts(alert: Alert): [label: string, value: string][] {
  return Object.entries(alert.facts ?? {});
}

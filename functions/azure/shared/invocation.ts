import type { InvocationContext } from '@azure/functions';
import type { Alert } from '../../../core/ports/notifier.js';
import type { NotifyOutcome } from '../../../core/usecases/notify-all.js';

/**
 * The first word of the log line every alert leaves (`vaultra-alert {"kind":…,"severity":…}`):
 * an Azure Monitor log alert rule on the function app's traces matches it and routes the alert
 * to the environment's Action Group (its e-mail receivers are `notifications.email`), while the
 * webhooks are sent from here.
 */
export const ALERT_LOG_MARKER = 'vaultra-alert';

/** What the functions log through: the invocation's context. */
export type InvocationLog = Pick<InvocationContext, 'log' | 'warn' | 'error'>;

/** `message {"field":…}`: one line per event, its fields as JSON for log queries. */
export function logLine(message: string, fields: object): string {
  return `${message} ${JSON.stringify(fields)}`;
}

/**
 * The deployment's `notify`, for one invocation: each alert is logged (for the Action Group's
 * alert rule), sent to every webhook, and each target that failed is logged as an error.
 */
export function alerting(notify: (alert: Alert) => Promise<NotifyOutcome>, log: InvocationLog): (alert: Alert) => Promise<NotifyOutcome> {
  return async (alert) => {
    log.warn(logLine(ALERT_LOG_MARKER, { kind: alert.kind, severity: alert.severity, environment: alert.environment, job: alert.job, runId: alert.runId, title: alert.title }));
    const outcome = await notify(alert);
    for (const failure of outcome.failed) log.error(logLine('alert not delivered', { alert: alert.kind, job: alert.job, notifier: failure.notifier, error: failure.error }));
    return outcome;
  };
}

const TRACEPARENT = /^[0-9a-f]{2}-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * The trace context a function hands to the runner (DESIGN.md §9): the first valid W3C
 * `traceparent` of the candidates (an API caller's header, then the invocation's own trace
 * context), as `TRACEPARENT` for OpenTelemetry in the runner.
 */
export function traceEnvironment(...candidates: readonly (string | null | undefined)[]): Record<string, string> {
  const traceparent = candidates.map((candidate) => candidate?.trim().toLowerCase()).find((candidate) => candidate && TRACEPARENT.test(candidate));
  return traceparent ? { TRACEPARENT: traceparent } : {};
}

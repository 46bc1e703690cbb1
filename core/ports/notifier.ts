/**
 * Where alerts go: SNS (email subscriptions), Slack, a generic HMAC-signed webhook. Every
 * notifier receives the same `Alert` and renders it in its own format.
 */
export type AlertKind = 'run-failed' | 'run-succeeded' | 'run-skipped' | 'launch-failed' | 'rpo-breach' | 'run-stuck' | 'log-lag' | 'log-gap' | 'drill-failed' | 'rto-breach';

export type AlertSeverity = 'critical' | 'warning' | 'info';

export interface Alert {
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  /** The deployment environment (`prod`), so one channel can serve several. */
  readonly environment: string;
  readonly job: string;
  readonly runId?: string;
  /** One line, e.g. `shop-postgres: backup failed (pg_dump exited 1)`. Redacted. */
  readonly title: string;
  /** A few sentences: what happened and what to do next. Redacted. */
  readonly detail: string;
  /** ISO time of the event the alert is about. */
  readonly at: string;
  /** Label → value pairs shown as fields (duration, bytes, location, task). No secret. */
  readonly facts?: Readonly<Record<string, string>>;
}

export interface Notifier {
  /** `sns`, `slack`, `webhook`: for logs when one target fails. */
  readonly name: string;
  /** Delivers the alert; rejects with `NotifyFailedError` after retries. */
  notify(alert: Alert, signal?: AbortSignal): Promise<void>;
}

import type { RunKind } from '../domain/run.js';

/**
 * Where alerts go: SNS (email subscriptions), Slack, Microsoft Teams, Discord, email over SMTP, a
 * generic HMAC-signed webhook, Pub/Sub, PagerDuty, healthchecks.io pings. Every notifier
 * receives the same `Alert` and renders it in its own format.
 */
export type AlertKind =
  | 'run-started'
  | 'run-failed'
  | 'run-succeeded'
  /** A backup (or log push) succeeded after the job's previous one failed or its RPO had passed: what closes a PagerDuty incident. */
  | 'run-recovered'
  | 'run-skipped'
  | 'launch-failed'
  | 'rpo-breach'
  | 'run-stuck'
  | 'log-lag'
  | 'log-gap'
  /** A restore drill failed (a check, the restore, the backup's authentication). */
  | 'drill-failed'
  /** A drill passed but took longer than the job's RTO budget. */
  | 'rto-breach';

export type AlertSeverity = 'critical' | 'warning' | 'info';

export interface Alert {
  readonly kind: AlertKind;
  readonly severity: AlertSeverity;
  /** The deployment environment (`prod`), so one channel can serve several. */
  readonly environment: string;
  readonly job: string;
  readonly runId?: string;
  /** What the run is (`backup`, `log`); absent for an alert about no run of the job's own (an on-demand task, an RPO breach before any run). */
  readonly runKind?: RunKind;
  /**
   * A lifecycle signal nobody asked to read: a run started, a run succeeded in a job without
   * `notifyOnSuccess`. Delivered only to notifiers that track runs ({@link Notifier.tracksRuns}:
   * healthchecks.io pings), never to a channel people read.
   */
  readonly routine?: boolean;
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
  /** Whether it takes {@link Alert.routine} alerts too (a dead-man's switch needs every start and success). @default false */
  readonly tracksRuns?: boolean;
  /**
   * Delivers the alert; rejects with `NotifyFailedError` after retries (429, 5xx and network
   * failures are retried, other refusals are not), `AbortedError` when `signal` aborts. An alert
   * the target has no use for (PagerDuty: a warning; healthchecks: anything but a backup's start
   * and end) resolves without sending. Never puts a resolved secret in an error.
   */
  notify(alert: Alert, signal?: AbortSignal): Promise<void>;
}

/**
 * Alerts to PagerDuty through the Events API v2
 * (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/): a critical alert
 * triggers an incident, and the job's recovery (`run-recovered`) resolves it.
 *
 * One incident per environment and job: every trigger of a job carries the same `dedup_key`
 * (`vaultra/<environment>/<job>`), so a failure, the watchdog's RPO breach that follows and a
 * stuck run all land in one incident instead of paging three times, and the resolve that the
 * next good backup sends closes it. A job's log pushes have their own key
 * (`vaultra/<environment>/<job>/logs`): a lagging log archive is a different problem than a
 * failing backup, and a backup succeeding does not fix it.
 *
 * Other alerts (warnings, successes) are not PagerDuty's business and are dropped here: page
 * on what needs a person now.
 */
import type { Alert, AlertSeverity, Notifier } from '../../ports/notifier.js';
import { alertFacts, truncate } from './alert-text.js';
import { resolveForNotifier, type ResolveSecret } from './notifier-secrets.js';
import { jsonErrorMessage, postWebhook, type WebhookDeliveryOptions } from './webhook-delivery.js';

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

export interface PagerDutyNotifierOptions extends WebhookDeliveryOptions {
  /** A secret reference to the service integration's routing key (Events API v2), resolved at each send. */
  readonly routingKey: string;
  /** @default {@link PAGERDUTY_EVENTS_URL} */
  readonly endpoint?: string;
  /** @default 'pagerduty' */
  readonly name?: string;
  readonly resolve: ResolveSecret;
}

export class PagerDutyNotifier implements Notifier {
  readonly name: string;

  constructor(private readonly options: PagerDutyNotifierOptions) {
    this.name = options.name ?? 'pagerduty';
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    const action = pagerDutyAction(alert);
    if (!action) return;
    const routingKey = await resolveForNotifier(this.name, 'routing key', this.options.routingKey, this.options.resolve, signal);
    await postWebhook(
      {
        notifier: this.name,
        url: this.options.endpoint ?? PAGERDUTY_EVENTS_URL,
        body: JSON.stringify(pagerDutyEvent(alert, routingKey, action)),
        headers: () => ({ 'content-type': 'application/json' }),
        // A 400 says `{"status":"invalid event","message":"Event object is invalid",...}`: the message is safe to show.
        explainRefusal: jsonErrorMessage,
        ...(signal ? { signal } : {}),
      },
      this.options,
    );
  }
}

/** What PagerDuty is told about `alert`: open (or add to) the incident, close it, or nothing. */
export function pagerDutyAction(alert: Alert): 'trigger' | 'resolve' | undefined {
  if (alert.kind === 'run-recovered') return 'resolve';
  return alert.severity === 'critical' ? 'trigger' : undefined;
}

/** The incident key of the job `alert` is about; the same for its trigger and its resolve. PagerDuty takes up to 255 characters. */
export function pagerDutyDedupKey(alert: Alert): string {
  const logs = alert.runKind === 'log' || alert.kind === 'log-lag' || alert.kind === 'log-gap';
  // A failed drill is its own incident: a backup that recovers says nothing about restores.
  const drills = alert.kind === 'drill-failed' || alert.kind === 'rto-breach';
  return truncate(`vaultra/${alert.environment}/${alert.job}${logs ? '/logs' : drills ? '/drills' : ''}`, 255, '');
}

const SEVERITY: Record<AlertSeverity, 'critical' | 'warning' | 'info'> = { critical: 'critical', warning: 'warning', info: 'info' };

/** PagerDuty's limits: summary 1024 characters; the whole event 512 KB (custom details are far smaller here). */
export const PAGERDUTY_LIMITS = { summaryChars: 1024, detailChars: 8000 } as const;

export type PagerDutyEvent =
  | {
      routing_key: string;
      event_action: 'trigger';
      dedup_key: string;
      client: string;
      payload: {
        summary: string;
        source: string;
        severity: 'critical' | 'error' | 'warning' | 'info';
        timestamp: string;
        component: string;
        group: string;
        class: string;
        custom_details: Record<string, string>;
      };
    }
  | { routing_key: string; event_action: 'resolve'; dedup_key: string };

/** The Events API v2 body for `alert`. */
export function pagerDutyEvent(alert: Alert, routingKey: string, action: 'trigger' | 'resolve'): PagerDutyEvent {
  const dedupKey = pagerDutyDedupKey(alert);
  if (action === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key: dedupKey };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    client: 'Vaultra',
    payload: {
      summary: truncate(`[${alert.environment}] ${alert.title.replace(/\s*\n\s*/g, ' ')}`, PAGERDUTY_LIMITS.summaryChars),
      source: `vaultra/${alert.environment}`,
      severity: SEVERITY[alert.severity],
      timestamp: alert.at,
      component: alert.job,
      group: alert.environment,
      class: alert.kind,
      custom_details: {
        detail: truncate(alert.detail, PAGERDUTY_LIMITS.detailChars),
        ...(alert.runId ? { run: alert.runId } : {}),
        ...Object.fromEntries(alertFacts(alert)),
      },
    },
  };
}


import type { VaultraConfigFile, WebhookConfig } from './config-schema.js';

type NotificationsConfig = VaultraConfigFile['environments'][string]['notifications'];

/**
 * Every secret reference the notifiers of `notifications` resolve when they send: what the
 * functions that alert must be allowed to read (the stacks grant exactly these).
 */
export function notificationSecretReferences(notifications: Pick<NotificationsConfig, 'webhooks' | 'smtp'>): string[] {
  const references = notifications.webhooks.flatMap((webhook): (string | undefined)[] => {
    switch (webhook.kind) {
      case 'generic':
        return [webhook.url, webhook.signingSecret];
      case 'pagerduty':
        return [webhook.routingKey];
      case 'healthchecks':
        return [webhook.url, ...Object.values(webhook.jobs)];
      default:
        return [webhook.url];
    }
  });
  references.push(notifications.smtp?.password);
  return [...new Set(references.filter((reference): reference is string => reference !== undefined))];
}

/** One alert target as `vaultra config show` lists it: its name in failure reports, where it goes, the secrets it reads (references, never values). */
export interface NotificationTarget {
  readonly name: string;
  readonly kind: 'sns-email' | 'smtp' | WebhookConfig['kind'];
  /** Where alerts go, as far as the config says without reading a secret. */
  readonly to: string;
  readonly secrets: readonly string[];
}

/**
 * The targets of `notifications`, named as `notifiersFor` names them (`email`, `slack`, `slack-2`,
 * `webhook`, `teams`, `pagerduty`, `healthchecks`…). SNS is listed as `sns` when the environment
 * is on AWS and has addresses (the stack subscribes them to its alert topic).
 */
export function notificationTargets(notifications: Pick<NotificationsConfig, 'webhooks' | 'smtp' | 'email'>, cloud: string): NotificationTarget[] {
  const targets: NotificationTarget[] = [];
  if (cloud === 'aws' && notifications.email.length > 0) targets.push({ name: 'sns', kind: 'sns-email', to: notifications.email.join(', '), secrets: [] });
  const { smtp } = notifications;
  if (smtp) targets.push({ name: 'email', kind: 'smtp', to: `${smtp.to.join(', ')} via ${smtp.host} (${smtp.security})`, secrets: smtp.password ? [smtp.password] : [] });
  const seen = new Map<string, number>();
  for (const webhook of notifications.webhooks) {
    const base = webhook.kind === 'generic' ? 'webhook' : webhook.kind;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    targets.push({ name: n === 1 ? base : `${base}-${n}`, kind: webhook.kind, to: WEBHOOK_DESTINATION[webhook.kind], secrets: notificationSecretReferences({ webhooks: [webhook] }) });
  }
  return targets;
}

const WEBHOOK_DESTINATION: Record<WebhookConfig['kind'], string> = {
  slack: 'a Slack channel (incoming webhook)',
  generic: 'an HMAC-signed JSON webhook',
  teams: 'a Teams channel (Adaptive Card)',
  discord: 'a Discord channel (webhook)',
  pagerduty: 'PagerDuty Events v2 (trigger on critical, resolve on recovery)',
  healthchecks: 'healthchecks.io pings (start, success, fail of each backup)',
};

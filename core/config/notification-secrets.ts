import type { VaultraConfigFile } from './config-schema.js';

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

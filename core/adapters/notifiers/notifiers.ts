import type { VaultraConfigFile } from '../../config/config-schema.js';
import type { Notifier } from '../../ports/notifier.js';
import type { WebhookConfig } from '../../config/config-schema.js';
import { DiscordNotifier } from './discord-notifier.js';
import { GenericWebhookNotifier } from './generic-webhook-notifier.js';
import { HealthchecksNotifier } from './healthchecks-notifier.js';
import type { ResolveSecret } from './notifier-secrets.js';
import { PagerDutyNotifier } from './pagerduty-notifier.js';
import { SlackNotifier } from './slack-notifier.js';
import { SmtpNotifier } from './smtp-notifier.js';
import { SnsNotifier } from './sns-notifier.js';
import { TeamsNotifier } from './teams-notifier.js';

/** An environment's `notifications` block, as validated by the config schema. */
export type NotificationsConfig = VaultraConfigFile['environments'][string]['notifications'];

export interface NotifierSettings {
  /** The environment's alert topic (created by the stack); without it, no SNS notifier. */
  readonly topicArn?: string;
  /** The topic's region. @default the ARN's region */
  readonly region?: string;
  /** Resolves webhook secrets at send time (a function passes its own cloud's resolver only, to keep other SDKs out of its bundle). */
  readonly resolve: ResolveSecret;
}

/**
 * The notifiers an environment's config asks for: SNS first when a topic is given (the email
 * addresses of `notifications.email` are that topic's subscriptions, made by the stack, so
 * they need no notifier of their own), then email over SMTP when `notifications.smtp` is set,
 * then one per webhook in config order. Names are `sns`, `email`, and the webhook's kind
 * (`slack`, `webhook` for a generic one, `teams`, `discord`, `pagerduty`, `healthchecks`); a
 * second webhook of the same kind is `slack-2`, and so on, so a failure report says which one.
 *
 * Cheap to call at module scope: no SDK or mail library is loaded and no secret is resolved
 * until an alert is sent.
 */
export function notifiersFor(notifications: Pick<NotificationsConfig, 'webhooks' | 'smtp'>, settings: NotifierSettings): Notifier[] {
  const notifiers: Notifier[] = [];
  if (settings.topicArn) notifiers.push(new SnsNotifier(settings.topicArn, settings.region ? { region: settings.region } : undefined));
  const { smtp } = notifications;
  if (smtp) {
    const { host, port, security, username, password, from, to } = smtp;
    notifiers.push(new SmtpNotifier({ host, security, from, to, resolve: settings.resolve, ...(port ? { port } : {}), ...(username ? { username } : {}), ...(password ? { password } : {}) }));
  }
  const seen = new Map<string, number>();
  const nameFor = (base: string): string => {
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  };
  for (const webhook of notifications.webhooks) notifiers.push(webhookNotifier(webhook, nameFor, settings.resolve));
  return notifiers;
}

function webhookNotifier(webhook: WebhookConfig, nameFor: (base: string) => string, resolve: ResolveSecret): Notifier {
  switch (webhook.kind) {
    case 'slack':
      return new SlackNotifier({ url: webhook.url, name: nameFor('slack'), resolve });
    case 'generic':
      return new GenericWebhookNotifier({ url: webhook.url, signingSecret: webhook.signingSecret, name: nameFor('webhook'), resolve });
    case 'teams':
      return new TeamsNotifier({ url: webhook.url, name: nameFor('teams'), resolve });
    case 'discord':
      return new DiscordNotifier({ url: webhook.url, name: nameFor('discord'), resolve });
    case 'pagerduty':
      return new PagerDutyNotifier({ routingKey: webhook.routingKey, name: nameFor('pagerduty'), resolve, ...(webhook.endpoint ? { endpoint: webhook.endpoint } : {}) });
    case 'healthchecks':
      return new HealthchecksNotifier({ jobs: webhook.jobs, name: nameFor('healthchecks'), resolve, ...(webhook.url ? { url: webhook.url } : {}) });
  }
}

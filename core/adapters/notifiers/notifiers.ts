import type { VaultraConfigFile } from '../../config/config-schema.js';
import type { Notifier } from '../../ports/notifier.js';
import { GenericWebhookNotifier } from './generic-webhook-notifier.js';
import type { ResolveSecret } from './notifier-secrets.js';
import { SlackNotifier } from './slack-notifier.js';
import { SnsNotifier } from './sns-notifier.js';

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
 * they need no notifier of their own), then one per webhook in config order. Names are
 * `sns`, `slack`, `webhook`; a second webhook of the same kind is `slack-2`, and so on, so a
 * failure report says which one.
 *
 * Cheap to call at module scope: no SDK is loaded and no secret is resolved until an alert is sent.
 */
export function notifiersFor(notifications: Pick<NotificationsConfig, 'webhooks'>, settings: NotifierSettings): Notifier[] {
  const notifiers: Notifier[] = [];
  if (settings.topicArn) notifiers.push(new SnsNotifier(settings.topicArn, settings.region ? { region: settings.region } : undefined));
  const seen = new Map<string, number>();
  const nameFor = (base: string): string => {
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return n === 1 ? base : `${base}-${n}`;
  };
  const resolve = { resolve: settings.resolve };
  for (const webhook of notifications.webhooks) {
    if (webhook.kind === 'slack') notifiers.push(new SlackNotifier({ url: webhook.url, name: nameFor('slack'), ...resolve }));
    else notifiers.push(new GenericWebhookNotifier({ url: webhook.url, signingSecret: webhook.signingSecret, name: nameFor('webhook'), ...resolve }));
  }
  return notifiers;
}

/**
 * Alerts to a Microsoft Teams channel as an Adaptive Card, through the channel's Workflows
 * webhook ("When a Teams webhook request is received" → "Post card in a chat or channel") or a
 * legacy incoming webhook: both take the same `message` envelope with one card attachment
 * (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using).
 *
 * The card: the title in the severity's colour, the detail, the facts as a FactSet, and a subtle
 * line with environment, job, run and time. Teams refuses a message over about 28 KB: the texts
 * are cut until the whole is below 24 KB.
 */
import type { Alert, AlertSeverity, Notifier } from '../../ports/notifier.js';
import { alertFacts, alertOrigin, truncate } from './alert-text.js';
import { resolveForNotifier, type ResolveSecret } from './notifier-secrets.js';
import { postWebhook, type WebhookDeliveryOptions } from './webhook-delivery.js';

export interface TeamsNotifierOptions extends WebhookDeliveryOptions {
  /** A secret reference to the Workflows or incoming-webhook URL (whoever has it can post to the channel), resolved at each send. */
  readonly url: string;
  /** @default 'teams' */
  readonly name?: string;
  readonly resolve: ResolveSecret;
}

export class TeamsNotifier implements Notifier {
  readonly name: string;

  constructor(private readonly options: TeamsNotifierOptions) {
    this.name = options.name ?? 'teams';
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    const url = await resolveForNotifier(this.name, 'webhook URL', this.options.url, this.options.resolve, signal);
    await postWebhook(
      { notifier: this.name, url, body: JSON.stringify(teamsPayload(alert)), headers: () => ({ 'content-type': 'application/json' }), ...(signal ? { signal } : {}) },
      this.options,
    );
  }
}

/** Cuts that keep the whole message far below Teams' ~28 KB: 4 KB of detail, 20 facts of 1 KB. */
export const TEAMS_LIMITS = { titleChars: 300, detailChars: 4000, facts: 20, factTitleChars: 100, factValueChars: 1000 } as const;

const SEVERITY_COLOR: Record<AlertSeverity, 'Attention' | 'Warning' | 'Good'> = { critical: 'Attention', warning: 'Warning', info: 'Good' };

export interface AdaptiveCardMessage {
  type: 'message';
  attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard }];
}

export interface AdaptiveCard {
  $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
  type: 'AdaptiveCard';
  version: '1.4';
  msteams: { width: 'Full' };
  body: ({ type: 'TextBlock'; text: string; wrap: true; [style: string]: unknown } | { type: 'FactSet'; facts: { title: string; value: string }[] })[];
}

/** Teams refuses a message over about 28 KB; this leaves room for the envelope Teams adds. */
export const TEAMS_MAX_BYTES = 24_000;

/**
 * The webhook body for `alert`: a `message` with one Adaptive Card (schema 1.4, what Teams
 * renders). Texts are cut to {@link TEAMS_LIMITS}, then shorter still while the JSON is over
 * {@link TEAMS_MAX_BYTES} (what it weighs depends on the characters: an emoji is 4 bytes).
 */
export function teamsPayload(alert: Alert): AdaptiveCardMessage {
  let message = teamsMessage(alert, 1);
  for (const scale of [0.5, 0.25, 0.1, 0.02]) {
    if (Buffer.byteLength(JSON.stringify(message)) <= TEAMS_MAX_BYTES) break;
    message = teamsMessage(alert, scale);
  }
  return message;
}

function teamsMessage(alert: Alert, scale: number): AdaptiveCardMessage {
  const cut = (text: string, maxChars: number) => truncate(text, Math.max(20, Math.floor(maxChars * scale)));
  const body: AdaptiveCard['body'] = [
    { type: 'TextBlock', text: cut(oneLine(alert.title), TEAMS_LIMITS.titleChars), wrap: true, size: 'Medium', weight: 'Bolder', style: 'heading', color: SEVERITY_COLOR[alert.severity] },
  ];
  if (alert.detail.trim()) body.push({ type: 'TextBlock', text: cut(alert.detail, TEAMS_LIMITS.detailChars), wrap: true });
  const facts = factSet(alert, cut);
  if (facts.length > 0) body.push({ type: 'FactSet', facts });
  const origin = [...alertOrigin(alert).map(([, value]) => value), alert.at].join(' · ');
  body.push({ type: 'TextBlock', text: cut(origin, TEAMS_LIMITS.detailChars), wrap: true, isSubtle: true, size: 'Small' });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', msteams: { width: 'Full' }, body },
      },
    ],
  };
}

/** The facts, at most {@link TEAMS_LIMITS.facts}; past that, the last one names the rest. */
function factSet(alert: Alert, cut: (text: string, maxChars: number) => string): { title: string; value: string }[] {
  const fact = ([title, value]: [string, string]) => ({ title: cut(title, TEAMS_LIMITS.factTitleChars), value: cut(value, TEAMS_LIMITS.factValueChars) });
  const facts = alertFacts(alert);
  if (facts.length <= TEAMS_LIMITS.facts) return facts.map(fact);
  const hidden = facts.slice(TEAMS_LIMITS.facts - 1);
  return [...facts.slice(0, TEAMS_LIMITS.facts - 1).map(fact), fact([`${hidden.length} more`, hidden.map(([label]) => label).join(', ')])];
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/**
 * Alerts to a Discord channel through a channel webhook
 * (https://discord.com/developers/docs/resources/webhook#execute-webhook): the title as the
 * message `content` (what a notification shows), and one embed with the detail, the facts as
 * inline fields, the severity's colour and the alert's time.
 *
 * Discord refuses a message past its limits, so every text is cut to them: content 2000
 * characters; embed title 256, description 4096, 25 fields of name 256 and value 1024, footer
 * 2048, and 6000 for all of an embed's texts together. Mentions are switched off
 * (`allowed_mentions`), so an error text holding `@everyone` pings no one.
 */
import type { Alert, AlertSeverity, Notifier } from '../../ports/notifier.js';
import { alertFacts, alertOrigin, truncate } from './alert-text.js';
import { resolveForNotifier, type ResolveSecret } from './notifier-secrets.js';
import { jsonErrorMessage, postWebhook, type WebhookDeliveryOptions } from './webhook-delivery.js';

export interface DiscordNotifierOptions extends WebhookDeliveryOptions {
  /** A secret reference to the webhook URL (`https://discord.com/api/webhooks/<id>/<token>`), resolved at each send. */
  readonly url: string;
  /** @default 'discord' */
  readonly name?: string;
  readonly resolve: ResolveSecret;
}

export class DiscordNotifier implements Notifier {
  readonly name: string;

  constructor(private readonly options: DiscordNotifierOptions) {
    this.name = options.name ?? 'discord';
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    const url = await resolveForNotifier(this.name, 'webhook URL', this.options.url, this.options.resolve, signal);
    await postWebhook(
      {
        notifier: this.name,
        url,
        body: JSON.stringify(discordPayload(alert)),
        headers: () => ({ 'content-type': 'application/json' }),
        // Discord answers errors as `{ "message": "Unknown Webhook", "code": 10015 }`: the message is safe to show.
        explainRefusal: jsonErrorMessage,
        ...(signal ? { signal } : {}),
      },
      this.options,
    );
  }
}

/** Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits). */
export const DISCORD_LIMITS = { contentChars: 2000, titleChars: 256, descriptionChars: 4096, fields: 25, fieldNameChars: 256, fieldValueChars: 1024, footerChars: 2048, embedTotalChars: 6000 } as const;

const SEVERITY_COLOR: Record<AlertSeverity, number> = { critical: 0xd93025, warning: 0xf9ab00, info: 0x1e8e3e };
const SEVERITY_EMOJI: Record<AlertSeverity, string> = { critical: '\u{1F6A8}', warning: '\u26A0\uFE0F', info: '\u2705' };

export interface DiscordEmbed {
  title: string;
  description?: string;
  color: number;
  fields?: { name: string; value: string; inline: boolean }[];
  footer: { text: string };
  timestamp?: string;
}

export interface DiscordPayload {
  username: string;
  content: string;
  allowed_mentions: { parse: [] };
  embeds: [DiscordEmbed];
}

/** The webhook body for `alert`, within every Discord limit. */
export function discordPayload(alert: Alert): DiscordPayload {
  const title = alert.title.replace(/\s*\n\s*/g, ' ');
  const embedTitle = cutMarkdown(escapeMarkdown(title), DISCORD_LIMITS.titleChars);
  const footer = truncate(alertOrigin(alert).map(([, value]) => value).join(' · '), DISCORD_LIMITS.footerChars);
  // What is left of the 6000 once title and footer are in: the fields first (short, scannable), then the detail.
  let budget = DISCORD_LIMITS.embedTotalChars - embedTitle.length - footer.length;
  const fields = fieldsWithin(alert, Math.floor(budget / 2));
  budget -= fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0);
  const description = alert.detail.trim() ? cutMarkdown(escapeMarkdown(alert.detail), Math.min(DISCORD_LIMITS.descriptionChars, budget)) : '';
  const atMs = Date.parse(alert.at);
  const embed: DiscordEmbed = {
    title: embedTitle,
    ...(description ? { description } : {}),
    color: SEVERITY_COLOR[alert.severity],
    ...(fields.length > 0 ? { fields } : {}),
    footer: { text: footer },
    ...(Number.isNaN(atMs) ? {} : { timestamp: new Date(atMs).toISOString() }),
  };
  return {
    username: 'Vaultra',
    content: cutMarkdown(`${SEVERITY_EMOJI[alert.severity]} ${escapeMarkdown(title)}`, DISCORD_LIMITS.contentChars),
    allowed_mentions: { parse: [] },
    embeds: [embed],
  };
}

/** One inline field per fact, while they fit in `budgetChars` and Discord's 25; the last one then names how many were left out. */
function fieldsWithin(alert: Alert, budgetChars: number): DiscordEmbed['fields'] & object {
  const field = (name: string, value: string) => ({ name: truncate(name, DISCORD_LIMITS.fieldNameChars), value: cutMarkdown(escapeMarkdown(value), DISCORD_LIMITS.fieldValueChars) || '-', inline: true });
  const facts = alertFacts(alert);
  const fields: { name: string; value: string; inline: boolean }[] = [];
  let used = 0;
  for (const [i, [label, value]] of facts.entries()) {
    const next = field(label, value);
    const roomForNote = i < facts.length - 1 ? 40 : 0;
    if (fields.length === DISCORD_LIMITS.fields - 1 && i < facts.length - 1) break;
    if (used + next.name.length + next.value.length + roomForNote > budgetChars) break;
    fields.push(next);
    used += next.name.length + next.value.length;
  }
  const left = facts.length - fields.length;
  if (left > 0) fields.push(field(`${left} more`, truncate(facts.slice(fields.length).map(([label]) => label).join(', '), 30)));
  return fields;
}


/** Backslash before each character Discord's markdown reads inside a line (`*`, `_`, `~`, `` ` ``, `|`, `>`). */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\*_~`|>]/g, (c) => `\\${c}`);
}

/** Cuts escaped text without leaving a lone backslash (half an escape) before the ellipsis. */
function cutMarkdown(escaped: string, maxChars: number): string {
  if (maxChars <= 0) return '';
  const cut = truncate(escaped, maxChars);
  if (cut.length === escaped.length) return cut;
  const trailing = /\\+…$/.exec(cut)?.[0].length ?? 1;
  // An odd run of backslashes ends in half an escape: drop one.
  return (trailing - 1) % 2 === 1 ? `${cut.slice(0, -2)}…` : cut;
}

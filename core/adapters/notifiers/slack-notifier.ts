/**
 * Alerts to a Slack channel through an incoming webhook, as Block Kit: a header with a
 * severity emoji, the detail, the facts as fields, and a context line (environment · job · run
 * · time), plus the top-level `text` Slack shows in notifications and where blocks cannot be
 * drawn. Limits are Slack's: header 150 characters, section text 3000, at most 10 fields of
 * 2000 each.
 */
import type { Alert, AlertSeverity, Notifier } from '../../ports/notifier.js';
import { alertFacts, truncate } from './alert-text.js';
import { resolveForNotifier, type ResolveSecret } from './notifier-secrets.js';
import { postWebhook, type WebhookDeliveryOptions } from './webhook-delivery.js';

export interface SlackNotifierOptions extends WebhookDeliveryOptions {
  /** A secret reference (`secret+aws://…`, `env://…`) to the webhook URL, resolved at each send. */
  readonly url: string;
  /** @default 'slack' */
  readonly name?: string;
  /** Reads secret references: `resolveSecret` in the CLI, one cloud's resolver in a function bundle. */
  readonly resolve: ResolveSecret;
}

export class SlackNotifier implements Notifier {
  readonly name: string;

  constructor(private readonly options: SlackNotifierOptions) {
    this.name = options.name ?? 'slack';
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    // Resolved per alert, not cached: a rotated webhook URL is picked up without a redeploy.
    const url = await resolveForNotifier(this.name, 'webhook URL', this.options.url, this.options.resolve, signal);
    await postWebhook(
      {
        notifier: this.name,
        url,
        body: JSON.stringify(slackPayload(alert)),
        headers: () => ({ 'content-type': 'application/json' }),
        // Slack answers errors with a bare code (`invalid_blocks`, `no_service`): safe and useful to show.
        explainRefusal: (body) => (/^[a-z_]{1,60}$/.test(body.trim()) ? body.trim() : undefined),
        ...(signal ? { signal } : {}),
      },
      this.options,
    );
  }
}

const SEVERITY_EMOJI: Record<AlertSeverity, string> = {
  critical: ':rotating_light:',
  warning: ':warning:',
  info: ':white_check_mark:',
};

/** Slack's limits (https://api.slack.com/reference/block-kit/blocks). */
export const SLACK_LIMITS = { headerChars: 150, sectionChars: 3000, fields: 10, fieldChars: 2000, fallbackChars: 3000 } as const;

/** The webhook payload for `alert`: Block Kit blocks and the `text` fallback. */
export function slackPayload(alert: Alert): { text: string; blocks: SlackBlock[] } {
  const emoji = SEVERITY_EMOJI[alert.severity];
  const title = alert.title.replace(/\s*\n\s*/g, ' ');
  const blocks: SlackBlock[] = [{ type: 'header', text: { type: 'plain_text', text: truncate(`${emoji} ${title}`, SLACK_LIMITS.headerChars), emoji: true } }];
  if (alert.detail.trim()) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: mrkdwn(alert.detail, SLACK_LIMITS.sectionChars) } });
  const fields = factFields(alert);
  if (fields.length > 0) blocks.push({ type: 'section', fields });
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: contextLine(alert) }] });
  return { text: mrkdwn(`${emoji} ${title}`, SLACK_LIMITS.fallbackChars), blocks };
}

export type SlackText = { type: 'plain_text'; text: string; emoji?: boolean } | { type: 'mrkdwn'; text: string };
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: boolean } }
  | { type: 'section'; text: SlackText }
  | { type: 'section'; fields: SlackText[] }
  | { type: 'context'; elements: SlackText[] };

/** One field per fact; past Slack's ten, the tenth names how many more there are (the SNS email has them all). */
function factFields(alert: Alert): SlackText[] {
  const facts = alertFacts(alert);
  const field = (label: string, value: string): SlackText => ({ type: 'mrkdwn', text: cutEscaped(`*${escapeMrkdwn(label)}*\n${escapeMrkdwn(value)}`, SLACK_LIMITS.fieldChars) });
  if (facts.length <= SLACK_LIMITS.fields) return facts.map(([label, value]) => field(label, value));
  const shown = facts.slice(0, SLACK_LIMITS.fields - 1);
  const hidden = facts.slice(SLACK_LIMITS.fields - 1);
  return [...shown.map(([label, value]) => field(label, value)), field(`${hidden.length} more`, hidden.map(([label]) => label).join(', '))];
}

/** `*prod* · shop-postgres · run `…` · <time>`; the time is a Slack date token, shown in each reader's own zone. */
function contextLine(alert: Alert): string {
  const parts = [`*${escapeMrkdwn(alert.environment)}*`, escapeMrkdwn(alert.job)];
  if (alert.runId) parts.push(`run \`${escapeMrkdwn(alert.runId)}\``);
  const atMs = Date.parse(alert.at);
  parts.push(Number.isNaN(atMs) ? escapeMrkdwn(alert.at) : `<!date^${Math.floor(atMs / 1000)}^{date_short_pretty} {time_secs}|${escapeMrkdwn(alert.at)}>`);
  return cutEscaped(parts.join(' · '), SLACK_LIMITS.sectionChars);
}

/** Escaped for mrkdwn (Slack reads `<…>` as links and mentions), then cut to `maxChars`. */
function mrkdwn(text: string, maxChars: number): string {
  return cutEscaped(escapeMrkdwn(text), maxChars);
}

/** Cuts escaped text to `maxChars` without leaving half an entity (`&am…`) at the cut. */
function cutEscaped(escaped: string, maxChars: number): string {
  const cut = truncate(escaped, maxChars);
  return cut.length < escaped.length ? cut.replace(/&[a-z]{0,3}…$/, '…') : cut;
}

/** The three characters Slack requires as entities. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

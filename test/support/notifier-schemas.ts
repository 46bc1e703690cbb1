/**
 * What each service accepts, written from its own documentation, so a receiver can refuse what
 * the real service would. Each schema is strict where the service is: a payload that passes here
 * but not there is a test that lies.
 */
import * as z from 'zod';

/**
 * PagerDuty Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/,
 * …/resolve-events/): `routing_key` 32 characters, `dedup_key` at most 255, `payload.summary` at
 * most 1024, `severity` one of four, `source` required; a resolve needs only the key and action.
 */
export const pagerDutyEventSchema = z.discriminatedUnion('event_action', [
  z.strictObject({
    routing_key: z.string().length(32),
    event_action: z.literal('trigger'),
    dedup_key: z.string().min(1).max(255),
    client: z.string().optional(),
    client_url: z.url().optional(),
    payload: z.strictObject({
      summary: z.string().min(1).max(1024),
      source: z.string().min(1),
      severity: z.enum(['critical', 'error', 'warning', 'info']),
      timestamp: z.iso.datetime().optional(),
      component: z.string().optional(),
      group: z.string().optional(),
      class: z.string().optional(),
      custom_details: z.record(z.string(), z.unknown()).optional(),
    }),
  }),
  z.strictObject({ routing_key: z.string().length(32), event_action: z.enum(['resolve', 'acknowledge']), dedup_key: z.string().min(1).max(255) }),
]);

/**
 * Discord's execute-webhook body (https://discord.com/developers/docs/resources/webhook#execute-webhook
 * and the embed limits of …/resources/message#embed-object-embed-limits).
 */
const discordEmbedSchema = z
  .object({
    title: z.string().max(256).optional(),
    description: z.string().max(4096).optional(),
    color: z.number().int().min(0).max(0xffffff).optional(),
    timestamp: z.iso.datetime().optional(),
    fields: z.array(z.strictObject({ name: z.string().min(1).max(256), value: z.string().min(1).max(1024), inline: z.boolean().optional() })).max(25).optional(),
    footer: z.strictObject({ text: z.string().max(2048) }).optional(),
    author: z.object({ name: z.string().max(256) }).optional(),
  })
  .refine((embed) => embedChars(embed) <= 6000, 'the embed texts together exceed 6000 characters');

export const discordPayloadSchema = z
  .object({
    content: z.string().max(2000).optional(),
    username: z.string().min(1).max(80).optional(),
    allowed_mentions: z.object({ parse: z.array(z.enum(['roles', 'users', 'everyone'])) }).optional(),
    embeds: z.array(discordEmbedSchema).max(10).optional(),
  })
  .refine((payload) => Boolean(payload.content) || (payload.embeds?.length ?? 0) > 0, 'a message needs content or an embed')
  .refine((payload) => (payload.embeds ?? []).reduce((sum, embed) => sum + embedChars(embed), 0) <= 6000, 'all embeds together exceed 6000 characters');

function embedChars(embed: { title?: string | undefined; description?: string | undefined; fields?: { name: string; value: string }[] | undefined; footer?: { text: string } | undefined; author?: { name: string } | undefined }): number {
  const fields = (embed.fields ?? []).reduce((sum, field) => sum + field.name.length + field.value.length, 0);
  return (embed.title?.length ?? 0) + (embed.description?.length ?? 0) + fields + (embed.footer?.text.length ?? 0) + (embed.author?.name.length ?? 0);
}

/**
 * The Teams webhook envelope (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook)
 * around an Adaptive Card (https://adaptivecards.io/explorer/): the elements used here, strict.
 */
const textBlockSchema = z.object({
  type: z.literal('TextBlock'),
  text: z.string().min(1),
  wrap: z.boolean().optional(),
  size: z.enum(['Default', 'Small', 'Medium', 'Large', 'ExtraLarge']).optional(),
  weight: z.enum(['Default', 'Lighter', 'Bolder']).optional(),
  color: z.enum(['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention']).optional(),
  isSubtle: z.boolean().optional(),
  style: z.enum(['default', 'heading']).optional(),
});
const factSetSchema = z.object({ type: z.literal('FactSet'), facts: z.array(z.strictObject({ title: z.string(), value: z.string() })).min(1) });

export const teamsMessageSchema = z
  .strictObject({
    type: z.literal('message'),
    attachments: z
      .array(
        z.strictObject({
          contentType: z.literal('application/vnd.microsoft.card.adaptive'),
          contentUrl: z.null().optional(),
          content: z.object({
            $schema: z.literal('http://adaptivecards.io/schemas/adaptive-card.json'),
            type: z.literal('AdaptiveCard'),
            version: z.enum(['1.0', '1.1', '1.2', '1.3', '1.4', '1.5']),
            msteams: z.object({ width: z.literal('Full') }).optional(),
            body: z.array(z.discriminatedUnion('type', [textBlockSchema, factSetSchema])).min(1),
          }),
        }),
      )
      .length(1),
  })
  // Teams refuses a message over about 28 KB.
  .refine((message) => Buffer.byteLength(JSON.stringify(message)) < 28_000, 'over the 28 KB Teams takes');

/** Slack incoming webhook with Block Kit (https://api.slack.com/reference/block-kit/blocks): the limits the notifier cuts to. */
export const slackPayloadSchema = z.object({
  text: z.string().min(1).max(3000),
  blocks: z.array(z.object({ type: z.enum(['header', 'section', 'context']) })).min(1).max(50),
});

/** The generic webhook's version-1 body (generic-webhook-notifier.ts). */
export const genericWebhookBodySchema = z.strictObject({
  version: z.literal(1),
  kind: z.string(),
  severity: z.enum(['critical', 'warning', 'info']),
  environment: z.string(),
  job: z.string(),
  runId: z.string().nullable(),
  title: z.string(),
  detail: z.string(),
  at: z.iso.datetime(),
  facts: z.record(z.string(), z.string()),
});

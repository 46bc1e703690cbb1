/**
 * Every HTTP notifier through the notifier contract, each against a local receiver that checks
 * what arrives against the service's documented schema (test/support/notifier-schemas.ts).
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect } from 'vitest';
import { DiscordNotifier } from '../../core/adapters/notifiers/discord-notifier.js';
import { GenericWebhookNotifier, verifyWebhookSignature, webhookBody } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { HealthchecksNotifier } from '../../core/adapters/notifiers/healthchecks-notifier.js';
import { PagerDutyNotifier } from '../../core/adapters/notifiers/pagerduty-notifier.js';
import { SlackNotifier } from '../../core/adapters/notifiers/slack-notifier.js';
import { TeamsNotifier } from '../../core/adapters/notifiers/teams-notifier.js';
import { resolveSecret } from '../../core/adapters/secrets/secret-resolvers.js';
import type { Alert } from '../../core/ports/notifier.js';
import { failedBackup } from '../support/alert-fixtures.js';
import { HttpReceiver, type Reply } from '../support/http-receiver.js';
import { discordPayloadSchema, genericWebhookBodySchema, pagerDutyEventSchema, slackPayloadSchema, teamsMessageSchema } from '../support/notifier-schemas.js';
import { notifierContract, type NotifierFixture } from './notifier.contract.js';


const canary = (label: string) => `CANARY-${label}-${randomBytes(8).toString('hex')}`;
const transient: Reply = { status: 503, body: 'busy' };
const rateLimited: Reply = { status: 429, headers: { 'retry-after': '0' }, body: '{"message":"You are being rate limited.","retry_after":0.01}' };

const receiver = new HttpReceiver();
const setVariables: string[] = [];
beforeAll(() => receiver.start());
afterAll(async () => {
  await receiver.stop();
  for (const name of setVariables) delete process.env[name];
});

/** Sets `name` to `value` for the file (the contract unsets one itself to test a missing secret). */
function setSecret(name: string, value: string): void {
  process.env[name] = value;
  setVariables.push(name);
}

/** The parts of a fixture every HTTP notifier shares: the receiver's attempts and refusals. */
function httpFixture(options: {
  /** The variables the notifier's references name, set before each test; the first is the one the contract unsets. */
  variables: () => Record<string, string>;
  secrets: () => string[];
  permanent: Reply;
  transientReply?: Reply;
  build: NotifierFixture['build'];
  check: (body: string, path: string, headers: Record<string, unknown>, alert: Alert) => void;
  alert?: Alert;
}): () => NotifierFixture {
  return () => {
    const variables = options.variables();
    for (const [name, value] of Object.entries(variables)) setSecret(name, value);
    return {
      alert: options.alert ?? failedBackup,
      build: options.build,
      async checkDeliveries(alert) {
        const accepted = receiver.requests.filter((_, i) => i >= refusedCount);
        for (const request of accepted) options.check(request.body, request.path, request.headers, alert);
        return accepted.length;
      },
      attempts: () => receiver.requests.length,
      refuseTransiently() {
        refusedCount += 1;
        receiver.reply(options.transientReply ?? transient);
      },
      refusePermanently() {
        refusedCount += 1;
        receiver.reply(options.permanent);
      },
      reset() {
        refusedCount = 0;
        receiver.reset();
      },
      secretVariable: Object.keys(variables)[0]!,
      get secrets() {
        return options.secrets();
      },
    };
  };
}
let refusedCount = 0;

// Slack ----------------------------------------------------------------------------------------
const slackPath = `/services/T000/B000/${canary('slack')}`;
const slackUrl = () => receiver.url(slackPath);
notifierContract(
  'SlackNotifier',
  httpFixture({
    variables: () => ({ VAULTRA_CONTRACT_SLACK_URL: slackUrl() }),
    secrets: () => [slackUrl(), slackPath],
    permanent: { status: 400, body: 'invalid_blocks' },
    build: (retryPolicy) => new SlackNotifier({ url: 'env://VAULTRA_CONTRACT_SLACK_URL', retryPolicy, resolve: resolveSecret }),
    check: (body, path, _headers, alert) => {
      expect(path).toBe(slackPath);
      const payload = slackPayloadSchema.parse(JSON.parse(body));
      expect(payload.text).toContain(alert.title);
    },
  }),
);

// Generic signed webhook ------------------------------------------------------------------------
const genericKey = canary('hmac');
const genericPath = `/hooks/${canary('generic')}`;
notifierContract(
  'GenericWebhookNotifier',
  httpFixture({
    variables: () => ({ VAULTRA_CONTRACT_GENERIC_URL: receiver.url(genericPath), VAULTRA_CONTRACT_GENERIC_KEY: genericKey }),
    secrets: () => [genericKey, genericPath],
    permanent: { status: 410 },
    build: (retryPolicy) =>
      new GenericWebhookNotifier({
        url: 'env://VAULTRA_CONTRACT_GENERIC_URL',
        signingSecret: 'env://VAULTRA_CONTRACT_GENERIC_KEY',
        retryPolicy,
        resolve: resolveSecret,
      }),
    check: (body, _path, headers, alert) => {
      expect(genericWebhookBodySchema.parse(JSON.parse(body))).toEqual(webhookBody(alert));
      expect(verifyWebhookSignature(body, headers as Record<string, string>, genericKey)).toBe(true);
    },
  }),
);

// Microsoft Teams -------------------------------------------------------------------------------
const teamsPath = `/workflows/${canary('teams')}/triggers/manual/paths/invoke`;
notifierContract(
  'TeamsNotifier',
  httpFixture({
    variables: () => ({ VAULTRA_CONTRACT_TEAMS_URL: receiver.url(teamsPath) }),
    secrets: () => [teamsPath],
    permanent: { status: 400, body: 'Bad payload' },
    transientReply: rateLimited,
    build: (retryPolicy) => new TeamsNotifier({ url: 'env://VAULTRA_CONTRACT_TEAMS_URL', retryPolicy, resolve: resolveSecret }),
    check: (body, _path, headers, alert) => {
      expect(headers['content-type']).toBe('application/json');
      const card = teamsMessageSchema.parse(JSON.parse(body)).attachments[0]!.content;
      expect(card.body[0]).toMatchObject({ type: 'TextBlock', text: alert.title, color: 'Attention' });
      expect(card.body).toContainEqual({ type: 'TextBlock', text: alert.detail, wrap: true });
      expect(card.body).toContainEqual({ type: 'FactSet', facts: Object.entries(alert.facts ?? {}).map(([title, value]) => ({ title, value })) });
    },
  }),
);

// Discord ---------------------------------------------------------------------------------------
const discordPath = `/api/webhooks/1234567890/${canary('discord')}`;
notifierContract(
  'DiscordNotifier',
  httpFixture({
    variables: () => ({ VAULTRA_CONTRACT_DISCORD_URL: receiver.url(discordPath) }),
    secrets: () => [discordPath],
    permanent: { status: 404, headers: { 'content-type': 'application/json' }, body: '{"message": "Unknown Webhook", "code": 10015}' },
    transientReply: rateLimited,
    build: (retryPolicy) => new DiscordNotifier({ url: 'env://VAULTRA_CONTRACT_DISCORD_URL', retryPolicy, resolve: resolveSecret }),
    check: (body, _path, _headers, alert) => {
      const payload = discordPayloadSchema.parse(JSON.parse(body));
      const unescape = (text: string | undefined) => text?.replace(/\\(.)/g, '$1');
      expect(unescape(payload.embeds![0]!.title)).toBe(alert.title);
      expect(unescape(payload.embeds![0]!.description)).toBe(alert.detail);
      expect(payload.allowed_mentions).toEqual({ parse: [] });
    },
  }),
);

// PagerDuty -------------------------------------------------------------------------------------
const routingKey = `CANARY${randomBytes(13).toString('hex')}`; // 32 characters, as PagerDuty's are
notifierContract(
  'PagerDutyNotifier',
  httpFixture({
    variables: () => ({ VAULTRA_CONTRACT_PAGERDUTY_KEY: routingKey }),
    secrets: () => [routingKey],
    permanent: { status: 400, headers: { 'content-type': 'application/json' }, body: '{"status":"invalid event","message":"Event object is invalid","errors":["Length of \'routing_key\' is incorrect (should be 32 characters)"]}' },
    transientReply: rateLimited,
    build: (retryPolicy) => new PagerDutyNotifier({ routingKey: 'env://VAULTRA_CONTRACT_PAGERDUTY_KEY', endpoint: receiver.url('/v2/enqueue'), retryPolicy, resolve: resolveSecret }),
    check: (body, path, _headers, alert) => {
      expect(path).toBe('/v2/enqueue');
      const event = pagerDutyEventSchema.parse(JSON.parse(body));
      expect(event).toMatchObject({ routing_key: routingKey, event_action: 'trigger', dedup_key: `vaultra/${alert.environment}/${alert.job}` });
      if (event.event_action === 'trigger') expect(event.payload.summary).toContain(alert.title);
    },
  }),
);

// healthchecks.io -------------------------------------------------------------------------------
const pingKey = canary('pingkey');
notifierContract(
  'HealthchecksNotifier',
  httpFixture({
    variables: () => ({ VAULTRA_CONTRACT_HC_URL: receiver.url(`/ping/${pingKey}`) }),
    secrets: () => [pingKey],
    permanent: { status: 404, body: 'not found' },
    build: (retryPolicy) => new HealthchecksNotifier({ url: 'env://VAULTRA_CONTRACT_HC_URL', retryPolicy, resolve: resolveSecret }),
    check: (body, path, _headers, alert) => {
      expect(path).toBe(`/ping/${pingKey}/${alert.job}/fail`);
      expect(body).toContain(alert.title);
      expect(body.length).toBeLessThanOrEqual(100_000);
    },
  }),
);

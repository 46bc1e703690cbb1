import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { GenericWebhookNotifier, verifyWebhookSignature, webhookBody } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { notifiersFor } from '../../core/adapters/notifiers/notifiers.js';
import { SlackNotifier } from '../../core/adapters/notifiers/slack-notifier.js';
import { SnsNotifier } from '../../core/adapters/notifiers/sns-notifier.js';
import type { RetryPolicy } from '../../core/adapters/retry.js';
import { registerSecret } from '../../core/domain/redact.js';
import { resolveSecret } from '../../core/adapters/secrets/secret-resolvers.js';
import { AbortedError, NotifyFailedError } from '../../core/errors.js';
import type { Alert } from '../../core/ports/notifier.js';
import { notifyAll } from '../../core/usecases/notify-all.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { eachAwsEmulator } from '../support/aws-emulators.js';

const alert: Alert = {
  kind: 'run-failed',
  severity: 'critical',
  environment: 'prod',
  job: 'shop-postgres',
  runId: '20261122T031502.123Z-3f9c2a',
  title: 'shop-postgres: backup failed (pg_dump exited 1)',
  detail: 'pg_dump could not connect. Check the connection secret, then run `vaultra backup` again.',
  at: '2026-11-22T03:16:40.000Z',
  facts: { Duration: '1 min 38 s', Task: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/abc' },
};

/** Fast retries, so a test with three failures takes milliseconds. */
const QUICK: RetryPolicy = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 50 };

interface Recorded {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly atMs: number;
}

/** What the receiver does with one request: answer it, or never answer (`hang`). */
type Reply = { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/**
 * A webhook receiver on 127.0.0.1 and a free port that records every request and answers
 * with the replies queued for it (then 200 "ok").
 */
class Receiver {
  readonly requests: Recorded[] = [];
  /** Replies queued for one path, or (under `*`) for any. */
  private readonly replies = new Map<string, Reply[]>();
  private server: Server | undefined;

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({ method: request.method!, path: request.url!, headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), atMs: Date.now() });
        const reply = this.replies.get(request.url!)?.shift() ?? this.replies.get('*')?.shift() ?? { status: 200, body: 'ok' };
        this.answer(response, reply, request.url!);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
  }

  url(path: string): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}${path}`;
  }

  /** Queues replies for the next requests, whatever their path. */
  reply(...replies: Reply[]): void {
    this.replyTo('*', ...replies);
  }

  /** Queues replies for the next requests to `path`. */
  replyTo(path: string, ...replies: Reply[]): void {
    this.replies.set(path, [...(this.replies.get(path) ?? []), ...replies]);
  }

  reset(): void {
    this.requests.length = 0;
    this.replies.clear();
    this.server?.closeAllConnections();
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  private answer(response: ServerResponse, reply: Reply, path: string): void {
    if (reply === 'hang') return;
    // Like many frameworks, an error page that echoes the path: a notifier must not pass it on.
    response.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
    response.end(reply.body ?? `Cannot POST ${path}`);
  }
}

describe('webhook notifiers against a local receiver', () => {
  const receiver = new Receiver();
  const canaryPath = `/hooks/CANARY-path-${randomBytes(6).toString('hex')}`;
  const canarySecret = `CANARY-secret-${randomBytes(12).toString('hex')}`;
  let logged: MockInstance[] = [];

  beforeAll(() => receiver.start());
  afterAll(() => receiver.stop());
  beforeEach(() => {
    receiver.reset();
    logged = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => vi.spyOn(console, method));
    vi.stubEnv('VAULTRA_TEST_HOOK_URL', receiver.url(canaryPath));
    vi.stubEnv('VAULTRA_TEST_HOOK_SECRET', canarySecret);
  });
  afterEach(() => {
    // Nothing a notifier logged may carry the URL or the secret.
    const everything = logged.flatMap((spy) => spy.mock.calls.map((args) => inspect(args, { depth: 10 }))).join('\n');
    expect(everything).not.toContain('CANARY');
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  /** Through the real resolver, as the config gives them: secret references, never values. */
  const genericNotifier = (options: Partial<ConstructorParameters<typeof GenericWebhookNotifier>[0]> = {}) =>
    new GenericWebhookNotifier({ url: 'env://VAULTRA_TEST_HOOK_URL', signingSecret: 'env://VAULTRA_TEST_HOOK_SECRET', retryPolicy: QUICK, resolve: resolveSecret, ...options });
  const slackNotifier = (options: Partial<ConstructorParameters<typeof SlackNotifier>[0]> = {}) => new SlackNotifier({ url: 'env://VAULTRA_TEST_HOOK_URL', retryPolicy: QUICK, resolve: resolveSecret, ...options });

  /** The rejection of `promise`, checked to carry neither the URL nor the secret anywhere (message, stack, causes). */
  async function failureOf(promise: Promise<unknown>): Promise<Error> {
    const error = await promise.then(
      () => expect.unreachable('the notifier should have failed'),
      (e: unknown) => e as Error,
    );
    const everything = `${String(error)}\n${inspect(error, { depth: 10 })}`;
    expect(everything).not.toContain('CANARY');
    expect(everything).not.toContain(canaryPath);
    expect(error.message).not.toContain('\n');
    return error;
  }

  it('generic: one POST with a JSON body and a signature the receiver can verify', async () => {
    await genericNotifier().notify(alert);

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request!.method).toBe('POST');
    expect(request!.path).toBe(canaryPath);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(JSON.parse(request!.body)).toEqual(webhookBody(alert));
    expect(request!.headers['x-vaultra-delivery']).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(Number(request!.headers['x-vaultra-timestamp']) - Date.now() / 1000)).toBeLessThan(5);
    expect(verifyWebhookSignature(request!.body, request!.headers, canarySecret)).toBe(true);
    expect(verifyWebhookSignature(request!.body, request!.headers, 'not-the-secret')).toBe(false);
  });

  it('generic: a 500 is retried and the alert delivered once more, with the same delivery id, freshly signed', async () => {
    receiver.reply({ status: 500, body: 'boom' });
    await genericNotifier().notify(alert);

    expect(receiver.requests.map((r) => r.body)).toEqual([receiver.requests[0]!.body, receiver.requests[0]!.body]);
    const [first, second] = receiver.requests;
    expect(second!.headers['x-vaultra-delivery']).toBe(first!.headers['x-vaultra-delivery']);
    expect(verifyWebhookSignature(second!.body, second!.headers, canarySecret)).toBe(true);
  });

  it('generic: each alert gets its own delivery id', async () => {
    const notifier = genericNotifier();
    await notifier.notify(alert);
    await notifier.notify(alert);
    expect(new Set(receiver.requests.map((r) => r.headers['x-vaultra-delivery'])).size).toBe(2);
  });

  it('429 with Retry-After: waits as long as asked before trying again', async () => {
    receiver.reply({ status: 429, headers: { 'retry-after': '1' }, body: 'slow down' });
    await genericNotifier().notify(alert);

    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.atMs - receiver.requests[0]!.atMs).toBeGreaterThanOrEqual(950);
  });

  it('429 with a long Retry-After waits only up to the cap', async () => {
    receiver.reply({ status: 429, headers: { 'retry-after': '3600' } });
    const started = Date.now();
    await genericNotifier({ maxRetryAfterMs: 300 }).notify(alert);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.atMs - receiver.requests[0]!.atMs).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('404 is not retried, and fails with one line naming the notifier and status, without the URL or the secret', async () => {
    receiver.reply({ status: 404 });
    const error = await failureOf(genericNotifier().notify(alert));

    expect(receiver.requests).toHaveLength(1);
    expect(error).toBeInstanceOf(NotifyFailedError);
    expect(error.message).toBe('webhook: the webhook answered HTTP 404');
  });

  it('a receiver that keeps failing: gives up after four attempts', async () => {
    receiver.reply(...Array.from({ length: 4 }, () => ({ status: 503 })));
    const error = await failureOf(genericNotifier().notify(alert));
    expect(receiver.requests).toHaveLength(4);
    expect(error).toBeInstanceOf(NotifyFailedError);
    expect(error.message).toBe('webhook: the webhook answered HTTP 503 (gave up after 4 attempts)');
  });

  it('a redirect is not followed (a signed alert is not sent on elsewhere)', async () => {
    receiver.reply({ status: 302, headers: { location: receiver.url('/elsewhere') } });
    const error = await failureOf(genericNotifier().notify(alert));
    expect(receiver.requests.map((r) => r.path)).toEqual([canaryPath]);
    expect(error.message).toMatch(/HTTP 302.*redirects are not followed/);
  });

  it('a hung receiver: each attempt times out, then the notifier fails cleanly', async () => {
    receiver.reply('hang', 'hang');
    const started = Date.now();
    const error = await failureOf(genericNotifier({ attemptTimeoutMs: 200, retryPolicy: { ...QUICK, maxAttempts: 2 } }).notify(alert));
    expect(error).toBeInstanceOf(NotifyFailedError);
    expect(error.message).toBe('webhook: the webhook did not answer within 200 ms (gave up after 2 attempts)');
    expect(receiver.requests).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('a receiver that is not listening: retried, then a network failure without the URL', async () => {
    const closed = new Receiver();
    await closed.start();
    const url = closed.url(canaryPath);
    await closed.stop();
    vi.stubEnv('VAULTRA_TEST_HOOK_URL', url);
    const error = await failureOf(genericNotifier().notify(alert));
    expect(error.message).toBe('webhook: could not reach the webhook (ECONNREFUSED) (gave up after 4 attempts)');
  });

  it('a malformed URL in the secret fails without quoting it', async () => {
    vi.stubEnv('VAULTRA_TEST_HOOK_URL', 'CANARY-not a url');
    const error = await failureOf(slackNotifier().notify(alert));
    expect(error.message).toBe('slack: the webhook URL is not a valid URL (check the secret it comes from)');
  });

  it('a missing secret fails naming the reference, not a value', async () => {
    const error = await failureOf(genericNotifier({ signingSecret: 'env://VAULTRA_TEST_NO_SUCH_SECRET' }).notify(alert));
    expect(error).toBeInstanceOf(NotifyFailedError);
    expect(error.message).toMatch(/^webhook: could not read the signing key secret: .*VAULTRA_TEST_NO_SUCH_SECRET/);
    expect(receiver.requests).toHaveLength(0);
  });

  it('the caller aborting stops the retries at once', async () => {
    receiver.reply({ status: 429, headers: { 'retry-after': '30' } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300);
    const started = Date.now();
    const error = await failureOf(genericNotifier({ maxRetryAfterMs: 30_000 }).notify(alert, controller.signal));
    expect(error).toBeInstanceOf(AbortedError);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('slack: the payload received is Block Kit with a text fallback', async () => {
    await slackNotifier().notify(alert);

    expect(receiver.requests).toHaveLength(1);
    const [request] = receiver.requests;
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['x-vaultra-signature']).toBeUndefined();
    const payload = JSON.parse(request!.body) as { text: string; blocks: { type: string; text?: { type: string; text: string }; fields?: unknown[]; elements?: unknown[] }[] };
    expect(payload.text).toContain(alert.title);
    expect(payload.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    const [header, detail, facts, context] = payload.blocks;
    expect(header!.text!.type).toBe('plain_text');
    expect(header!.text!.text.length).toBeLessThanOrEqual(150);
    expect(detail!.text!.type).toBe('mrkdwn');
    expect(facts!.fields!.length).toBeGreaterThan(0);
    expect(facts!.fields!.length).toBeLessThanOrEqual(10);
    expect(context!.elements!.length).toBeGreaterThan(0);
  });

  it("slack: an error answer's code is shown; the URL never is", async () => {
    receiver.reply({ status: 400, body: 'invalid_blocks' });
    const error = await failureOf(slackNotifier().notify(alert));
    expect(error.message).toBe('slack: the webhook answered HTTP 400 (invalid_blocks)');
  });

  it('notifyAll: a broken target does not stop the others, and is reported in one redacted line', async () => {
    const notifiers = notifiersFor({
      webhooks: [
        { kind: 'generic', url: 'env://VAULTRA_TEST_BROKEN_HOOK_URL', signingSecret: 'env://VAULTRA_TEST_HOOK_SECRET' },
        { kind: 'slack', url: 'env://VAULTRA_TEST_HOOK_URL' },
      ],
    }, { resolve: resolveSecret });
    vi.stubEnv('VAULTRA_TEST_BROKEN_HOOK_URL', receiver.url(`${canaryPath}/broken`));
    receiver.replyTo(`${canaryPath}/broken`, { status: 410, body: `gone: ${canarySecret}` });

    const outcome = await notifyAll(notifiers, alert);

    expect(outcome.delivered).toEqual(['slack']);
    expect(outcome.failed).toEqual([{ notifier: 'webhook', error: 'webhook: the webhook answered HTTP 410' }]);
    expect(receiver.requests).toHaveLength(2);
  });

  it('notifyAll never rejects, even for a notifier that throws synchronously; its error is redacted', async () => {
    registerSecret(canarySecret); // as resolving it would
    const broken = {
      name: 'broken',
      notify: (): Promise<void> => {
        throw new Error(`sync failure with ${canarySecret}`);
      },
    };
    const outcome = await notifyAll([broken, slackNotifier()], alert);
    expect(outcome.delivered).toEqual(['slack']);
    expect(outcome.failed).toEqual([{ notifier: 'broken', error: 'sync failure with ***' }]);
  });
});

describe('notifiersFor', () => {
  it('SNS first when a topic is given, then one notifier per webhook, with distinct names', () => {
    const notifiers = notifiersFor(
      {
        webhooks: [
          { kind: 'slack', url: 'env://A' },
          { kind: 'generic', url: 'env://B', signingSecret: 'env://C' },
          { kind: 'slack', url: 'env://D' },
        ],
      },
      { topicArn: 'arn:aws:sns:eu-west-1:123456789012:vaultra-alerts', resolve: resolveSecret },
    );
    expect(notifiers.map((n) => n.name)).toEqual(['sns', 'slack', 'webhook', 'slack-2']);
    expect(notifiers[0]).toBeInstanceOf(SnsNotifier);
    expect(notifiersFor({ webhooks: [] }, { resolve: resolveSecret })).toEqual([]);
  });

  it('email over SMTP after SNS, then every other kind; only healthchecks takes routine alerts', () => {
    const notifiers = notifiersFor(
      {
        smtp: { host: 'smtp.example.com', security: 'starttls', from: 'v@example.com', to: ['ops@example.com'] },
        webhooks: [
          { kind: 'teams', url: 'env://A' },
          { kind: 'discord', url: 'env://B' },
          { kind: 'pagerduty', routingKey: 'env://C' },
          { kind: 'healthchecks', url: 'env://D', jobs: {} },
          { kind: 'discord', url: 'env://E' },
        ],
      },
      { resolve: resolveSecret },
    );
    expect(notifiers.map((n) => n.name)).toEqual(['email', 'teams', 'discord', 'pagerduty', 'healthchecks', 'discord-2']);
    expect(notifiers.filter((n) => n.tracksRuns).map((n) => n.name)).toEqual(['healthchecks']);
  });
});

describe.each(eachAwsEmulator())('SnsNotifier on %s', (_name, emulator) => {
  const server = emulator.require();
  if (!server) return;

  const sns = new SNSClient(motoClientConfig(server));
  const sqs = new SQSClient(motoClientConfig(server));

  /** A topic with an SQS queue subscribed (raw delivery off: the queue gets SNS's JSON envelope, as an email endpoint would the fields). */
  async function topicWithQueue(): Promise<{ topicArn: string; queueUrl: string }> {
    const suffix = randomBytes(4).toString('hex');
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `vaultra-alerts-${suffix}` }));
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `vaultra-alerts-${suffix}` }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn!, Attributes: { RawMessageDelivery: 'false' } }));
    return { topicArn: TopicArn!, queueUrl: QueueUrl! };
  }

  async function receiveOne(queueUrl: string): Promise<{ Subject: string; Message: string; MessageAttributes: Record<string, { Type: string; Value: string }> }> {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2 }));
    expect(Messages).toHaveLength(1);
    return JSON.parse(Messages![0]!.Body!);
  }

  it('publishes the subject, the plain-text message and the filter attributes', async () => {
    const { topicArn, queueUrl } = await topicWithQueue();
    await new SnsNotifier(topicArn, sns).notify(alert);

    const envelope = await receiveOne(queueUrl);
    expect(envelope.Subject).toBe('[prod] CRITICAL shop-postgres: backup failed (pg_dump exited 1)');
    expect(envelope.Message).toContain(alert.detail);
    expect(envelope.Message).toContain('Duration: 1 min 38 s');
    expect(envelope.Message).toContain(`Run: ${alert.runId}`);
    expect(envelope.MessageAttributes).toEqual({
      kind: { Type: 'String', Value: 'run-failed' },
      severity: { Type: 'String', Value: 'critical' },
      job: { Type: 'String', Value: 'shop-postgres' },
      environment: { Type: 'String', Value: 'prod' },
    });
  });

  it('builds its own client from settings (the SDK loaded on first send)', async () => {
    const { topicArn, queueUrl } = await topicWithQueue();
    await new SnsNotifier(topicArn, motoClientConfig(server)).notify({ ...alert, title: 'x'.repeat(300) });
    const envelope = await receiveOne(queueUrl);
    expect(envelope.Subject.length).toBeLessThanOrEqual(99);
  });

  it('a topic that does not exist: NotifyFailedError naming the topic', async () => {
    const topicArn = `arn:aws:sns:${server.region}:${emulator.account}:vaultra-no-such-topic`;
    const error = await new SnsNotifier(topicArn, sns).notify(alert).then(
      () => expect.unreachable(),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(NotifyFailedError);
    expect(error.message).toContain('sns: the topic arn:aws:sns');
    expect(error.message).toContain('does not exist');
  });

  it('notifyAll: the email still goes out when the Slack hook is broken', async () => {
    const { topicArn, queueUrl } = await topicWithQueue();
    const notifiers = [new SnsNotifier(topicArn, sns), new SlackNotifier({ url: 'env://VAULTRA_TEST_UNSET_SLACK_URL', resolve: resolveSecret })];
    const outcome = await notifyAll(notifiers, alert);
    expect(outcome.delivered).toEqual(['sns']);
    expect(outcome.failed).toEqual([{ notifier: 'slack', error: expect.stringMatching(/^slack: could not read the webhook URL secret: .*VAULTRA_TEST_UNSET_SLACK_URL/) }]);
    expect((await receiveOne(queueUrl)).Subject).toContain('backup failed');
  });
});

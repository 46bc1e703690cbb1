import { describe, expect, it } from 'vitest';
import { signatureHeaders, verifyWebhookSignature, webhookBody } from '../../core/adapters/notifiers/generic-webhook-notifier.js';
import { SLACK_LIMITS, slackPayload, type SlackBlock } from '../../core/adapters/notifiers/slack-notifier.js';
import { snsMessage, snsPublishInput, snsSubject } from '../../core/adapters/notifiers/sns-notifier.js';
import { retryAfterHeaderMs } from '../../core/adapters/notifiers/webhook-delivery.js';
import type { Alert } from '../../core/ports/notifier.js';

const alert: Alert = {
  kind: 'run-failed',
  severity: 'critical',
  environment: 'prod',
  job: 'shop-postgres',
  runId: '20261122T031502.123Z-3f9c2a',
  title: 'shop-postgres: backup failed (pg_dump exited 1)',
  detail: 'pg_dump could not connect: FATAL: role "backup" does not exist. Check the connection secret & retry with `vaultra backup`.',
  at: '2026-11-22T03:16:40.000Z',
  facts: { Duration: '1 min 38 s', 'Bytes stored': '0 B', Task: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/abc' },
};

const blockOf = <T extends SlackBlock['type']>(blocks: SlackBlock[], type: T, nth = 0): Extract<SlackBlock, { type: T }> =>
  blocks.filter((b) => b.type === type)[nth] as Extract<SlackBlock, { type: T }>;

describe('Slack payload', () => {
  it('has a header with the severity emoji, the detail, the facts as fields, a context line and a text fallback', () => {
    const payload = slackPayload(alert);
    expect(payload.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context']);
    expect(blockOf(payload.blocks, 'header').text).toEqual({ type: 'plain_text', text: `:rotating_light: ${alert.title}`, emoji: true });
    const detail = payload.blocks[1] as { text: { type: string; text: string } };
    expect(detail.text.type).toBe('mrkdwn');
    // Slack reads & < > as markup: they go as entities.
    expect(detail.text.text).toContain('connection secret &amp; retry');
    const fields = (payload.blocks[2] as { fields: { type: string; text: string }[] }).fields;
    expect(fields).toEqual([
      { type: 'mrkdwn', text: '*Duration*\n1 min 38 s' },
      { type: 'mrkdwn', text: '*Bytes stored*\n0 B' },
      { type: 'mrkdwn', text: `*Task*\n${alert.facts!.Task}` },
    ]);
    const context = blockOf(payload.blocks, 'context').elements[0]!;
    expect(context.type).toBe('mrkdwn');
    expect(context.text).toBe(`*prod* · shop-postgres · run \`${alert.runId}\` · <!date^${Date.parse(alert.at) / 1000}^{date_short_pretty} {time_secs}|${alert.at}>`);
    expect(payload.text).toBe(`:rotating_light: ${alert.title}`);
  });

  it.each([
    ['warning', ':warning:'],
    ['info', ':white_check_mark:'],
  ] as const)('shows severity %s as %s', (severity, emoji) => {
    expect(blockOf(slackPayload({ ...alert, severity }).blocks, 'header').text.text.startsWith(`${emoji} `)).toBe(true);
  });

  it("keeps within Slack's limits: header 150, section 3000, 10 fields of 2000", () => {
    const facts = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`fact ${i + 1}`, 'v'.repeat(3000)]));
    const huge = slackPayload({ ...alert, title: 'T'.repeat(400), detail: '<&>'.repeat(2000), facts });
    const header = blockOf(huge.blocks, 'header').text.text;
    expect(header.length).toBeLessThanOrEqual(SLACK_LIMITS.headerChars);
    expect(header.endsWith('…')).toBe(true);
    const detail = (huge.blocks[1] as { text: { text: string } }).text.text;
    expect(detail.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionChars);
    // Cut between whole entities, never inside one.
    expect(detail).toMatch(/^(&lt;&amp;&gt;)+(&lt;|&lt;&amp;)?…$/);
    const fields = (huge.blocks[2] as { fields: { text: string }[] }).fields;
    expect(fields).toHaveLength(SLACK_LIMITS.fields);
    expect(fields.every((f) => f.text.length <= SLACK_LIMITS.fieldChars)).toBe(true);
    expect(fields[9]!.text).toBe('*5 more*\nfact 10, fact 11, fact 12, fact 13, fact 14');
    expect(huge.text.length).toBeLessThanOrEqual(SLACK_LIMITS.fallbackChars);
  });

  it('leaves out the detail and fields sections when there is nothing to put in them, and the run when there is none', () => {
    const payload = slackPayload({ ...alert, detail: '  ', facts: {}, runId: undefined });
    expect(payload.blocks.map((b) => b.type)).toEqual(['header', 'context']);
    expect(blockOf(payload.blocks, 'context').elements[0]!.text).not.toContain('run');
  });

  it('escapes a title that tries to mention the channel', () => {
    const payload = slackPayload({ ...alert, title: 'db <!channel> down' });
    expect(payload.text).toBe(':rotating_light: db &lt;!channel&gt; down');
  });
});

describe('SNS message', () => {
  it('subject: environment, severity and title on one line', () => {
    expect(snsSubject(alert)).toBe('[prod] CRITICAL shop-postgres: backup failed (pg_dump exited 1)');
    expect(snsSubject({ ...alert, severity: 'info', title: 'shop-postgres: backup succeeded' })).toBe('[prod] shop-postgres: backup succeeded');
  });

  it('subject: at most 99 printable ASCII characters, no line break, cut with "..."', () => {
    const subject = snsSubject({ ...alert, title: `Sauvegarde échouée — base « boutique »\nsur l’hôte ${'x'.repeat(200)} 🚨` });
    expect(subject.length).toBeLessThanOrEqual(99);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject.startsWith('[prod] CRITICAL Sauvegarde echouee - base ? boutique ? sur l\'hote xxx')).toBe(true);
    expect(subject.endsWith('...')).toBe(true);
  });

  it('message: title, detail, facts as "label: value" lines, then environment, job, run', () => {
    const message = snsMessage(alert);
    expect(message.split('\n')).toEqual([
      alert.title,
      '',
      alert.detail,
      '',
      'Duration: 1 min 38 s',
      'Bytes stored: 0 B',
      `Task: ${alert.facts!.Task}`,
      '',
      'Environment: prod',
      'Job: shop-postgres',
      `Run: ${alert.runId}`,
      'Severity: critical',
      'Kind: run-failed',
      `Time: ${alert.at}`,
      '',
      '-- Sent by Vaultra',
    ]);
  });

  it('attributes for subscription filters: kind, severity, job, environment', () => {
    const input = snsPublishInput('arn:aws:sns:eu-west-1:123456789012:vaultra-alerts', alert);
    expect(input.TopicArn).toBe('arn:aws:sns:eu-west-1:123456789012:vaultra-alerts');
    expect(input.MessageAttributes).toEqual({
      kind: { DataType: 'String', StringValue: 'run-failed' },
      severity: { DataType: 'String', StringValue: 'critical' },
      job: { DataType: 'String', StringValue: 'shop-postgres' },
      environment: { DataType: 'String', StringValue: 'prod' },
    });
  });
});

describe('generic webhook body and signature', () => {
  const secret = 'whsec-test-0123456789';
  const nowMs = Date.parse('2026-11-22T03:16:41Z');

  it('the body is version 1 with every field; runId is null when the alert names no run', () => {
    expect(webhookBody(alert)).toEqual({ version: 1, kind: 'run-failed', severity: 'critical', environment: 'prod', job: 'shop-postgres', runId: alert.runId, title: alert.title, detail: alert.detail, at: alert.at, facts: alert.facts });
    expect(webhookBody({ ...alert, runId: undefined, facts: undefined })).toMatchObject({ runId: null, facts: {} });
  });

  it('signs "<timestamp>.<body>" with HMAC-SHA256, and verifies it', () => {
    const body = JSON.stringify(webhookBody(alert));
    const headers = signatureHeaders(body, secret, nowMs);
    expect(headers['x-vaultra-timestamp']).toBe(String(nowMs / 1000));
    expect(headers['x-vaultra-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(body, headers, secret, 300, nowMs)).toBe(true);
    expect(verifyWebhookSignature(Buffer.from(body), new Headers(headers), secret, 300, nowMs + 299_000)).toBe(true);
  });

  it('rejects a tampered body, another secret, a stale or future timestamp, a forged timestamp, missing or malformed headers', () => {
    const body = JSON.stringify(webhookBody(alert));
    const headers = signatureHeaders(body, secret, nowMs);
    expect(verifyWebhookSignature(body.replace('critical', 'info'), headers, secret, 300, nowMs)).toBe(false);
    expect(verifyWebhookSignature(body, headers, 'another-secret', 300, nowMs)).toBe(false);
    expect(verifyWebhookSignature(body, headers, secret, 300, nowMs + 301_000)).toBe(false);
    expect(verifyWebhookSignature(body, headers, secret, 300, nowMs - 301_000)).toBe(false);
    // A replay with a fresh timestamp and the old signature.
    expect(verifyWebhookSignature(body, { ...headers, 'x-vaultra-timestamp': String(nowMs / 1000 + 10) }, secret, 300, nowMs)).toBe(false);
    expect(verifyWebhookSignature(body, { 'x-vaultra-timestamp': headers['x-vaultra-timestamp'] }, secret, 300, nowMs)).toBe(false);
    expect(verifyWebhookSignature(body, { ...headers, 'x-vaultra-signature': 'sha256=abc' }, secret, 300, nowMs)).toBe(false);
    expect(verifyWebhookSignature(body, { ...headers, 'x-vaultra-signature': headers['x-vaultra-signature']!.replace('sha256=', 'sha1=') }, secret, 300, nowMs)).toBe(false);
    expect(verifyWebhookSignature(body, { ...headers, 'x-vaultra-timestamp': 'soon' }, secret, 300, nowMs)).toBe(false);
  });
});

describe('Retry-After', () => {
  it.each([
    ['3', 3000],
    [' 0 ', 0],
    ['Sun, 22 Nov 2026 03:16:51 GMT', 10_000],
    ['Sun, 22 Nov 2026 03:16:31 GMT', 0],
    ['soon', undefined],
    [null, undefined],
  ])('%s → %s ms', (value, expected) => {
    expect(retryAfterHeaderMs(value, Date.parse('2026-11-22T03:16:41Z'))).toBe(expected);
  });
});

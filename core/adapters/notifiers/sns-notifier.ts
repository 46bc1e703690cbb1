/**
 * Alerts to an SNS topic, whose subscriptions (the config's `notifications.email`, created by
 * the stack) turn them into emails. The subject is the email's subject; the message is a plain
 * text body; message attributes (`kind`, `severity`, `job`, `environment`) let a subscription
 * filter, e.g. only `severity: critical` to a pager.
 *
 * The SDK is imported on first send, so a function that builds notifiers but never alerts
 * does not pay for it at cold start. The SDK retries throttling and 5xx itself.
 */
import type { PublishCommandInput, SNSClient, SNSClientConfig } from '@aws-sdk/client-sns';
import type { Alert, Notifier } from '../../ports/notifier.js';
import { AbortedError, NotifyFailedError } from '../../errors.js';
import { redact } from '../../domain/redact.js';
import { awsErrorName, regionOfArn } from '../aws/aws-errors.js';
import { alertFacts, alertOrigin, truncate } from './alert-text.js';

/** SNS takes "less than 100 characters"; 99 leaves no doubt about the edge. */
export const SNS_SUBJECT_MAX_CHARS = 99;
/** SNS takes 256 KiB per message, attributes included; an alert is far smaller, this only bounds a runaway detail. */
const MESSAGE_MAX_CHARS = 60_000;

type SnsSender = Pick<SNSClient, 'send'>;

export class SnsNotifier implements Notifier {
  readonly name = 'sns';
  #client: SnsSender | undefined;
  readonly #clientConfig: SNSClientConfig;

  /**
   * @param topicArn the topic to publish to
   * @param client an `SNSClient` (tests), or the settings to build one with on first send
   *   @default `{ region: <the topic ARN's region> }`
   */
  constructor(
    readonly topicArn: string,
    client?: SnsSender | SNSClientConfig,
  ) {
    if (client && typeof (client as SnsSender).send === 'function') {
      this.#client = client as SnsSender;
      this.#clientConfig = {};
    } else {
      const region = regionOfArn(topicArn);
      this.#clientConfig = { ...(region ? { region } : {}), ...(client as SNSClientConfig | undefined) };
    }
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    const { PublishCommand, SNSClient } = await import('@aws-sdk/client-sns');
    this.#client ??= new SNSClient(this.#clientConfig);
    try {
      await this.#client.send(new PublishCommand(snsPublishInput(this.topicArn, alert)), signal ? { abortSignal: signal } : {});
    } catch (error) {
      throw translate(error, this.topicArn, signal);
    }
  }
}

/** The `Publish` request for `alert`. */
export function snsPublishInput(topicArn: string, alert: Alert): PublishCommandInput {
  const attributes: PublishCommandInput['MessageAttributes'] = {};
  for (const [name, value] of [
    ['kind', alert.kind],
    ['severity', alert.severity],
    ['job', alert.job],
    ['environment', alert.environment],
  ] as const) {
    // SNS refuses an attribute with an empty value.
    if (value) attributes[name] = { DataType: 'String', StringValue: value };
  }
  return { TopicArn: topicArn, Subject: snsSubject(alert), Message: snsMessage(alert), MessageAttributes: attributes };
}

/**
 * `[prod] CRITICAL shop-postgres: backup failed (pg_dump exited 1)`, in the form SNS requires:
 * printable ASCII on one line (accents dropped, other characters replaced), at most
 * {@link SNS_SUBJECT_MAX_CHARS} characters.
 */
export function snsSubject(alert: Alert): string {
  const subject = asciiLine(`[${alert.environment}] ${alert.severity === 'info' ? '' : `${alert.severity.toUpperCase()} `}${alert.title}`);
  return truncate(subject, SNS_SUBJECT_MAX_CHARS, '...');
}

/** The email body: title, detail, facts as `label: value` lines, then where the alert comes from. */
export function snsMessage(alert: Alert): string {
  const lines = [alert.title, ''];
  if (alert.detail.trim()) lines.push(alert.detail, '');
  const facts = alertFacts(alert);
  if (facts.length > 0) lines.push(...facts.map(([label, value]) => `${label}: ${value}`), '');
  lines.push(...alertOrigin(alert).map(([label, value]) => `${label}: ${value}`), `Severity: ${alert.severity}`, `Kind: ${alert.kind}`, `Time: ${alert.at}`, '', '-- Sent by Vaultra');
  return truncate(lines.join('\n'), MESSAGE_MAX_CHARS);
}

const PUNCTUATION: Record<string, string> = { '\u2013': '-', '\u2014': '-', '\u2018': "'", '\u2019': "'", '\u201C': '"', '\u201D': '"', '\u2026': '...', '\u00A0': ' ', '\u00B7': '-' };

/** Printable ASCII on one line: accents dropped (é → e), typographic punctuation mapped, anything else `?`. */
function asciiLine(text: string): string {
  return text
    .replace(/[\u2013\u2014\u2018\u2019\u201C\u201D\u2026\u00A0\u00B7]/g, (c) => PUNCTUATION[c]!)
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7E]/gu, '?')
    .trim();
}

/** SDK failure → one line naming the topic (not a secret) and what SNS said. */
function translate(error: unknown, topicArn: string, signal: AbortSignal | undefined): Error {
  const name = awsErrorName(error);
  if (signal?.aborted || name === 'AbortError') return new AbortedError(`sns: publishing to ${topicArn} was cancelled`, { cause: error });
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const said = `${name || 'error'}${status ? `, HTTP ${status}` : ''}`;
  switch (name) {
    case 'NotFound':
    case 'NotFoundException':
      return new NotifyFailedError(`sns: the topic ${topicArn} does not exist (check the topic ARN, account and region) (${said})`, { cause: error });
    case 'AuthorizationError':
    case 'AuthorizationErrorException':
      return new NotifyFailedError(`sns: not allowed to publish to ${topicArn} (the function needs sns:Publish on it) (${said})`, { cause: error });
    default: {
      const message = redact(((error as Error | undefined)?.message ?? String(error)).replace(/\s+/g, ' ')).slice(0, 200);
      // No HTTP status: SNS never answered (DNS, a refused or dropped connection), after the SDK's own retries.
      if (!status) return new NotifyFailedError(`sns: could not reach SNS to publish to ${topicArn}: ${message}`, { cause: error });
      return new NotifyFailedError(`sns: publishing to ${topicArn} failed: ${message} (${said})`, { cause: error });
    }
  }
}

/**
 * Alerts to a Cloud Pub/Sub topic (the GCP deployment's alert topic), for whatever subscribes:
 * an email or chat bridge, an incident tool, a Cloud Function. The message data is the same JSON
 * as the generic webhook's body (`webhookBody()`, version 1); the attributes `kind`, `severity`,
 * `job` and `environment` let a subscription filter, e.g. `attributes.severity = "critical"`.
 *
 * The SDK is imported on first send, so a function that builds notifiers but never alerts does
 * not pay for it at cold start. The publisher retries UNAVAILABLE and the like itself.
 * `PUBSUB_EMULATOR_HOST` points the client at the emulator (the tests).
 */
import type { ClientConfig, PubSub } from '@google-cloud/pubsub';
import type { Alert, Notifier } from '../../ports/notifier.js';
import { AbortedError, ConfigError, NotifyFailedError, oneLine } from '../../errors.js';
import { redact } from '../../domain/redact.js';
import { abortable } from '../abortable.js';
import { GrpcCode } from '../gcp/grpc-calls.js';
import { lazyGoogleClient } from '../gcp/google-credentials.js';
import { webhookBody } from './generic-webhook-notifier.js';

/** `projects/<project>/topics/<topic>`. */
const TOPIC_NAME = /^projects\/([a-z0-9.:-]{1,100})\/topics\/[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

export class PubSubNotifier implements Notifier {
  readonly name: string;
  readonly projectId: string;
  readonly #pubsub: () => Promise<Pick<PubSub, 'topic'>>;

  /**
   * @param topicName `projects/<project>/topics/<topic>`
   * @param options a `PubSub` client (tests), or the settings to build one with on first send
   *   @default `{ projectId: <the topic's project> }`
   */
  constructor(
    readonly topicName: string,
    options: { readonly client?: Pick<PubSub, 'topic'>; readonly config?: ClientConfig; readonly name?: string } = {},
  ) {
    const match = TOPIC_NAME.exec(topicName);
    if (!match) throw new ConfigError(`"${topicName}" is not a Pub/Sub topic name: expected projects/<project>/topics/<topic>`);
    this.projectId = match[1]!;
    this.name = options.name ?? 'pubsub';
    const config: ClientConfig = { projectId: this.projectId, ...options.config };
    const given = options.client ? Promise.resolve(options.client) : undefined;
    // The emulator takes no credentials: they are looked up only off it.
    const checkCredentials = () => !process.env.PUBSUB_EMULATOR_HOST && !config.apiEndpoint;
    this.#pubsub = given ? () => given : lazyGoogleClient(async () => new (await import('@google-cloud/pubsub')).PubSub(config), { checkCredentials });
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    const message = pubsubMessage(alert);
    try {
      signal?.throwIfAborted();
      const topic = (await this.#pubsub()).topic(this.topicName);
      await abortable(topic.publishMessage(message), signal);
    } catch (error) {
      throw translate(error, this.topicName, signal);
    }
  }

}

/** The message for `alert`: the webhook's JSON body, and the attributes a subscription filters on. */
export function pubsubMessage(alert: Alert): { data: Buffer; attributes: Record<string, string> } {
  const attributes: Record<string, string> = {};
  for (const [name, value] of [
    ['kind', alert.kind],
    ['severity', alert.severity],
    ['job', alert.job],
    ['environment', alert.environment],
  ] as const) {
    if (value) attributes[name] = value;
  }
  return { data: Buffer.from(JSON.stringify(webhookBody(alert)), 'utf8'), attributes };
}

/** SDK failure → one line naming the topic (not a secret) and what Pub/Sub said. */
function translate(error: unknown, topicName: string, signal: AbortSignal | undefined): Error {
  if (signal?.aborted || (error instanceof Error && error.name === 'AbortError')) return new AbortedError(`pubsub: publishing to ${topicName} was cancelled`, { cause: error });
  const code = (error as { code?: unknown } | undefined)?.code;
  const detail = redact(oneLine((error as { details?: unknown } | undefined)?.details || error)).slice(0, 200);
  switch (code) {
    case GrpcCode.NOT_FOUND:
      return new NotifyFailedError(`pubsub: the topic ${topicName} does not exist (check the project and topic name) (${detail})`, { cause: error });
    case GrpcCode.PERMISSION_DENIED:
      return new NotifyFailedError(`pubsub: not allowed to publish to ${topicName} (the function's service account needs roles/pubsub.publisher on it) (${detail})`, { cause: error });
    case GrpcCode.UNAUTHENTICATED:
      return new NotifyFailedError(`pubsub: no valid Google Cloud credentials to publish to ${topicName} (${detail})`, { cause: error });
    default:
      return new NotifyFailedError(`pubsub: publishing to ${topicName} failed: ${detail}`, { cause: error });
  }
}

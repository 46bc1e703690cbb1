/**
 * Alerts as signed JSON to any HTTPS endpoint (an incident tool, a chat bridge, a script).
 *
 * Each delivery is a `POST` with `Content-Type: application/json` and the body
 * `{ "version": 1, "kind", "severity", "environment", "job", "runId", "title", "detail", "at", "facts" }`
 * (`runId` is `null` when the alert is about no run; `facts` is an object of strings), and:
 *
 * - `X-Vaultra-Timestamp: <unix seconds>` — when this attempt was sent;
 * - `X-Vaultra-Signature: sha256=<hex>` — HMAC-SHA256, keyed with the signing secret, of the
 *   timestamp, a dot, and the raw body bytes: `HMAC(secret, "<timestamp>.<raw body>")`;
 * - `X-Vaultra-Delivery: <uuid>` — one id per alert, the same on every retry of it, so a
 *   receiver can drop duplicates.
 *
 * A receiver verifies with {@link verifyWebhookSignature} (or the same steps in its own
 * language): recompute the HMAC over the raw body as received, compare in constant time, and
 * refuse a timestamp more than a few minutes away from its clock, which stops replays.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Alert, Notifier } from '../../ports/notifier.js';
import { resolveForNotifier, type ResolveSecret } from './notifier-secrets.js';
import { postWebhook, type WebhookDeliveryOptions } from './webhook-delivery.js';

export const SIGNATURE_HEADER = 'x-vaultra-signature';
export const TIMESTAMP_HEADER = 'x-vaultra-timestamp';
export const DELIVERY_HEADER = 'x-vaultra-delivery';

export interface GenericWebhookNotifierOptions extends WebhookDeliveryOptions {
  /** A secret reference to the endpoint's URL, resolved at each send. */
  readonly url: string;
  /** A secret reference to the HMAC key. */
  readonly signingSecret: string;
  /** @default 'webhook' */
  readonly name?: string;
  /** Reads secret references: `resolveSecret` in the CLI, one cloud's resolver in a function bundle. */
  readonly resolve: ResolveSecret;
  /** The clock for `X-Vaultra-Timestamp`. @default Date.now */
  readonly nowMs?: () => number;
}

export class GenericWebhookNotifier implements Notifier {
  readonly name: string;

  constructor(private readonly options: GenericWebhookNotifierOptions) {
    this.name = options.name ?? 'webhook';
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    const [url, secret] = await Promise.all([
      resolveForNotifier(this.name, 'webhook URL', this.options.url, this.options.resolve, signal),
      resolveForNotifier(this.name, 'signing key', this.options.signingSecret, this.options.resolve, signal),
    ]);
    const body = JSON.stringify(webhookBody(alert));
    const delivery = randomUUID();
    const nowMs = this.options.nowMs ?? Date.now;
    await postWebhook(
      {
        notifier: this.name,
        url,
        body,
        // Signed again on every attempt: a retry after a backoff carries a fresh timestamp.
        headers: () => ({ 'content-type': 'application/json', [DELIVERY_HEADER]: delivery, ...signatureHeaders(body, secret, nowMs()) }),
        ...(signal ? { signal } : {}),
      },
      this.options,
    );
  }
}

/** The JSON body (version 1) for `alert`. */
export function webhookBody(alert: Alert): {
  version: 1;
  kind: Alert['kind'];
  severity: Alert['severity'];
  environment: string;
  job: string;
  runId: string | null;
  title: string;
  detail: string;
  at: string;
  facts: Record<string, string>;
} {
  return {
    version: 1,
    kind: alert.kind,
    severity: alert.severity,
    environment: alert.environment,
    job: alert.job,
    runId: alert.runId ?? null,
    title: alert.title,
    detail: alert.detail,
    at: alert.at,
    facts: { ...alert.facts },
  };
}

/** `X-Vaultra-Timestamp` and `X-Vaultra-Signature` for `body` sent at `nowMs`. */
export function signatureHeaders(body: string, secret: string, nowMs: number): Record<string, string> {
  const timestamp = String(Math.floor(nowMs / 1000));
  return { [TIMESTAMP_HEADER]: timestamp, [SIGNATURE_HEADER]: `sha256=${hmacHex(secret, timestamp, body)}` };
}

function hmacHex(secret: string, timestamp: string, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** Request headers as Node's `IncomingHttpHeaders` (lower-case names) or a fetch `Headers`. */
export type ReceivedHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Whether a received delivery is authentic and fresh: `X-Vaultra-Signature` is the HMAC of
 * `"<X-Vaultra-Timestamp>.<body>"` under `secret` (compared in constant time), and the timestamp
 * is within `toleranceSeconds` of `nowMs`. `body` must be the raw bytes received, not a
 * re-serialised object.
 *
 * @example
 * // in a receiver, with the raw body
 * if (!verifyWebhookSignature(rawBody, request.headers, process.env.VAULTRA_WEBHOOK_SECRET!)) return reply(401);
 */
export function verifyWebhookSignature(body: string | Buffer, headers: ReceivedHeaders, secret: string, toleranceSeconds = 300, nowMs = Date.now()): boolean {
  const timestamp = headerValue(headers, TIMESTAMP_HEADER);
  const signature = headerValue(headers, SIGNATURE_HEADER);
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(nowMs / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const match = /^sha256=([0-9a-f]{64})$/.exec(signature);
  if (!match) return false;
  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[1]!, 'hex'));
}

function headerValue(headers: ReceivedHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return typeof entry === 'string' ? entry : undefined;
}

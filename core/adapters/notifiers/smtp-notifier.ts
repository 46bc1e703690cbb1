/**
 * Alerts as email over SMTP, through nodemailer: the one email route on GCP and Azure (SNS email
 * subscriptions exist on AWS only) and for a local environment. One message per alert to every
 * address in `to`: the subject is the alert's title, the body the same plain text as the SNS
 * email (detail, facts, where it comes from), and `X-Vaultra-Kind`, `X-Vaultra-Severity`,
 * `X-Vaultra-Environment` and `X-Vaultra-Job` headers let a mail rule sort them. A critical
 * alert is sent with high priority.
 *
 * `starttls` requires the upgrade (a server that does not offer it is refused, so the password
 * never crosses in clear); `tls` speaks TLS from the first byte (port 465). The password is a
 * secret reference resolved at each send. nodemailer is imported on first send, so a function
 * that builds notifiers but never alerts does not load it.
 *
 * Delivery is retried like a webhook's: a connection that fails or times out and a transient
 * answer (4xx: `421 try again later`, `451 greylisted`) are retried; a permanent answer (5xx: a
 * refused login, an unknown recipient) is not.
 */
import type { SendMailOptions } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Alert, Notifier } from '../../ports/notifier.js';
import { AbortedError, NotifyFailedError } from '../../errors.js';
import { redact } from '../../domain/redact.js';
import { withRetries, type RetryPolicy } from '../retry.js';
import { resolveForNotifier, type ResolveSecret } from './notifier-secrets.js';
import { WEBHOOK_RETRY_POLICY } from './webhook-delivery.js';
import { snsMessage } from './sns-notifier.js';

export type SmtpSecurity = 'starttls' | 'tls' | 'none';

export interface SmtpNotifierOptions {
  readonly host: string;
  /** @default 587 for starttls, 465 for tls, 25 for none */
  readonly port?: number;
  readonly security: SmtpSecurity;
  readonly username?: string;
  /** A secret reference to the password. */
  readonly password?: string;
  /** The From header: `Vaultra <vaultra@example.com>` or a bare address. */
  readonly from: string;
  readonly to: readonly string[];
  /** @default 'email' */
  readonly name?: string;
  readonly resolve: ResolveSecret;
  /** Extra CA certificates (PEM) the server's certificate may chain to; tests, private relays. @default the system's */
  readonly ca?: string;
  /** Time limit of one attempt, from connecting to the server's last answer. @default 20_000 */
  readonly attemptTimeoutMs?: number;
  /** @default {@link WEBHOOK_RETRY_POLICY} */
  readonly retryPolicy?: RetryPolicy;
}

const DEFAULT_PORT: Record<SmtpSecurity, number> = { starttls: 587, tls: 465, none: 25 };

export class SmtpNotifier implements Notifier {
  readonly name: string;

  constructor(private readonly options: SmtpNotifierOptions) {
    this.name = options.name ?? 'email';
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    const password = this.options.password ? await resolveForNotifier(this.name, 'SMTP password', this.options.password, this.options.resolve, signal) : undefined;
    const nodemailer = await import('nodemailer');
    const message = emailMessage(alert, this.options.from, this.options.to);
    const attempt = async (): Promise<void> => {
      // A transport per attempt: a failed connection is never reused, and nothing stays open between alerts.
      const transport = nodemailer.createTransport(this.transportOptions(password));
      const abort = () => transport.close();
      signal?.addEventListener('abort', abort, { once: true });
      try {
        signal?.throwIfAborted();
        await transport.sendMail(message);
      } finally {
        signal?.removeEventListener('abort', abort);
        transport.close();
      }
    };
    try {
      await withRetries(attempt, {
        policy: this.options.retryPolicy ?? WEBHOOK_RETRY_POLICY,
        translate: (error) => classify(error, this.name, this.options.host),
        giveUp: (error, attempts) => new NotifyFailedError(`${error.message} (gave up after ${attempts} attempts)`, { cause: error }),
        ...(signal ? { signal } : {}),
      });
    } catch (error) {
      if (signal?.aborted) throw new AbortedError(`${this.name}: delivery cancelled`);
      throw error;
    }
  }

  private transportOptions(password: string | undefined): SMTPTransport.Options {
    const { host, security, username } = this.options;
    const timeoutMs = this.options.attemptTimeoutMs ?? 20_000;
    return {
      host,
      port: this.options.port ?? DEFAULT_PORT[security],
      secure: security === 'tls',
      requireTLS: security === 'starttls',
      ignoreTLS: security === 'none',
      ...(username && password !== undefined ? { auth: { user: username, pass: password } } : {}),
      tls: { servername: host, minVersion: 'TLSv1.2', ...(this.options.ca ? { ca: this.options.ca } : {}) },
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
      // The message is built here from an alert: it never names a file or URL to attach.
      disableFileAccess: true,
      disableUrlAccess: true,
    };
  }
}

/** The message for `alert`. */
export function emailMessage(alert: Alert, from: string, to: readonly string[]): SendMailOptions {
  return {
    from,
    to: [...to],
    subject: alert.title.replace(/\s*\n\s*/g, ' '),
    text: snsMessage(alert),
    priority: alert.severity === 'critical' ? 'high' : 'normal',
    headers: {
      'X-Vaultra-Kind': alert.kind,
      'X-Vaultra-Severity': alert.severity,
      'X-Vaultra-Environment': alert.environment,
      'X-Vaultra-Job': alert.job,
      ...(alert.runId ? { 'X-Vaultra-Run': alert.runId } : {}),
      // Mail systems do not answer an automated message with an out-of-office reply (RFC 3834).
      'Auto-Submitted': 'auto-generated',
    },
  };
}

/** nodemailer's failure → one line naming the server (not a secret) and its answer code; retryable when transient. */
function classify(error: unknown, notifier: string, host: string): NotifyFailedError {
  const { code, responseCode, response } = (error ?? {}) as { code?: unknown; responseCode?: unknown; response?: unknown };
  const said = typeof response === 'string' ? redact(response.replace(/\s+/g, ' ')).slice(0, 120) : String(responseCode);
  if (code === 'ETLS' || (code === 'ESOCKET' && /certificate|self.signed|SSL|TLS/i.test(String((error as Error).message)))) {
    const reason = typeof responseCode === 'number' ? `STARTTLS refused: ${said}` : tlsReason(error);
    return new NotifyFailedError(`${notifier}: no trusted TLS connection to ${host} (${reason}): check the host name, the port and the security setting`);
  }
  if (typeof responseCode === 'number') {
    const hint = code === 'EAUTH' ? ': check the username and the password secret' : code === 'EENVELOPE' ? ': check the from and to addresses' : '';
    return new NotifyFailedError(`${notifier}: the SMTP server ${host} answered ${said}${hint}`, { retryable: responseCode >= 400 && responseCode < 500 });
  }
  if (code === 'ECONNECTION' || code === 'ETIMEDOUT' || code === 'ESOCKET' || code === 'EDNS') {
    return new NotifyFailedError(`${notifier}: could not reach the SMTP server ${host} (${networkCode(error)})`, { retryable: true });
  }
  return new NotifyFailedError(`${notifier}: sending through ${host} failed (${typeof code === 'string' ? code : 'unknown error'})`);
}

function networkCode(error: unknown): string {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  if (typeof errno === 'string' && /^[A-Z0-9_]+$/.test(errno)) return errno;
  const message = String((error as Error | undefined)?.message ?? '');
  return /\b(E[A-Z]{3,}|ETIMEDOUT)\b/.exec(message)?.[1] ?? (typeof code === 'string' ? code : 'network error');
}

function tlsReason(error: unknown): string {
  const cause = (error as { code?: unknown; reason?: unknown; cause?: { code?: unknown } } | undefined) ?? {};
  const message = String((error as Error | undefined)?.message ?? '');
  return /(self[- ]signed certificate[\w ]*|unable to verify[\w ]*|certificate has expired|Hostname\/IP does not match[\w ]*|STARTTLS|wrong version number)/i.exec(message)?.[1] ?? (typeof cause.code === 'string' ? cause.code : 'TLS error');
}

/**
 * healthchecks.io-style pings (https://healthchecks.io/docs/http_api/): a dead-man's switch
 * outside the cloud account. Each backup pings its job's check at `<check>/start` when it is
 * launched, at `<check>` when it succeeds and at `<check>/fail` when it fails, was never started
 * or got stuck. If the pings stop — the scheduler, the functions or the whole account are gone —
 * the check's own period runs out and healthchecks.io alerts, which nothing inside the account
 * can do.
 *
 * A job's check URL is its entry in `jobs`, a check's own ping URL (`https://hc-ping.com/<uuid>`),
 * or else `<url>/<job>`: the project's ping URL with its ping key, and the job's name as the
 * check's slug. Both are secrets (anyone with one can ping the check), resolved at each send.
 *
 * The ping's body is the alert's title and detail, which healthchecks.io shows as the ping's log.
 * It takes every start and success ({@link Notifier.tracksRuns}); alerts about log pushes, the
 * watchdog's own findings and other jobs' notices are not pings and are dropped.
 */
import type { Alert, Notifier } from '../../ports/notifier.js';
import { truncate } from './alert-text.js';
import { resolveForNotifier, type ResolveSecret } from './notifier-secrets.js';
import { postWebhook, type WebhookDeliveryOptions } from './webhook-delivery.js';

export interface HealthchecksNotifierOptions extends WebhookDeliveryOptions {
  /** A secret reference to the ping URL with the project's ping key; job `<job>` pings `<url>/<job>`. */
  readonly url?: string;
  /** Job name → a secret reference to that job's own check URL (takes precedence over `url`). */
  readonly jobs?: Readonly<Record<string, string>>;
  /** @default 'healthchecks' */
  readonly name?: string;
  readonly resolve: ResolveSecret;
}

/** healthchecks.io keeps the first 100 KB of a ping's body; an alert needs far less. */
const PING_BODY_MAX_CHARS = 10_000;

export class HealthchecksNotifier implements Notifier {
  readonly name: string;
  readonly tracksRuns = true;

  constructor(private readonly options: HealthchecksNotifierOptions) {
    this.name = options.name ?? 'healthchecks';
  }

  async notify(alert: Alert, signal?: AbortSignal): Promise<void> {
    const signalName = pingSignal(alert);
    if (!signalName) return;
    const check = await this.checkUrl(alert.job, signal);
    if (check === undefined) return;
    await postWebhook(
      {
        notifier: this.name,
        url: pingUrl(check, signalName),
        body: truncate(`${alert.title}\n\n${alert.detail}`, PING_BODY_MAX_CHARS),
        headers: () => ({ 'content-type': 'text/plain; charset=utf-8' }),
        // healthchecks.io answers `not found`, `invalid url format`, `rate limited`: plain words. Anything
        // else (digits, dashes: a proxy's page echoing the path and its ping key) is not shown.
        explainRefusal: (body) => (/^[A-Za-z ()]{1,40}$/.test(body.trim()) ? body.trim() : undefined),
        ...(signal ? { signal } : {}),
      },
      this.options,
    );
  }

  /** The job's check URL, or `undefined` when neither `jobs` nor `url` covers the job. */
  private async checkUrl(job: string, signal: AbortSignal | undefined): Promise<string | undefined> {
    const own = this.options.jobs?.[job];
    if (own) return resolveForNotifier(this.name, `check URL of job ${job}`, own, this.options.resolve, signal);
    if (!this.options.url) return undefined;
    const base = await resolveForNotifier(this.name, 'ping URL', this.options.url, this.options.resolve, signal);
    const [path, query] = splitQuery(base);
    return `${path.replace(/\/+$/, '')}/${encodeURIComponent(job)}${query}`;
  }
}

export type PingSignal = 'start' | 'success' | 'fail';

/** Which ping `alert` is: only a backup's lifecycle pings (a log push every few minutes would drown the check). */
export function pingSignal(alert: Alert): PingSignal | undefined {
  if (alert.runKind !== 'backup') return undefined;
  switch (alert.kind) {
    case 'run-started':
      return 'start';
    case 'run-succeeded':
    case 'run-recovered':
      return 'success';
    case 'run-failed':
    case 'launch-failed':
    case 'run-stuck':
      return 'fail';
    default:
      return undefined;
  }
}

/** `<check>`, `<check>/start` or `<check>/fail`, keeping a query string (`?create=1`) where it was. */
export function pingUrl(check: string, signal: PingSignal): string {
  if (signal === 'success') return check;
  const [path, query] = splitQuery(check);
  return `${path.replace(/\/+$/, '')}/${signal}${query}`;
}

function splitQuery(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at)];
}

/**
 * What every `Notifier` must do, run against each one and its real local receiver (an HTTP
 * server checking the service's documented schema, an SMTP server):
 *
 * - deliver an alert once, in a shape the service accepts;
 * - retry a transient refusal (HTTP 429/5xx, SMTP 4xx) and deliver once;
 * - not retry a permanent refusal (HTTP 4xx, SMTP 5xx), and fail with one `NotifyFailedError` line;
 * - fail without sending when a secret reference does not resolve, naming the reference;
 * - stop at once when the caller aborts;
 * - never put a secret (URL, key, password) in an error, its causes, or anything logged.
 */
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { RetryPolicy } from '../../core/adapters/retry.js';
import { AbortedError, NotifyFailedError } from '../../core/errors.js';
import type { Alert, Notifier } from '../../core/ports/notifier.js';

/** Fast retries, so a test with failures takes milliseconds. */
export const QUICK_RETRIES: RetryPolicy = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 50 };

export interface NotifierFixture {
  /** The notifier, its secrets given as `env://` references to variables the fixture sets. */
  build(retryPolicy: RetryPolicy): Notifier;
  /** An alert this notifier delivers (PagerDuty pages on critical ones, healthchecks pings on a backup's). */
  readonly alert: Alert;
  /**
   * The deliveries the receiver accepted since the last reset, each checked against the
   * service's schema and against `alert` (the fixture asserts); returns how many.
   */
  checkDeliveries(alert: Alert): Promise<number>;
  /** Attempts the receiver saw (accepted or not). */
  attempts(): number;
  /** The next attempt is refused in a way worth retrying (HTTP 503/429, SMTP 421). */
  refuseTransiently(): void;
  /** The next attempt is refused for good (HTTP 400/404, SMTP 550). */
  refusePermanently(): void;
  reset(): void;
  /** The variable holding the secret whose reference the test unsets. */
  readonly secretVariable: string;
  /** Every secret value planted (each contains `CANARY`); none may show anywhere. */
  readonly secrets: readonly string[];
}

export function notifierContract(name: string, setup: () => NotifierFixture): void {
  describe(`${name} (Notifier contract)`, () => {
    let fixture: NotifierFixture;
    let logged: MockInstance[] = [];

    beforeEach(() => {
      fixture = setup();
      fixture.reset();
      logged = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) => vi.spyOn(console, method));
    });
    afterEach(() => {
      const everything = logged.flatMap((spy) => spy.mock.calls.map((args) => inspect(args, { depth: 10 }))).join('\n');
      expect(everything).not.toContain('CANARY');
      vi.restoreAllMocks();
    });

    /** The rejection of `promise`, checked to carry no secret anywhere (message, stack, causes) and to be one line. */
    async function failureOf(promise: Promise<unknown>): Promise<Error> {
      const error = await promise.then(
        () => expect.unreachable('the notifier should have failed'),
        (e: unknown) => e as Error,
      );
      const everything = `${String(error)}\n${inspect(error, { depth: 10 })}`;
      expect(everything).not.toContain('CANARY');
      for (const secret of fixture.secrets) expect(everything).not.toContain(secret);
      expect(error.message).not.toContain('\n');
      return error;
    }

    it('delivers the alert once, in a shape the service accepts', async () => {
      await fixture.build(QUICK_RETRIES).notify(fixture.alert);
      expect(await fixture.checkDeliveries(fixture.alert)).toBe(1);
      expect(fixture.attempts()).toBe(1);
    });

    it('retries a transient refusal, then delivers once', async () => {
      fixture.refuseTransiently();
      await fixture.build(QUICK_RETRIES).notify(fixture.alert);
      expect(fixture.attempts()).toBe(2);
      expect(await fixture.checkDeliveries(fixture.alert)).toBe(1);
    });

    it('does not retry a permanent refusal: one NotifyFailedError line, no secret', async () => {
      fixture.refusePermanently();
      const error = await failureOf(fixture.build(QUICK_RETRIES).notify(fixture.alert));
      expect(error).toBeInstanceOf(NotifyFailedError);
      expect(error.message.startsWith(`${fixture.build(QUICK_RETRIES).name}: `)).toBe(true);
      expect(fixture.attempts()).toBe(1);
    });

    it('gives up after the policy’s attempts when every one is refused transiently', async () => {
      for (let i = 0; i < QUICK_RETRIES.maxAttempts; i += 1) fixture.refuseTransiently();
      const error = await failureOf(fixture.build(QUICK_RETRIES).notify(fixture.alert));
      expect(error).toBeInstanceOf(NotifyFailedError);
      expect(error.message).toMatch(/\(gave up after 4 attempts\)$/);
      expect(fixture.attempts()).toBe(4);
    });

    it('a secret reference that does not resolve: fails naming the reference, sends nothing', async () => {
      vi.stubEnv(fixture.secretVariable, undefined);
      try {
        const error = await failureOf(fixture.build(QUICK_RETRIES).notify(fixture.alert));
        expect(error).toBeInstanceOf(NotifyFailedError);
        expect(error.message).toContain(fixture.secretVariable);
        expect(fixture.attempts()).toBe(0);
      } finally {
        vi.unstubAllEnvs();
      }
    });

    it('an aborted signal stops it at once, with nothing delivered', async () => {
      const controller = new AbortController();
      controller.abort();
      const error = await failureOf(fixture.build(QUICK_RETRIES).notify(fixture.alert, controller.signal));
      expect(error).toBeInstanceOf(AbortedError);
      expect(await fixture.checkDeliveries(fixture.alert)).toBe(0);
    });
  });
}

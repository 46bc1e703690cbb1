/**
 * Email over SMTP through the notifier contract and against a real SMTP server (smtp-server,
 * STARTTLS and implicit TLS on a test certificate, PLAIN/LOGIN auth): the message received is
 * parsed and checked — subject, body, headers, envelope, and that it came over TLS as the
 * authenticated user.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SmtpNotifier, type SmtpNotifierOptions } from '../../core/adapters/notifiers/smtp-notifier.js';
import { resolveSecret } from '../../core/adapters/secrets/secret-resolvers.js';
import { NotifyFailedError } from '../../core/errors.js';
import type { Alert } from '../../core/ports/notifier.js';
import { selfSignedCertificate, SmtpReceiver } from '../support/smtp-receiver.js';
import { notifierContract, QUICK_RETRIES } from './notifier.contract.js';
import { failedBackup } from '../support/alert-fixtures.js';

const username = 'vaultra@example.test';
const password = `CANARY-smtp-${randomBytes(12).toString('hex')}`;
const PASSWORD_VARIABLE = 'VAULTRA_CONTRACT_SMTP_PASSWORD';
let certificate: { key: string; cert: string };
const servers: Partial<Record<'starttls' | 'tls' | 'none', SmtpReceiver>> = {};

beforeAll(async () => {
  certificate = await selfSignedCertificate();
  for (const security of ['starttls', 'tls', 'none'] as const) servers[security] = await new SmtpReceiver({ security, username, password }, certificate).start();
});
afterAll(async () => {
  await Promise.all(Object.values(servers).map((server) => server.stop()));
  delete process.env[PASSWORD_VARIABLE];
});

function notifier(security: 'starttls' | 'tls' | 'none', options: Partial<SmtpNotifierOptions> = {}): SmtpNotifier {
  return new SmtpNotifier({
    host: 'localhost',
    port: servers[security]!.port,
    security,
    ...(security === 'none' ? {} : { username, password: `env://${PASSWORD_VARIABLE}` }),
    from: 'Vaultra <vaultra@example.test>',
    to: ['ops@example.test', 'dba@example.test'],
    ca: certificate.cert,
    resolve: resolveSecret,
    retryPolicy: QUICK_RETRIES,
    ...options,
  });
}

function checkMail(server: SmtpReceiver, alert: Alert, security: 'starttls' | 'tls' | 'none'): number {
  for (const mail of server.mails) {
    expect(mail.parsed.subject).toBe(alert.title);
    expect(mail.parsed.text).toContain(alert.detail);
    for (const [label, value] of Object.entries(alert.facts ?? {})) expect(mail.parsed.text).toContain(`${label}: ${value}`);
    expect(mail.parsed.headers.get('x-vaultra-kind')).toBe(alert.kind);
    expect(mail.parsed.headers.get('x-vaultra-severity')).toBe(alert.severity);
    expect(mail.parsed.headers.get('x-vaultra-environment')).toBe(alert.environment);
    expect(mail.parsed.headers.get('x-vaultra-job')).toBe(alert.job);
    expect(mail.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.from).toBe('vaultra@example.test');
    expect(mail.to).toEqual(['ops@example.test', 'dba@example.test']);
    expect(mail.secure).toBe(security !== 'none');
    expect(mail.user).toBe(security === 'none' ? undefined : username);
    expect(mail.raw).not.toContain(password);
  }
  return server.mails.length;
}

for (const security of ['starttls', 'tls'] as const) {
  notifierContract(`SmtpNotifier (${security})`, () => {
    process.env[PASSWORD_VARIABLE] = password;
    const server = servers[security]!;
    return {
      alert: failedBackup,
      build: (retryPolicy) => notifier(security, { retryPolicy }),
      checkDeliveries: async (alert) => checkMail(server, alert, security),
      attempts: () => server.attempts,
      refuseTransiently: () => server.refuse(421, 'Try again later'),
      refusePermanently: () => server.refuse(550, 'Mailbox unavailable'),
      reset: () => server.reset(),
      secretVariable: PASSWORD_VARIABLE,
      secrets: [password],
    };
  });
}

describe('SmtpNotifier against a real SMTP server', () => {
  it('a critical alert goes with high priority; a relay without TLS takes mail with no auth', async () => {
    const server = servers.none!;
    server.reset();
    await notifier('none').notify(failedBackup);
    expect(checkMail(server, failedBackup, 'none')).toBe(1);
    expect(server.mails[0]!.raw).toMatch(/^X-Priority: 1 \(Highest\)$/m);
  });

  it('a wrong password: one line naming the server and what to check, not retried, no secret', async () => {
    process.env[PASSWORD_VARIABLE] = `CANARY-wrong-${randomBytes(6).toString('hex')}`;
    try {
      const server = servers.starttls!;
      server.reset();
      const error = await notifier('starttls').notify(failedBackup).then(
        () => expect.unreachable(),
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(NotifyFailedError);
      expect(error.message).toMatch(/^email: the SMTP server localhost answered 535 .*: check the username and the password secret$/);
      expect(inspect(error, { depth: 10 })).not.toContain('CANARY');
      expect(server.attempts).toBe(0);
    } finally {
      process.env[PASSWORD_VARIABLE] = password;
    }
  });

  it('starttls refuses a server that does not offer STARTTLS (the password never crosses in clear)', async () => {
    servers.none!.reset();
    const error = await notifier('starttls', { port: servers.none!.port }).notify(failedBackup).then(
      () => expect.unreachable(),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(NotifyFailedError);
    expect(error.message).toMatch(/^email: no trusted TLS connection to localhost/);
    expect(servers.none!.attempts).toBe(0);
  });

  it('a certificate the notifier does not trust is refused', async () => {
    const error = await notifier('tls', { ca: undefined } as Partial<SmtpNotifierOptions>).notify(failedBackup).then(
      () => expect.unreachable(),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(NotifyFailedError);
    expect(error.message).toMatch(/^email: no trusted TLS connection to localhost \(self[- ]signed certificate/);
  });

  it('a server that is not listening: retried, then one line with the network code', async () => {
    const error = await notifier('starttls', { port: 1 }).notify(failedBackup).then(
      () => expect.unreachable(),
      (e: unknown) => e as Error,
    );
    expect(error.message).toBe('email: could not reach the SMTP server localhost (ECONNREFUSED) (gave up after 4 attempts)');
  });
});

/**
 * A real SMTP server on 127.0.0.1 and a free port (npm `smtp-server`, nodemailer's own), with
 * STARTTLS or implicit TLS on a certificate made for the test (openssl, valid ten years so
 * `faketime '+400 days'` changes nothing), PLAIN/LOGIN auth against one account, and every
 * message received parsed with `mailparser`. Replies can be queued to refuse a message
 * transiently (`421`) or for good (`550`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface ReceivedMail {
  readonly from: string | undefined;
  readonly to: string[];
  readonly user: string | undefined;
  readonly secure: boolean;
  readonly parsed: ParsedMail;
  readonly raw: string;
}

export interface SmtpReceiverOptions {
  /** `tls`: TLS from the first byte; otherwise plain with STARTTLS offered (`starttls`) or not (`none`). */
  readonly security: 'starttls' | 'tls' | 'none';
  readonly username: string;
  readonly password: string;
}

/** A self-signed certificate for `localhost` and 127.0.0.1. */
export async function selfSignedCertificate(): Promise<{ key: string; cert: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-smtp-cert-'));
  try {
    await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '3650', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
    return { key: await readFile(join(dir, 'key.pem'), 'utf8'), cert: await readFile(join(dir, 'cert.pem'), 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];
  /** SMTP reply codes to answer the next messages' DATA with (then 250). */
  readonly #refusals: { code: number; message: string }[] = [];
  attempts = 0;
  #server: SMTPServer | undefined;

  constructor(
    private readonly options: SmtpReceiverOptions,
    private readonly certificate: { key: string; cert: string },
  ) {}

  get port(): number {
    return (this.#server!.server.address() as AddressInfo).port;
  }

  async start(): Promise<this> {
    const { security, username, password } = this.options;
    const settings: SMTPServerOptions = {
      secure: security === 'tls',
      key: this.certificate.key,
      cert: this.certificate.cert,
      ...(security === 'none' ? { disabledCommands: ['STARTTLS'] } : {}),
      authMethods: ['PLAIN', 'LOGIN'],
      authOptional: security === 'none',
      logger: false,
      onAuth: (auth, _session, callback) => {
        if (auth.username === username && auth.password === password) return callback(null, { user: username });
        const error = Object.assign(new Error('Invalid username or password'), { responseCode: 535 });
        return callback(error);
      },
      onData: (stream, session, callback) => {
        this.attempts += 1;
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const refusal = this.#refusals.shift();
          if (refusal) return callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
          const raw = Buffer.concat(chunks).toString('utf8');
          simpleParser(raw).then(
            (parsed) => {
              this.mails.push({
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
                to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
                user: typeof session.user === 'string' ? session.user : undefined,
                secure: session.secure,
                parsed,
                raw,
              });
              callback();
            },
            (error: Error) => callback(error),
          );
        });
      },
    };
    this.#server = new SMTPServer(settings);
    this.#server.on('error', () => undefined);
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** Answers the next messages' data with `code` (`421` transient, `550` permanent). */
  refuse(code: number, message: string, count = 1): void {
    for (let i = 0; i < count; i += 1) this.#refusals.push({ code, message });
  }

  reset(): void {
    this.mails.length = 0;
    this.#refusals.length = 0;
    this.attempts = 0;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }
}

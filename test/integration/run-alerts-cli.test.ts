/**
 * `vaultra run <job>` alerts from its own run lifecycle, through the built CLI against SQLite, a
 * folder and local receivers standing in for healthchecks.io and PagerDuty: a start ping and a
 * success ping for a good backup; a fail ping and a PagerDuty trigger for a failed one; then, when
 * the job recovers, a success ping and a resolve with the same dedup key. The ping URL and the
 * routing key are secret references: neither shows in anything the CLI prints.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { HttpReceiver } from '../support/http-receiver.js';
import { pagerDutyEventSchema } from '../support/notifier-schemas.js';
import { requireTools } from '../support/requirements.js';
import { selfSignedCertificate, SmtpReceiver } from '../support/smtp-receiver.js';
import { createSqliteFixture } from '../support/sqlite-fixtures.js';
import { makeWorkspace } from '../support/workspace.js';

describe('vaultra run <job>: healthchecks pings and a PagerDuty incident from the run lifecycle (CLI)', () => {
  const tools = requireTools('sqlite3', 'zstd', 'age-keygen');
  if (!tools) return;

  const pingKey = `CANARY-ping-${randomBytes(8).toString('hex')}`;
  const routingKey = `CANARY${randomBytes(13).toString('hex')}`;
  const healthchecks = new HttpReceiver({ status: 200, body: 'OK' });
  const pagerduty = new HttpReceiver({ status: 202, headers: { 'content-type': 'application/json' }, body: '{"status":"success","message":"Event processed"}' });
  let root = '';
  let config = '';
  let database = '';
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    await Promise.all([healthchecks.start(), pagerduty.start()]);
    root = mkdtempSync(join(tmpdir(), 'vaultra-run-alerts-'));
    database = join(root, 'app.db');
    await createSqliteFixture(database);
    const ws = makeWorkspace(root, 'keys');
    const recipient = (await runVaultra(['keygen', '--out', join(root, 'identity.txt')], { env: ws.env })).stdout.trim();
    config = join(root, 'vaultra.config.yaml');
    writeFileSync(
      config,
      `version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "${pathToFileURL(join(root, 'backups')).href}" }
    notifications:
      webhooks:
        - { kind: healthchecks, url: "env://VAULTRA_TEST_HC_URL" }
        - { kind: pagerduty, routingKey: "env://VAULTRA_TEST_PD_KEY", endpoint: "${pagerduty.url('/v2/enqueue')}" }
    jobs:
      app:
        source: "sqlite:${database}"
        schedule: { cron: "0 * * * *" }
        encryption: { kms: false, recipients: [${recipient}] }
`,
    );
    env = { ...makeWorkspace(root, 'run').env, VAULTRA_TEST_HC_URL: healthchecks.url(`/ping/${pingKey}`), VAULTRA_TEST_PD_KEY: routingKey };
  });
  afterAll(async () => {
    await Promise.all([healthchecks.stop(), pagerduty.stop()]);
    rmSync(root, { recursive: true, force: true });
  });

  async function run(): Promise<{ code: number | null; output: string }> {
    const result = await runVaultra(['run', 'app', '--config', config, '--no-progress'], { env });
    const output = `${result.stdout}\n${result.stderr}`;
    expect(output).not.toContain('CANARY');
    return { code: result.code, output };
  }

  it('a good backup pings start then success, and pages no one', async () => {
    const { code, output } = await run();
    expect(code, output).toBe(0);
    expect(healthchecks.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`POST /ping/${pingKey}/app/start`, `POST /ping/${pingKey}/app`]);
    expect(healthchecks.requests[1]!.body).toContain('app: backup succeeded');
    expect(pagerduty.requests).toHaveLength(0);
  });

  it('a failed backup pings fail and triggers an incident; the next good one pings success and resolves it with the same key', async () => {
    healthchecks.reset();
    renameSync(database, `${database}.away`);
    const failed = await run();
    renameSync(`${database}.away`, database);
    expect(failed.code).not.toBe(0);
    expect(healthchecks.requests.map((r) => r.path)).toEqual([`/ping/${pingKey}/app/start`, `/ping/${pingKey}/app/fail`]);
    expect(pagerduty.requests).toHaveLength(1);
    const trigger = pagerDutyEventSchema.parse(JSON.parse(pagerduty.requests[0]!.body));
    expect(trigger).toMatchObject({ routing_key: routingKey, event_action: 'trigger', dedup_key: 'vaultra/laptop/app', payload: { severity: 'critical', component: 'app', group: 'laptop', class: 'run-failed' } });

    healthchecks.reset();
    const recovered = await run();
    expect(recovered.code, recovered.output).toBe(0);
    expect(healthchecks.requests.map((r) => r.path)).toEqual([`/ping/${pingKey}/app/start`, `/ping/${pingKey}/app`]);
    expect(healthchecks.requests[1]!.body).toContain('app: backup succeeded again');
    expect(pagerduty.requests).toHaveLength(2);
    expect(pagerDutyEventSchema.parse(JSON.parse(pagerduty.requests[1]!.body))).toEqual({ routing_key: routingKey, event_action: 'resolve', dedup_key: 'vaultra/laptop/app' });
  });

  it('a receiver that is down: the backup still succeeds, and the warning names the notifier without the secret', async () => {
    healthchecks.reset();
    healthchecks.reply(...Array.from({ length: 8 }, () => ({ status: 503, body: `down ${pingKey}` })));
    const { code, output } = await run();
    expect(code, output).toBe(0);
    expect(output).toMatch(/vaultra: warning: alert not delivered: healthchecks: the webhook answered HTTP 503 \(gave up after 4 attempts\)/);
  });
});

describe('vaultra run <job>: email over SMTP with a password from a secret reference (CLI, real SMTP server)', () => {
  const tools = requireTools('sqlite3', 'zstd', 'age-keygen');
  if (!tools) return;

  const password = `CANARY-smtp-${randomBytes(10).toString('hex')}`;
  let smtp: SmtpReceiver;
  let root = '';
  let config = '';
  let database = '';
  let env: NodeJS.ProcessEnv = {};

  beforeAll(async () => {
    const certificate = await selfSignedCertificate();
    smtp = await new SmtpReceiver({ security: 'starttls', username: 'vaultra', password }, certificate).start();
    root = mkdtempSync(join(tmpdir(), 'vaultra-run-smtp-'));
    database = join(root, 'app.db');
    await createSqliteFixture(database);
    writeFileSync(join(root, 'ca.pem'), certificate.cert);
    const ws = makeWorkspace(root, 'keys');
    const recipient = (await runVaultra(['keygen', '--out', join(root, 'identity.txt')], { env: ws.env })).stdout.trim();
    config = join(root, 'vaultra.config.yaml');
    writeFileSync(
      config,
      `version: 1
environments:
  laptop:
    cloud: local
    storage: { url: "${pathToFileURL(join(root, 'backups')).href}" }
    notifications:
      smtp: { host: localhost, port: ${smtp.port}, username: vaultra, password: "env://VAULTRA_TEST_SMTP_PASSWORD", from: "Vaultra <vaultra@example.test>", to: [oncall@example.test] }
    jobs:
      app:
        source: "sqlite:${database}"
        schedule: { cron: "0 * * * *" }
        encryption: { kms: false, recipients: [${recipient}] }
`,
    );
    // The test's certificate is trusted the way an operator trusts a private CA: NODE_EXTRA_CA_CERTS.
    env = { ...makeWorkspace(root, 'run').env, VAULTRA_TEST_SMTP_PASSWORD: password, NODE_EXTRA_CA_CERTS: join(root, 'ca.pem') };
  });
  afterAll(async () => {
    await smtp.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('a failed backup is mailed over STARTTLS as the authenticated user; a routine success is not; the password shows nowhere', async () => {
    const good = await runVaultra(['run', 'app', '--config', config, '--no-progress'], { env });
    expect(good.code, good.stderr).toBe(0);
    expect(smtp.mails).toHaveLength(0);

    renameSync(database, `${database}.away`);
    const failed = await runVaultra(['run', 'app', '--config', config, '--no-progress'], { env });
    renameSync(`${database}.away`, database);
    expect(failed.code).not.toBe(0);
    expect(`${failed.stdout}${failed.stderr}${good.stdout}${good.stderr}`).not.toContain('CANARY');
    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail!.secure).toBe(true);
    expect(mail!.user).toBe('vaultra');
    expect(mail!.to).toEqual(['oncall@example.test']);
    expect(mail!.parsed.subject).toBe('app: backup failed');
    expect(mail!.parsed.text).toContain(`SQLite database ${database} does not exist`);
    expect(mail!.parsed.headers.get('x-vaultra-environment')).toBe('laptop');
    expect(inspect(mail!.parsed.headers)).not.toContain('CANARY');
  });
});

/**
 * The alert targets of `notifications` through `vaultra config validate|show` (built CLI): every
 * kind accepted with secret references, a value where a reference belongs refused, a per-job
 * check URL for a job that does not exist refused, and `show` listing each target by the name
 * failures are reported under, with its references (never a value: show reads no secret).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';

const CLEAN_ENV = { VAULTRA_CONFIG: undefined, VAULTRA_ENV: undefined };

const NOTIFICATIONS = `version: 1
environments:
  prod:
    cloud: gcp
    region: europe-west1
    gcp: { project: shop-prod-123 }
    notifications:
      smtp:
        host: smtp.example.com
        username: vaultra@example.com
        password: "secret+gcp://projects/shop-prod-123/secrets/smtp-password"
        from: "Vaultra <vaultra@example.com>"
        to: [ops@example.com]
      webhooks:
        - { kind: teams, url: "secret+gcp://projects/shop-prod-123/secrets/teams-url" }
        - { kind: discord, url: "secret+gcp://projects/shop-prod-123/secrets/discord-url" }
        - { kind: pagerduty, routingKey: "secret+gcp://projects/shop-prod-123/secrets/pagerduty-key" }
        - { kind: healthchecks, url: "secret+gcp://projects/shop-prod-123/secrets/hc-ping-url", jobs: { shop: "secret+gcp://projects/shop-prod-123/secrets/hc-shop" } }
        - { kind: slack, url: "secret+gcp://projects/shop-prod-123/secrets/slack-a" }
        - { kind: slack, url: "secret+gcp://projects/shop-prod-123/secrets/slack-b" }
    jobs:
      shop:
        source: "secret+gcp://projects/shop-prod-123/secrets/shop-db"
        schedule: { cron: "0 3 * * *" }
        rpo: 26h
        encryption: { kms: true, recipients: [age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p] }
`;

describe('vaultra config and notifications', () => {
  let dir: string;
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-config-notify-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('validate accepts every kind with secret references', async () => {
    const result = await runVaultra(['config', 'validate', '--config', await write('ok.yaml', NOTIFICATIONS), '--json'], { env: CLEAN_ENV });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, errors: [] });
  });

  it('validate refuses a routing key written into the file, a check for a job that does not exist, and a password sent without TLS', async () => {
    const broken = NOTIFICATIONS.replace('routingKey: "secret+gcp://projects/shop-prod-123/secrets/pagerduty-key"', 'routingKey: "R0UT1NGK3Y0000000000000000000000"')
      .replace('jobs: { shop: "secret+gcp', 'jobs: { shopp: "secret+gcp')
      .replace('host: smtp.example.com', 'host: smtp.example.com\n        security: none');
    const result = await runVaultra(['config', 'validate', '--config', await write('broken.yaml', broken), '--json'], { env: CLEAN_ENV });
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as { errors: { path: string; message: string }[] };
    const messages = report.errors.map((error) => `${error.path}: ${error.message}`);
    expect(messages).toContainEqual(expect.stringMatching(/webhooks\.2\.routingKey: .*a secret reference/));
    expect(messages).toContainEqual(expect.stringMatching(/notifications\.smtp\.security: a password is never sent without TLS/));
    expect(result.stdout).not.toContain('R0UT1NGK3Y0000000000000000000000');
  });

  it('validate refuses a per-job check URL for a job the environment does not have', async () => {
    const broken = NOTIFICATIONS.replace('jobs: { shop: "secret+gcp', 'jobs: { shopp: "secret+gcp');
    const result = await runVaultra(['config', 'validate', '--config', await write('typo.yaml', broken), '--json'], { env: CLEAN_ENV });
    expect(result.code).toBe(2);
    expect((JSON.parse(result.stdout) as { errors: { path: string; message: string }[] }).errors).toEqual([
      { path: 'environments.prod.notifications.webhooks.3.jobs.shopp', message: 'no job shopp in this environment: its check would never be pinged (jobs: shop)' },
    ]);
  });

  it('show lists each target under the name its failures are reported by, with references only', async () => {
    const path = await write('show.yaml', NOTIFICATIONS);
    const json = await runVaultra(['config', 'show', '--config', path, '--env', 'prod', '--json'], { env: CLEAN_ENV });
    expect(json.code, json.stderr).toBe(0);
    const { notifications } = JSON.parse(json.stdout) as { notifications: { name: string; kind: string; secrets: string[] }[] };
    expect(notifications.map((target) => target.name)).toEqual(['email', 'teams', 'discord', 'pagerduty', 'healthchecks', 'slack', 'slack-2']);
    expect(notifications.find((target) => target.name === 'healthchecks')!.secrets).toEqual(['secret+gcp://projects/shop-prod-123/secrets/hc-ping-url', 'secret+gcp://projects/shop-prod-123/secrets/hc-shop']);

    const text = await runVaultra(['config', 'show', '--config', path, '--env', 'prod'], { env: CLEAN_ENV });
    expect(text.stdout).toContain('\nnotifications\n  email         ops@example.com via smtp.example.com (starttls)  [secret+gcp://projects/shop-prod-123/secrets/smtp-password]\n');
    expect(text.stdout).toContain('  pagerduty     PagerDuty Events v2 (trigger on critical, resolve on recovery)  [secret+gcp://projects/shop-prod-123/secrets/pagerduty-key]\n');
  });
});

/**
 * `vaultra config validate|show` through the built CLI (`npm run build` first): the shipped
 * vaultra.config.yaml and broken variants written to a temp folder. No server needed.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';

// No inherited VAULTRA_* setting may change what is shown.
const CLEAN_ENV = { VAULTRA_CONFIG: undefined, VAULTRA_ENV: undefined, VAULTRA_STORAGE: undefined, VAULTRA_CATALOG: undefined, VAULTRA_IDENTITY: undefined, VAULTRA_SIGNING_KEY: undefined };

const BROKEN = `version: 1
environments:
  prod:
    cloud: aws
    defaults:
      compression: { id: lz4 }
    jobs:
      shop:
        source: "secret+aws://prod/shop"
        schedule: { cron: "61 2 * * *", timeZone: Mars/Olympus }
        rpo: 26 hours
      billing:
        source: "secret+gcp://projects/x/secrets/billing"
        schedule: { cron: "0 */6 * * *" }
        rpo: 6h
`;

interface ValidateJson {
  file: string;
  ok: boolean;
  errors: { path: string; value?: string; message: string }[];
  warnings: { path: string; message: string }[];
}

interface ShowJson {
  environment: string;
  cloud: string;
  settings: { setting: string; value?: string; source: string; layers: { source: string; name: string; value: string }[] }[];
  jobs: { name: string; fields: { field: string; value: string; source: string }[] }[];
}

describe('vaultra config', () => {
  let dir: string;
  let broken: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-config-'));
    broken = join(dir, 'broken.yaml');
    await writeFile(broken, BROKEN);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('validate: the shipped file is valid (exit 0), its warnings listed', async () => {
    // Act
    const { code, stdout, stderr } = await runVaultra(['config', 'validate'], { env: CLEAN_ENV });

    // Assess
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('warning  environments.local.jobs.app.rpo: no rpo');
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('vaultra.config.yaml: valid, 0 errors, 5 warnings');
  });

  it('validate --json: every error of a broken file at once, exit 2', async () => {
    // Act
    const { code, stdout, stderr } = await runVaultra(['config', 'validate', '--config', broken, '--json'], { env: CLEAN_ENV });

    // Assess
    expect(code, stderr).toBe(2);
    const report = JSON.parse(stdout) as ValidateJson;
    expect(report.file).toBe(broken);
    expect(report.ok).toBe(false);
    expect(report.errors.map((e) => e.path).sort()).toEqual([
      'environments.prod.defaults.compression.id',
      'environments.prod.jobs.billing.source',
      'environments.prod.jobs.shop.rpo',
      'environments.prod.jobs.shop.schedule.cron',
      'environments.prod.jobs.shop.schedule.timeZone',
      'environments.prod.region',
    ]);
    expect(report.errors.find((e) => e.path.endsWith('shop.rpo'))).toEqual({ path: 'environments.prod.jobs.shop.rpo', value: '"26 hours"', message: 'a duration such as 90m, 26h or 7d' });
  });

  it('validate: the human form lists each error on its line; a missing file is one line on stderr', async () => {
    // Act
    const human = await runVaultra(['config', 'validate', '--config', broken], { env: CLEAN_ENV });
    const missing = await runVaultra(['config', 'validate', '--config', join(dir, 'none.yaml')], { env: CLEAN_ENV });

    // Assess
    expect(human.code).toBe(2);
    expect(human.stdout).toContain('error    environments.prod.jobs.shop.schedule.timeZone: an IANA time zone such as Europe/Paris (got "Mars/Olympus")');
    expect(human.stdout.trimEnd().split('\n').at(-1)).toMatch(/: invalid, 6 errors, \d+ warnings?$/);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toContain('cannot read');
  });

  it('show --json: the local environment by default, each field with its source; storage from the file, as vaultra run takes it (VAULTRA_STORAGE is for backup and list)', async () => {
    // Act
    const { code, stdout, stderr } = await runVaultra(['config', 'show', '--json'], { env: { ...CLEAN_ENV, VAULTRA_STORAGE: 'file:///srv/backups' } });

    // Assess
    expect(code, stderr).toBe(0);
    const shown = JSON.parse(stdout) as ShowJson;
    expect(shown.environment).toBe('local');
    expect(shown.settings.find((s) => s.setting === 'env')).toMatchObject({ value: 'local', source: 'default' });
    expect(shown.settings.find((s) => s.setting === 'storage')).toEqual({
      setting: 'storage',
      value: 'file://./vaultra-backups',
      source: 'file',
      layers: [
        { source: 'file', name: 'storage.url', value: 'file://./vaultra-backups' },
        { source: 'default', name: 'default', value: 'file://./vaultra-backups' },
      ],
    });
    const fields = Object.fromEntries(shown.jobs[0]!.fields.map((f) => [f.field, f]));
    expect(fields.source).toEqual({ field: 'source', value: 'postgres://app@localhost:5432/app', source: 'job' });
    expect(fields['schedule.timeZone']).toEqual({ field: 'schedule.timeZone', value: 'UTC', source: 'built-in default' });
    expect(fields['encryption.kms']).toEqual({ field: 'encryption.kms', value: 'false', source: 'defaults' });
    // Hourly in UTC: a one-hour gap whatever the date, plus the built-in 2h timeout.
    expect(fields.rpo).toEqual({ field: 'rpo', value: '3h (longest gap 1h + timeout 2h)', source: 'computed' });
  });

  it('show --job of a cloud environment chosen by VAULTRA_ENV: secrets as references, job over defaults', async () => {
    // Act
    const { code, stdout, stderr } = await runVaultra(['config', 'show', '--job', 'shop-postgres', '--json'], { env: { ...CLEAN_ENV, VAULTRA_ENV: 'example' } });

    // Assess
    expect(code, stderr).toBe(0);
    const shown = JSON.parse(stdout) as ShowJson;
    expect(shown.settings.find((s) => s.setting === 'env')).toMatchObject({ value: 'example', source: 'env' });
    expect(shown.settings.map((s) => s.setting)).toEqual(['config', 'env']); // the local-only settings do not apply
    expect(shown.jobs.map((j) => j.name)).toEqual(['shop-postgres']);
    const fields = Object.fromEntries(shown.jobs[0]!.fields.map((f) => [f.field, [f.value, f.source]]));
    expect(fields).toMatchObject({
      source: ['secret+aws://vaultra/example/shop-postgres', 'job'],
      'schedule.flexibleWindowMinutes': ['15', 'job'],
      rpo: ['26h', 'job'],
      timeout: ['2h', 'defaults'],
      'retention.weekly': ['4', 'defaults'],
      'compression.level': ['3', 'defaults'],
      notifyOnSuccess: ['false', 'built-in default'],
    });
  });

  it('show: an unknown job or environment is exit 2 with the names there are', async () => {
    // Act
    const job = await runVaultra(['config', 'show', '--env', 'example', '--job', 'nope'], { env: CLEAN_ENV });
    const env = await runVaultra(['config', 'show', '--env', 'nope'], { env: CLEAN_ENV });

    // Assess
    expect(job.code).toBe(2);
    expect(job.stderr).toContain('has no job "nope": it has shop-postgres, billing-mariadb, events-mongodb');
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('no environment "nope"');
  });

  it('show: a broken file is its first error, pointing at validate for the rest', async () => {
    // Act
    const { code, stderr } = await runVaultra(['config', 'show', '--config', broken, '--env', 'prod'], { env: CLEAN_ENV });

    // Assess
    expect(code).toBe(2);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^vaultra: error: .*broken\.yaml\.environments\.prod\.region: a cloud environment needs its region \(vaultra config validate lists every error\)$/m);
  });
});

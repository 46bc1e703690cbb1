import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateConfigObject, validateConfigText } from '../../core/config/validate-config.js';
import { readYaml } from '../../core/config/read-yaml.js';
import { checkDatabaseUrl } from '../../core/adapters/engines/source-url.js';
import { engineIdForUrl } from '../../core/adapters/engines/engines.js';

// A fixed time: the longest gaps of time-zone schedules (DST) are measured from it.
const NOW = new Date('2026-03-01T12:00:00Z');
const OPTIONS = { now: NOW, checkSource: checkDatabaseUrl, engineOf: engineIdForUrl };
const SHIPPED = readFileSync('vaultra.config.yaml', 'utf8');

type Raw = { version: unknown; environments: Record<string, Record<string, unknown> & { jobs: Record<string, Record<string, unknown>>; defaults?: Record<string, unknown> }> };

/** The shipped config as a plain object, to break one field at a time. */
function shipped(): Raw {
  return structuredClone(readYaml(SHIPPED, 'vaultra.config.yaml')) as Raw;
}

describe('validateConfig', () => {
  it('the shipped vaultra.config.yaml has no error, and warns of every job without an rpo', () => {
    // Act
    const report = validateConfigText(SHIPPED, 'vaultra.config.yaml', OPTIONS);

    // Assess
    expect(report.errors).toEqual([]);
    expect(report.warnings.map((w) => w.path)).toEqual([
      'environments.example.jobs.billing-mariadb.rpo',
      'environments.example.jobs.events-mongodb.rpo',
      'environments.local.jobs.app.rpo',
      'environments.gcp-example.jobs.billing-mariadb.rpo',
      'environments.azure-example.jobs.events-mongodb.rpo',
    ]);
    expect(report.warnings[2]!.message).toContain('(3h)'); // hourly in UTC: 1h gap + the 2h default timeout
  });

  it('reports every error of a broken file at once, each at its path with the value found', () => {
    // Prepare: eight mistakes in four environments
    const raw = shipped();
    raw.version = 2;
    const example = raw.environments.example!;
    (example.jobs['shop-postgres']!.schedule as Record<string, unknown>).cron = '61 2 * * *';
    example.defaults!.compression = { id: 'lz4' };
    const billing = example.jobs['billing-mariadb']!;
    billing.schedul = billing.schedule;
    delete billing.schedule;
    delete raw.environments['gcp-example']!.region;
    raw.environments.local!.jobs.app!.source = 'postgres://app:hunter2@localhost:5432/app';
    raw.environments['azure-example']!.jobs['events-mongodb']!.source = 'secret+aws://vaultra/events';
    raw.environments['azure-example']!.jobs['shop-postgres']!.logs = { every: '15m', rpo: '5m' };

    // Act
    const report = validateConfigObject(raw, OPTIONS);

    // Assess
    const byPath = Object.fromEntries(report.errors.map((e) => [e.path, e]));
    expect(Object.keys(byPath).sort()).toEqual([
      'environments.azure-example.jobs.events-mongodb.source',
      'environments.azure-example.jobs.shop-postgres.logs.every',
      'environments.example.defaults.compression.id',
      'environments.example.jobs.billing-mariadb.schedul',
      'environments.example.jobs.billing-mariadb.schedule',
      'environments.example.jobs.shop-postgres.schedule.cron',
      'environments.gcp-example.region',
      'environments.local.jobs.app.source',
      'version',
    ]);
    expect(byPath['environments.example.jobs.shop-postgres.schedule.cron']).toMatchObject({ value: '"61 2 * * *"', message: expect.stringContaining('five-field cron') });
    expect(byPath['environments.example.defaults.compression.id']).toMatchObject({ value: '"lz4"' });
    expect(byPath['environments.example.jobs.billing-mariadb.schedul']!.message).toBe('unknown field');
    expect(byPath['environments.example.jobs.billing-mariadb.schedule']!.value).toBeUndefined();
    expect(byPath['environments.gcp-example.region']!.message).toBe('a cloud environment needs its region');
    expect(byPath['environments.azure-example.jobs.events-mongodb.source']!.message).toContain('secret+azure://');
    expect(byPath['environments.azure-example.jobs.shop-postgres.logs.every']!.message).toContain('longer than logs.rpo');
    expect(byPath.version).toMatchObject({ value: '2' });
    // A default shared by three jobs is one error, at the defaults.
    expect(report.errors.filter((e) => e.path.endsWith('compression.id'))).toHaveLength(1);
    // The password written into the file never comes back out.
    expect(JSON.stringify(report)).not.toContain('hunter2');
  });

  it('a local source the engines cannot read and logs on an engine without a change log are errors', () => {
    // Prepare
    const raw = shipped();
    raw.environments.local!.jobs.app!.source = 'sqlite:///var/lib/app.db';
    raw.environments.local!.jobs.app!.logs = { every: '5m' };
    raw.environments.local!.jobs.web = { source: 'mystery://db', schedule: { cron: '0 3 * * *' } };

    // Act
    const report = validateConfigObject(raw, OPTIONS);

    // Assess
    expect(report.errors.map((e) => e.path)).toEqual(['environments.local.jobs.app.logs', 'environments.local.jobs.web.source']);
    expect(report.errors[0]!.message).toContain('keeps no change log');
  });

  it('warns of risky choices: only KMS can decrypt, an rpo shorter than the longest gap, retention that keeps nothing weekly', () => {
    // Prepare
    const raw = shipped();
    raw.environments.example!.jobs['billing-mariadb']!.encryption = { kms: true };
    raw.environments.example!.jobs['billing-mariadb']!.rpo = '2h'; // every 6 hours
    raw.environments.example!.jobs['shop-postgres']!.retention = { last: 3, daily: 7 };

    // Act
    const report = validateConfigObject(raw, OPTIONS);

    // Assess
    expect(report.errors).toEqual([]);
    const messages = Object.fromEntries(report.warnings.map((w) => [w.path, w.message]));
    expect(messages['environments.example.jobs.billing-mariadb.encryption']).toContain('only the KMS key');
    expect(messages['environments.example.jobs.billing-mariadb.rpo']).toContain("rpo 2h is shorter than the schedule's longest gap (6h");
    expect(messages['environments.example.jobs.shop-postgres.retention']).toContain('nothing weekly');
  });

  it('a name that is not allowed is reported with the name and the rule; an unknown field at its own path', () => {
    // Prepare
    const raw = shipped();
    raw.environments.local!.jobs['bad name!'] = { source: 'sqlite:///a.db', schedule: { cron: '0 3 * * *' } };
    raw.environments.local!.regoin = 'eu-west-1';

    // Act
    const report = validateConfigObject(raw, OPTIONS);

    // Assess
    expect(report.errors).toEqual([
      { path: 'environments.local.jobs.bad name!', value: '"bad name!"', message: expect.stringMatching(/^not a valid name: job names are 1-63 chars/) },
      { path: 'environments.local.regoin', message: 'unknown field' },
    ]);
  });

  it('a file that is not YAML is one error naming the file and line', () => {
    // Act
    const report = validateConfigText('version: 1\nenvironments: [\n', 'broken.yaml', OPTIONS);

    // Assess
    expect(report.errors).toHaveLength(1);
    expect(report.errors[0]!.message).toMatch(/^broken\.yaml:\d+: /);
  });
  it('warns of a drill schedule only where nothing deploys it: a local environment, not the clouds, which run drill tasks', () => {
    // Prepare: the same drill on the local, AWS, GCP and Azure examples' first jobs
    const raw = shipped();
    const drill = { schedule: { cron: '0 5 * * 0' }, server: 'postgres:17' };
    const firstJob = (environment: string) => Object.keys(raw.environments[environment]!.jobs)[0]!;
    for (const environment of ['local', 'example', 'gcp-example', 'azure-example']) raw.environments[environment]!.jobs[firstJob(environment)]!.drill = drill;

    // Act
    const report = validateConfigObject(raw, OPTIONS);

    // Assess
    expect(report.errors).toEqual([]);
    const drillWarnings = report.warnings.filter((w) => w.path.endsWith('drill.schedule'));
    expect(drillWarnings.map((w) => w.path)).toEqual([`environments.local.jobs.${firstJob('local')}.drill.schedule`]);
    expect(drillWarnings[0]!.message).toContain('nothing runs drill schedules in a local environment');
  });
});

import { describe, expect, it } from 'vitest';
import { environmentOf, jobOf, loadConfig, parseConfig } from '../../core/config/load-config.js';
import { eventBridgeCron, longestGapMs } from '../../core/config/schedule.js';
import { ConfigError } from '../../core/errors.js';

const HOUR = 3_600_000;

function minimal(job: Record<string, unknown> = {}, environment: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 1,
    environments: {
      prod: {
        cloud: 'aws',
        region: 'eu-west-1',
        ...environment,
        jobs: { shop: { source: 'secret+aws://prod/shop', schedule: { cron: '0 3 * * *' }, ...job } },
      },
    },
  });
}

describe('vaultra.config.yaml', () => {
  it('the shipped example parses: every job resolved with defaults and an RPO', async () => {
    const config = await loadConfig('vaultra.config.yaml');
    const example = environmentOf(config, 'example');
    expect(example.cloud).toBe('aws');
    expect(example.jobs.map((job) => job.name)).toEqual(['shop-postgres', 'billing-mariadb', 'events-mongodb']);
    const shop = jobOf(example, 'shop-postgres');
    expect(shop.rpoMs).toBe(26 * HOUR);
    expect(shop.timeoutMs).toBe(2 * HOUR);
    expect(shop.compression).toEqual({ id: 'zstd', level: 3 });
    expect(shop.retention).toEqual({ last: 3, daily: 7, weekly: 4, monthly: 12 });
    // Every six hours, two-hour timeout: the RPO defaults to the gap plus the timeout.
    expect(jobOf(example, 'billing-mariadb').rpoMs).toBe(8 * HOUR);
    expect(jobOf(example, 'billing-mariadb').runtime).toEqual({ cpu: 2048, memoryMiB: 4096 });
  });

  it('a job field replaces the same field of the defaults', () => {
    const config = parseConfig(minimal({ timeout: '30m' }, { defaults: { timeout: '4h', notifyOnSuccess: true } }));
    const job = jobOf(environmentOf(config, 'prod'), 'shop');
    expect(job.timeoutMs).toBe(30 * 60_000);
    expect(job.notifyOnSuccess).toBe(true);
  });

  it.each([
    [minimal({ source: 'postgres://app:hunter2@db/shop' }), /jobs\.shop\.source: the URL carries a password/],
    [minimal({ source: 'postgres://app@db/shop' }), /jobs\.shop\.source: in a aws environment the connection comes from a secret/],
    [minimal({ schedule: { cron: '0 3 * *' } }), /jobs\.shop\.schedule\.cron: a five-field cron/],
    [minimal({ schedule: { cron: '0 3 * * *', timeZone: 'Mars/Olympus' } }), /schedule\.timeZone: an IANA time zone/],
    [minimal({ timeout: '2 hours' }), /jobs\.shop\.timeout: a duration such as 90m/],
    [minimal({ encryption: { kms: false } }), /jobs\.shop\.encryption: a scheduled backup needs a way back in/],
    [minimal({ colour: 'blue' }), /jobs\.shop: Unrecognized key: "colour"/],
    [minimal({}, { region: undefined }), /environments\.prod\.region: a cloud environment needs its region/],
    [minimal({}, { network: { subnetIds: ['subnet-0abc12345'] } }), /network: subnetIds and securityGroupIds need the vpcId/],
    [minimal({}, { notifications: { webhooks: [{ kind: 'slack', url: 'https://hooks.slack.com/services/T/B/x' }] } }), /webhooks\.0\.url: a secret reference/],
    [minimal({}, { signing: { trusted: ['age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40'] } }), /environments\.prod\.signing\.trusted\.0: a public key \(ed25519:…, ecdsa-p256:…\) or a key service signing key/],
    [minimal({}, { signing: { key: '/etc/vaultra/signing-key.pem' } }), /environments\.prod\.signing\.key: a cloud environment signs with the key its stack creates/],
    ['version: 1\nenvironments:\n  prod: [unclosed\n', /^vaultra\.config\.yaml:\d+: /],
  ])('refuses a bad config with the field named (%#)', (text, message) => {
    expect(() => parseConfig(text)).toThrow(ConfigError);
    expect(() => parseConfig(text)).toThrow(message);
  });

  it('signing: trusted signers per environment, none by default', () => {
    const ed25519 = 'ed25519:MCowBQYDK2VwAyEA4Yajb+oHShQun0F421A+is3MkFZk+p6+cfysyB+egTo=';
    const kms = 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    expect(environmentOf(parseConfig(minimal({}, { signing: { trusted: [ed25519, kms] } })), 'prod').signing).toEqual({ trusted: [ed25519, kms] });
    expect(environmentOf(parseConfig(minimal()), 'prod').signing).toEqual({ trusted: [] });
  });

  it('a config error never echoes the password it refused', () => {
    expect(() => parseConfig(minimal({ source: 'postgres://app:hunter2@db/shop' }))).toThrow(expect.objectContaining({ message: expect.not.stringContaining('hunter2') }));
  });

  it('names the environments there are when asked for a missing one', () => {
    expect(() => environmentOf(parseConfig(minimal()), 'staging')).toThrow('no environment "staging" in the config: it has prod');
  });
});

describe('schedules', () => {
  it.each([
    ['15 2 * * *', 'cron(15 2 * * ? *)'],
    ['0 */6 * * *', 'cron(0 */6 * * ? *)'],
    ['30 1 * * 1-5', 'cron(30 1 ? * MON,TUE,WED,THU,FRI *)'],
    ['0 4 * * 0', 'cron(0 4 ? * SUN *)'],
    ['0 4 * * 7', 'cron(0 4 ? * SUN *)'],
    ['0 5 1 * *', 'cron(0 5 1 * ? *)'],
  ])('%s is %s for EventBridge Scheduler', (cron, expected) => {
    expect(eventBridgeCron(cron)).toBe(expected);
  });

  it('refuses a cron that restricts both day fields (EventBridge cannot OR them)', () => {
    expect(() => eventBridgeCron('0 3 1 * 1')).toThrow(/restricts both day-of-month and day-of-week/);
  });

  it('the longest gap follows the time zone across a DST change', () => {
    // Daily at 02:30 Paris: the night clocks go back, one gap is 25 h.
    expect(longestGapMs('30 2 * * *', 'Europe/Paris', new Date('2026-10-20T00:00:00Z'))).toBe(25 * HOUR);
    expect(longestGapMs('0 3 * * 1-5', 'UTC', new Date('2026-11-22T00:00:00Z'))).toBe(72 * HOUR);
  });
});

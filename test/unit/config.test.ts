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

  it('runner.architecture: unset unless given (each deployment has its default); arm64 refused where only linux/amd64 runs', () => {
    expect(environmentOf(parseConfig(minimal()), 'prod').runner.architecture).toBeUndefined();
    expect(environmentOf(parseConfig(minimal({}, { runner: { architecture: 'x86_64' } })), 'prod').runner.architecture).toBe('x86_64');
    expect(() => parseConfig(minimal({}, { runner: { architecture: 'amd64' } }))).toThrow(/environments\.prod\.runner\.architecture: .*"arm64"\|"x86_64" \(got "amd64"\)/);
    const gcp = JSON.stringify({
      version: 1,
      environments: { g: { cloud: 'gcp', region: 'europe-west1', gcp: { project: 'vaultra-test' }, runner: { architecture: 'arm64' }, jobs: { j: { source: 'secret+gcp://projects/p/secrets/s', schedule: { cron: '0 1 * * *' } } } } },
    });
    expect(() => parseConfig(gcp)).toThrow(/environments\.g\.runner\.architecture: Cloud Run and Container Apps run linux\/amd64 containers only/);
  });
});

describe('runner sizes on azure', () => {
  function azure(runtime: Record<string, unknown> | undefined, environment: Record<string, unknown> = {}): string {
    return JSON.stringify({
      version: 1,
      environments: {
        prod: {
          cloud: 'azure',
          region: 'westeurope',
          azure: { resourceGroup: 'rg', storageAccount: 'acmebackups' },
          ...environment,
          jobs: { shop: { source: 'secret+azure://kv/shop', schedule: { cron: '0 3 * * *' }, ...(runtime ? { runtime } : {}) } },
        },
      },
    });
  }

  it.each([
    [{ cpu: 256, memoryMiB: 512 }],
    [{ cpu: 512, memoryMiB: 1024 }],
    [{ cpu: 1024, memoryMiB: 2048 }],
    [{ cpu: 2048, memoryMiB: 4096 }],
    [undefined],
    [{}],
  ])('takes a Container Apps Consumption pair, or no override (%j)', (runtime) => {
    expect(jobOf(environmentOf(parseConfig(azure(runtime)), 'prod'), 'shop').runtime).toEqual(runtime ?? {});
  });

  it.each([
    // Fargate takes these; Container Apps refuses them when the run starts.
    [{ cpu: 1024, memoryMiB: 4096 }, /runtime: on azure a runtime is a Container Apps Consumption pair.*\(got cpu 1024, memoryMiB 4096\)/],
    [{ cpu: 4096, memoryMiB: 8192 }, /\(got cpu 4096, memoryMiB 8192\)/],
    [{ cpu: 256, memoryMiB: 1024 }, /\(got cpu 256, memoryMiB 1024\)/],
    // Half an override would be paired with the other half of the runner job's own size.
    [{ cpu: 2048 }, /give both cpu and memoryMiB \(got \{"cpu":2048\}\)/],
    [{ memoryMiB: 1024 }, /give both cpu and memoryMiB/],
  ])('refuses a job size Container Apps would reject, naming the field and the value (%j)', (runtime, message) => {
    expect(() => parseConfig(azure(runtime))).toThrow(ConfigError);
    expect(() => parseConfig(azure(runtime))).toThrow(/environments\.prod\.jobs\.shop\.runtime: /);
    expect(() => parseConfig(azure(runtime))).toThrow(message);
  });

  it('checks the size a job gets from its environment’s defaults too', () => {
    expect(() => parseConfig(azure(undefined, { defaults: { runtime: { cpu: 512 } } }))).toThrow(/jobs\.shop\.runtime: .*give both cpu and memoryMiB/);
  });

  it('refuses an environment runner beyond 2 cores / 4 GiB, which Terraform could only cut down', () => {
    expect(() => parseConfig(azure(undefined, { runner: { cpu: 4096, memoryMiB: 8192 } }))).toThrow(/environments\.prod\.runner: on azure the runner takes at most cpu 2048 and memoryMiB 4096 .*\(got cpu 4096, memoryMiB 8192\)/);
    // Between the pairs is fine: Terraform rounds up to the next pair.
    expect(environmentOf(parseConfig(azure(undefined, { runner: { cpu: 1024, memoryMiB: 3072 } })), 'prod').runner).toMatchObject({ cpu: 1024, memoryMiB: 3072 });
  });

  it('leaves the other clouds to their own limits', () => {
    expect(jobOf(environmentOf(parseConfig(minimal({ runtime: { cpu: 1024, memoryMiB: 4096 } })), 'prod'), 'shop').runtime).toEqual({ cpu: 1024, memoryMiB: 4096 });
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

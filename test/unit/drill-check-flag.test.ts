/**
 * The checks of a scheduled drill travel on the runner's command line (the container has no
 * config file): each whole, as JSON, so its name reaches the drill's report and alerts, and any
 * text survives — a `=>` in the expected value, quotes, a Mongo query. The `<query> => <expected>`
 * form stays as it was.
 */
import { describe, expect, it } from 'vitest';
import { environmentOf, jobOf, parseConfig } from '../../core/config/load-config.js';
import { ConfigError } from '../../core/errors.js';
import { drillCommandLine } from '../../core/usecases/runner-commands.js';
import { parseCheckFlag } from '../../runner/drill-settings.js';

const CHECKS = [
  { name: 'orders reach the backup\'s day', query: "select max(created_at) >= timestamptz '{{backupStartedAt}}' - interval '26 hours' from orders", expect: 't' },
  { name: 'arrows: "quoted" => kept', query: "select 'a => b'", expect: 'a => b' },
  { name: 'paid orders', query: '{"collection": "orders", "filter": {"paid": true}}', expect: '100' },
];

const environment = environmentOf(
  parseConfig(
    JSON.stringify({
      version: 1,
      environments: {
        prod: {
          cloud: 'aws',
          region: 'eu-west-1',
          storage: { bucket: 'vaultra-backups', prefix: 'p' },
          defaults: { encryption: { kms: true, recipients: ['age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40'] } },
          jobs: { shop: { source: 'secret+aws://prod/shop', schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '0 5 * * 0' }, rto: '30m', checks: CHECKS } } },
        },
      },
    }),
  ),
  'prod',
);

describe('drill checks on the command line', () => {
  it('carries every check of the job whole, and parses each back to the same check, its name kept', () => {
    const argv = drillCommandLine(jobOf(environment, 'shop'), '20260301T050000.000Z-abcdef', { storageUrl: 's3://b/p?region=eu-west-1', catalogUrl: 'dynamodb://t' }, undefined);
    const flags = argv.flatMap((arg, i) => (argv[i - 1] === '--check' ? [arg] : []));
    expect(flags).toHaveLength(CHECKS.length);
    expect(flags.map((flag, i) => parseCheckFlag(flag, i))).toEqual(CHECKS);
    expect(argv.slice(argv.indexOf('--rto'), argv.indexOf('--rto') + 2)).toEqual(['--rto', `${30 * 60_000}ms`]);
  });

  it('still reads "<query> => <expected>", named after its position, a Mongo query included', () => {
    expect(parseCheckFlag('select count(*) from orders => 1200', 0)).toEqual({ name: '--check 1', query: 'select count(*) from orders', expect: '1200' });
    expect(parseCheckFlag('{"collection": "orders", "filter": {}} => 300', 1)).toEqual({ name: '--check 2', query: '{"collection": "orders", "filter": {}}', expect: '300' });
  });

  it('refuses a JSON check without a name or an expected value, saying the form', () => {
    expect(() => parseCheckFlag('{"query": "select 1", "expect": "1"}', 0)).toThrow(ConfigError);
    expect(() => parseCheckFlag('{"name": "one", "query": "select 1"}', 0)).toThrow(/a check given as JSON has a name, a query and the value it expects/);
    expect(() => parseCheckFlag('{"collection": "orders"}', 0)).toThrow(/expected '<query> => <expected value>'/);
  });
});

import { describe, expect, it } from 'vitest';
import { backupSpecJson, backupSpecSchema, parseBackupSpecJson } from '../../core/domain/backup-spec.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { ConfigError } from '../../core/errors.js';
import { registerSecret } from '../../core/domain/redact.js';
import { environmentOf, jobOf, parseConfig } from '../../core/config/load-config.js';
import { backupCommandLine, backupSpecOf } from '../../core/usecases/runner-commands.js';
import { launchedSpec } from '../support/launched-spec.js';

const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';
const KMS_KEY = 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/k';
const SIGNING_KEY = 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/s';
const RUN_ID = '20261122T020000.000Z-abcdef';
const minimal = { job: 'shop', source: 'postgres://app@db/shop', destinations: ['file:///srv/backups'] };

const environment = environmentOf(
  parseConfig(`
version: 1
environments:
  prod:
    cloud: aws
    region: eu-west-1
    defaults:
      compression: { id: zstd, level: 9 }
    jobs:
      shop: { source: "secret+aws://prod/shop", schedule: { cron: "0 3 * * *" }, timeout: 2h, encryption: { recipients: ["${RECIPIENT}"] } }
      ledger: { source: "env://LEDGER_DB", schedule: { cron: "0 4 * * *" }, encryption: { kms: false, recipients: ["${RECIPIENT}"] } }
`),
  'prod',
);
const target = { storageUrl: 's3://b/p?region=eu-west-1', catalogUrl: 'dynamodb://t', kmsKey: KMS_KEY, signingKey: SIGNING_KEY };

describe('backup spec schema', () => {
  it('fills defaults: a full backup, zstd, encrypted to the default identity, no engine options', () => {
    expect(parseAtEdge(backupSpecSchema, minimal, 'spec')).toEqual({ ...minimal, type: 'full', compression: { id: 'zstd' }, encryption: { mode: 'default-identity' }, engine: {} });
  });

  it('round-trips through JSON and the schema unchanged', () => {
    const spec = parseAtEdge(
      backupSpecSchema,
      {
        ...minimal,
        runId: RUN_ID,
        destinations: ['file:///srv/backups', 's3://backups-eu/db'],
        compression: { id: 'gzip', level: 6 },
        encryption: { mode: 'recipients', recipients: [RECIPIENT], kmsKeys: [KMS_KEY] },
        signingKey: SIGNING_KEY,
        timeoutMs: 7_200_000,
        engine: { lockTimeoutMs: 30_000 },
      },
      'spec',
    );
    expect(parseBackupSpecJson(backupSpecJson(spec))).toEqual(spec);
    for (const encryption of [{ mode: 'passphrase', passphraseEnv: 'BACKUP_PASSPHRASE' }, { mode: 'none' }, { mode: 'default-identity' }] as const) {
      const other = parseAtEdge(backupSpecSchema, { ...minimal, encryption }, 'spec');
      expect(parseBackupSpecJson(backupSpecJson(other))).toEqual(other);
    }
  });

  it.each([
    [{ ...minimal, compression: { id: 'lz4' } }, /^spec\.compression\.id: .*\(got "lz4"\)$/],
    [{ ...minimal, job: 'Shop/EU' }, /^spec\.job: job names are .*\(got "Shop\/EU"\)$/],
    [{ ...minimal, type: 'weekly' }, /^spec\.type: .*\(got "weekly"\)$/],
    [{ ...minimal, jobs: 0 }, /^spec\.jobs: /],
    [{ ...minimal, chain: { fullEveryMs: -1 } }, /^spec\.chain\.fullEveryMs: /],
    [{ ...minimal, runId: 'tomorrow' }, /^spec\.runId: run ids look like/],
    [{ ...minimal, destinations: [] }, /^spec\.destinations: /],
    [{ ...minimal, destinations: ['s3://a', 's3://a'] }, /^spec\.destinations: the same destination is named twice/],
    [{ ...minimal, encryption: { mode: 'recipients', recipients: ['age1short'] } }, /^spec\.encryption\.recipients\.0: an age X25519 recipient/],
    [{ ...minimal, encryption: { mode: 'recipients', kmsKeys: ['vault:key'] } }, /^spec\.encryption\.kmsKeys\.0: a key service key/],
    [{ ...minimal, encryption: { mode: 'recipients' } }, /^spec\.encryption: recipients mode needs at least one of recipients or kmsKeys/],
    [{ ...minimal, encryption: { mode: 'passphrase', passphraseEnv: 'not a name' } }, /^spec\.encryption\.passphraseEnv: an environment variable name/],
    [{ ...minimal, engine: { lockTimeoutMs: -1 } }, /^spec\.engine\.lockTimeoutMs: /],
    [{ ...minimal, colour: 'blue' }, /^spec: Unrecognized key/],
    [{ job: 'shop', destinations: ['s3://a'] }, /^spec\.source: /],
  ])('refuses %j with one line naming the field', (input, message) => {
    const attempt = () => parseBackupSpecJson(JSON.stringify(input));
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^[^\n]*$/);
  });

  it('refuses text that is not JSON in one line, without quoting it', () => {
    expect(() => parseBackupSpecJson('{"job":"shop", canary-not-json')).toThrow(/^--spec: not valid JSON: pass the spec a launcher wrote/);
    expect(() => parseBackupSpecJson('{"job":"shop", canary-not-json')).toThrow(/^(?!.*canary-not-json)[^\n]*$/);
  });

  it('refuses a source URL carrying a password, without echoing it', () => {
    registerSecret('pw-canary-123');
    const attempt = () => parseBackupSpecJson(JSON.stringify({ ...minimal, source: 'postgres://u:pw-canary-123@h/db' }));
    expect(attempt).toThrow(/^spec\.source: the URL carries a password/);
    expect(attempt).toThrow(/^(?!.*pw-canary-123).*$/);
  });
});

describe('the spec of a config job', () => {
  it('carries the job over its environment defaults, the deployment target, the run id and the timeout', () => {
    expect(backupSpecOf(jobOf(environment, 'shop'), target, RUN_ID)).toEqual({
      type: 'full',
      job: 'shop',
      runId: RUN_ID,
      source: 'secret+aws://prod/shop',
      destinations: ['s3://b/p?region=eu-west-1'],
      compression: { id: 'zstd', level: 9 },
      encryption: { mode: 'recipients', recipients: [RECIPIENT], kmsKeys: [KMS_KEY] },
      signingKey: SIGNING_KEY,
      timeoutMs: 7_200_000,
      engine: {},
    });
    expect(backupSpecOf(jobOf(environment, 'ledger'), target).encryption).toEqual({ mode: 'recipients', recipients: [RECIPIENT], kmsKeys: [] });
  });

  it('is what the launched command line carries, read back by the runner unchanged', () => {
    const job = jobOf(environment, 'shop');
    expect(launchedSpec(backupCommandLine(job, RUN_ID, target))).toEqual(backupSpecOf(job, target, RUN_ID));
  });

  it('refuses a KMS job on a deployment without a key rather than write an unopenable backup', () => {
    expect(() => backupSpecOf(jobOf(environment, 'shop'), { storageUrl: 's3://b/p' })).toThrow(/names none/);
  });
});

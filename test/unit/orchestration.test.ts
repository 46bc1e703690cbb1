import { describe, expect, it } from 'vitest';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { runIdSchema, runIdTime } from '../../core/domain/run.js';
import { backupCommandLine, restoreCommandLine, verifyCommandLine } from '../../core/usecases/runner-commands.js';
import { environmentOf, jobOf, parseConfig } from '../../core/config/load-config.js';
import { traceEnvironment } from '../../functions/aws/shared/trace-context.js';
import { launchedSpec } from '../support/launched-spec.js';

describe('scheduled run ids', () => {
  it('are a pure function of (job, scheduled time), valid run ids at the scheduled time', () => {
    const id = scheduledRunId('shop', '2026-11-22T03:00:00+01:00');
    expect(id).toBe(scheduledRunId('shop', '2026-11-22T02:00:00.000Z'));
    expect(runIdSchema.parse(id)).toBe(id);
    expect(runIdTime(id).toISOString()).toBe('2026-11-22T02:00:00.000Z');
    expect(scheduledRunId('billing', '2026-11-22T02:00:00Z')).not.toBe(id);
    expect(scheduledRunId('shop', '2026-11-22T02:00:01Z')).not.toBe(id);
  });

  it('refuses a time that is not one', () => {
    expect(() => scheduledRunId('shop', 'yesterday')).toThrow('scheduled time "yesterday" is not a date and time');
  });
});

describe('runner command lines', () => {
  const environment = environmentOf(
    parseConfig(`
version: 1
environments:
  prod:
    cloud: aws
    region: eu-west-1
    jobs:
      shop: { source: "secret+aws://prod/shop", schedule: { cron: "0 3 * * *" } }
`),
    'prod',
  );

  it('carries a spec of references only, and the environment key when the job asks for it', () => {
    const argv = backupCommandLine(jobOf(environment, 'shop'), '20261122T020000.000Z-abcdef', { storageUrl: 's3://b/p', catalogUrl: 'dynamodb://t', kmsKey: 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/k' });
    expect(launchedSpec(argv)).toEqual({
      type: 'full',
      job: 'shop',
      runId: '20261122T020000.000Z-abcdef',
      source: 'secret+aws://prod/shop',
      destinations: ['s3://b/p'],
      compression: { id: 'zstd' },
      encryption: { mode: 'recipients', recipients: [], kmsKeys: ['aws-kms:arn:aws:kms:eu-west-1:123456789012:key/k'] },
      timeoutMs: 7_200_000,
      engine: {},
    });
  });

  it('signs with the deployment signing key; restores and verifies trust it and the environment\'s trusted signers, once each', () => {
    const signingKey = 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/s';
    const target = { storageUrl: 's3://b/p', catalogUrl: 'dynamodb://t', kmsKey: 'aws-kms:arn:aws:kms:eu-west-1:123456789012:key/k', signingKey, trustedSigners: ['ed25519:MCowBQYDK2VwAyEA4Yajb+oHShQun0F421A+is3MkFZk+p6+cfysyB+egTo=', signingKey] };
    const job = jobOf(environment, 'shop');
    expect(launchedSpec(backupCommandLine(job, '20261122T020000.000Z-abcdef', target)).signingKey).toBe(signingKey);
    const trust = ['--trust', signingKey, '--trust', target.trustedSigners[0]];
    expect(restoreCommandLine(job, { runId: '20261122T020000.000Z-abcdef', target: 'secret+aws://prod/restore' }, target)).toEqual([
      'restore', '20261122T020000.000Z-abcdef', '--target', 'secret+aws://prod/restore', '--from', 's3://b/p', '--job', 'shop', ...trust, '--json', '--no-progress',
    ]);
    expect(verifyCommandLine(job, '20261122T020000.000Z-abcdef', target)).toEqual(['verify', '20261122T020000.000Z-abcdef', '--from', 's3://b/p', '--job', 'shop', ...trust, '--json', '--no-progress']);
  });

  it('refuses to start a KMS job on a deployment without a key rather than write an unopenable backup', () => {
    expect(() => backupCommandLine(jobOf(environment, 'shop'), '20261122T020000.000Z-abcdef', { storageUrl: 's3://b/p', catalogUrl: 'dynamodb://t' })).toThrow(/names none/);
  });
});

describe('trace context for the runner', () => {
  it('passes the X-Ray header on and the same ids as a W3C traceparent', () => {
    expect(traceEnvironment('Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1')).toEqual({
      _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      TRACEPARENT: '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01',
    });
    expect(traceEnvironment('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0')).toEqual({ _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0' });
    expect(traceEnvironment(undefined)).toEqual({});
  });
});

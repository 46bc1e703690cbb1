/**
 * Delivery details of the newer notifiers against a local receiver: a 429's Retry-After is
 * waited out; healthchecks pings a job's own check URL (query string kept) before the project's
 * slug URL, and sends nothing for a job neither covers; PagerDuty sends nothing for a warning.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HealthchecksNotifier } from '../../core/adapters/notifiers/healthchecks-notifier.js';
import { PagerDutyNotifier } from '../../core/adapters/notifiers/pagerduty-notifier.js';
import { resolveSecret } from '../../core/adapters/secrets/secret-resolvers.js';
import { failedBackup } from '../support/alert-fixtures.js';
import { HttpReceiver } from '../support/http-receiver.js';

const QUICK = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 50 };

describe('newer notifiers: delivery details', () => {
  const receiver = new HttpReceiver({ status: 202, body: '' });
  const routingKey = `CANARY${randomBytes(13).toString('hex')}`;
  beforeAll(async () => {
    await receiver.start();
    process.env.VAULTRA_TEST_PD_KEY = routingKey;
    process.env.VAULTRA_TEST_HC_BASE = receiver.url('/ping/KEY');
    process.env.VAULTRA_TEST_HC_LEDGER = receiver.url('/0f9a3c1e-uuid?rid=1');
  });
  afterEach(() => receiver.reset());
  afterAll(async () => {
    await receiver.stop();
    for (const name of ['VAULTRA_TEST_PD_KEY', 'VAULTRA_TEST_HC_BASE', 'VAULTRA_TEST_HC_LEDGER']) delete process.env[name];
  });

  const pagerduty = () => new PagerDutyNotifier({ routingKey: 'env://VAULTRA_TEST_PD_KEY', endpoint: receiver.url('/v2/enqueue'), retryPolicy: QUICK, resolve: resolveSecret });

  it('PagerDuty: a 429 with Retry-After 1 is waited out, then delivered', async () => {
    receiver.reply({ status: 429, headers: { 'retry-after': '1' }, body: '{"status":"throttle event","message":"Requests for this service are arriving too quickly."}' });
    await pagerduty().notify(failedBackup);
    expect(receiver.requests).toHaveLength(2);
    expect(receiver.requests[1]!.atMs - receiver.requests[0]!.atMs).toBeGreaterThanOrEqual(950);
  });

  it('PagerDuty: a warning is not sent', async () => {
    await pagerduty().notify({ ...failedBackup, kind: 'run-skipped', severity: 'warning' });
    expect(receiver.requests).toHaveLength(0);
  });

  it("healthchecks: a job's own check URL first, the project's slug URL otherwise, nothing for a job neither covers", async () => {
    const notifier = (url?: string) => new HealthchecksNotifier({ ...(url ? { url } : {}), jobs: { ledger: 'env://VAULTRA_TEST_HC_LEDGER' }, retryPolicy: QUICK, resolve: resolveSecret });
    await notifier('env://VAULTRA_TEST_HC_BASE').notify({ ...failedBackup, job: 'ledger', kind: 'run-started' });
    await notifier('env://VAULTRA_TEST_HC_BASE').notify({ ...failedBackup, job: 'shop', kind: 'run-succeeded' });
    await notifier().notify({ ...failedBackup, job: 'shop' });
    expect(receiver.requests.map((request) => request.path)).toEqual(['/0f9a3c1e-uuid/start?rid=1', '/ping/KEY/shop']);
  });
});

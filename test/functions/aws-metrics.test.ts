/**
 * The metrics the functions publish are the ones the dashboard and alarms read: names,
 * namespace and dimensions, as CloudWatch embedded-metric-format lines on stdout (Powertools
 * Metrics under middy), from the deployed entry points on moto.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { bundledEnvironmentJson } from '../../core/config/load-config.js';
import { scheduledRunId } from '../../core/domain/scheduled-run-id.js';
import { METRIC, METRICS_NAMESPACE } from '../../core/platform/aws-deployment.js';
import { lambdaContext } from '../support/lambda-context.js';
import { requireMoto } from '../support/requirements.js';
import { deployAwsPlatform } from '../support/aws-platform.js';

const CONFIG = `
version: 1
environments:
  metrics:
    cloud: aws
    region: eu-west-1
    jobs:
      shop: { source: "secret+aws://m/shop", schedule: { cron: "0 3 * * *" }, rpo: 26h }
      billing: { source: "secret+aws://m/billing", schedule: { cron: "0 4 * * *" } }
`;


interface EmfLine {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

describe('metrics of the deployed entry points (EMF on stdout, moto)', () => {
  const moto = requireMoto();
  if (!moto) return;

  let catalog: DynamoDbCatalog;
  const written: string[] = [];

  beforeAll(async () => {
    const platform = await deployAwsPlatform(moto, { environmentName: 'metrics', configJson: bundledEnvironmentJson(CONFIG, 'metrics') });
    Object.assign(process.env, platform.env, { POWERTOOLS_LOG_LEVEL: 'ERROR' });
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
    const at = new Date(Date.now() - 2 * 3_600_000).toISOString();
    await catalog.create({ runId: scheduledRunId('shop', at), job: 'shop', kind: 'backup', status: 'succeeded', startedAt: at, finishedAt: at });
  });
  afterAll(() => vi.restoreAllMocks());

  const emf = (): EmfLine[] =>
    written
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as EmfLine);

  it('the watchdog publishes SecondsSinceLastSuccess per job with the dashboard’s dimensions', async () => {
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    const { handler } = await import('../../functions/aws/watchdog.js');
    await handler(undefined, lambdaContext('vaultra-metrics-watchdog'));
    spy.mockRestore();

    const lines = emf().filter((line) => line[METRIC.secondsSinceLastSuccess] !== undefined);
    expect(lines).toHaveLength(1); // billing has never run: no figure, rather than a false one
    const [line] = lines;
    expect(line!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: METRICS_NAMESPACE, Metrics: [{ Name: METRIC.secondsSinceLastSuccess, Unit: 'Seconds' }] });
    expect(line!._aws.CloudWatchMetrics[0]!.Dimensions[0]!.sort()).toEqual(['environment', 'job', 'service']);
    expect(line).toMatchObject({ service: 'vaultra', environment: 'metrics', job: 'shop' });
    expect(line![METRIC.secondsSinceLastSuccess]).toBeGreaterThanOrEqual(7199);
  });
});

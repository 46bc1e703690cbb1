/**
 * The freshness gauges of the three watchdogs, from each cloud's real catalog on its emulator
 * (DynamoDB on moto, Firestore's emulator, Table storage on Azurite) at a fixed clock: a job
 * within its RPO, one past it, one that never ran, one that archives logs and a disabled one.
 * Each watchdog logs one `gauge` line per value and, with OTEL_EXPORTER_OTLP_ENDPOINT set, sends
 * the same gauges to a local OTLP/HTTP receiver that decodes the JSON requests.
 */
import { http } from '@google-cloud/functions-framework';
import { InvocationContext, type Timer } from '@azure/functions';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { FirestoreCatalog } from '../../core/adapters/catalog/firestore-catalog.js';
import { AzureTableCatalog } from '../../core/adapters/catalog/azure-table-catalog.js';
import { bundledEnvironmentJson, environmentOf, parseConfig, type Environment } from '../../core/config/load-config.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { METRICS } from '../../core/domain/telemetry-metrics.js';
import type { Catalog } from '../../core/ports/catalog.js';
import type { Alert } from '../../core/ports/notifier.js';
import type { WatchingDeployment } from '../../functions/shared/deployment-types.js';
import { createHandler as awsWatchdog } from '../../functions/aws/watchdog.js';
import { createHandler as gcpWatchdog } from '../../functions/gcp/watchdog.js';
import { createHandler as azureWatchdog } from '../../functions/azure/watchdog.js';
import { requireAzurite, requireFirestore, requireMoto } from '../support/requirements.js';
import { deployAwsPlatform } from '../support/aws-platform.js';
import { deployAzurePlatform } from '../support/azure-platform.js';
import { callFunction } from '../support/gcp-platform.js';
import { startOtlpReceiver, type OtlpReceiver } from '../support/otlp-receiver.js';

const NOW = new Date('2026-06-15T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

function config(cloud: 'aws' | 'gcp' | 'azure'): string {
  const platform = { aws: 'region: eu-west-1', gcp: 'region: europe-west1\n    gcp: { project: vaultra-test }', azure: 'region: westeurope\n    azure: { resourceGroup: rg-vaultra-test, storageAccount: devstoreaccount1 }' }[cloud];
  const source = (name: string) => `secret+${cloud}://${{ aws: 'fresh', gcp: 'projects/vaultra-test/secrets', azure: 'vaultratest' }[cloud]}/${name}`;
  return `
version: 1
environments:
  prod:
    cloud: ${cloud}
    ${platform}
    defaults:
      encryption: { kms: true, recipients: [age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40] }
    jobs:
      fresh: { source: "${source('fresh')}", schedule: { cron: "0 * * * *" }, rpo: 2h }
      late: { source: "${source('late')}", schedule: { cron: "0 3 * * *" }, rpo: 26h }
      unborn: { source: "${source('unborn')}", schedule: { cron: "0 * * * *" }, rpo: 2h }
      logged: { source: "${source('logged')}", schedule: { cron: "0 3 * * *" }, rpo: 26h, logs: { every: 5m, rpo: 15m } }
      off: { source: "${source('off')}", schedule: { cron: "0 * * * *" }, rpo: 2h, enabled: false }
`;
}

const environmentFor = (cloud: 'aws' | 'gcp' | 'azure'): Environment => environmentOf(parseConfig(config(cloud)), 'prod');

/** What every cloud's watchdog must publish for the catalog `seed` writes: [Prometheus name, job, value, db.system]. */
const EXPECTED: [string, string, number, string | undefined][] = [
  [METRICS.lastSuccessAge.prometheus, 'fresh', 59 * 60, 'postgresql'],
  [METRICS.rpo.prometheus, 'fresh', 2 * 3600, 'postgresql'],
  [METRICS.lastSuccessAge.prometheus, 'late', 30 * 3600, 'mysql'],
  [METRICS.rpo.prometheus, 'late', 26 * 3600, 'mysql'],
  [METRICS.rpo.prometheus, 'unborn', 2 * 3600, undefined],
  [METRICS.lastSuccessAge.prometheus, 'logged', 5 * 3600 - 60, 'postgresql'],
  [METRICS.rpo.prometheus, 'logged', 26 * 3600, 'postgresql'],
  [METRICS.logArchiveLag.prometheus, 'logged', 39 * 60, 'postgresql'],
];

const OTEL_NAME: Record<string, string> = Object.fromEntries(Object.values(METRICS).map((metric) => [metric.prometheus, metric.name]));

let sequence = 0;
async function seed(catalog: Catalog): Promise<void> {
  const run = (job: string, kind: 'backup' | 'log', startedAt: Date, patch: Partial<RunRecord> = {}): RunRecord => ({
    runId: newRunId(new Date(startedAt.getTime() + sequence++)),
    job,
    kind,
    status: 'succeeded',
    startedAt: startedAt.toISOString(),
    finishedAt: new Date(startedAt.getTime() + MINUTE).toISOString(),
    ...patch,
  });
  await catalog.create(run('fresh', 'backup', at(-HOUR), { engine: 'postgres' }));
  // A failure after the success does not make the job fresher or staler.
  await catalog.create(run('fresh', 'backup', at(-10 * MINUTE), { engine: 'postgres', status: 'failed', error: { kind: 'dump', message: 'pg_dump: connection refused' } }));
  await catalog.create(run('late', 'backup', at(-30 * HOUR - MINUTE), { engine: 'mysql' }));
  await catalog.create(run('logged', 'backup', at(-5 * HOUR), { engine: 'postgres' }));
  await catalog.create(run('logged', 'log', at(-40 * MINUTE), { log: { kind: 'wal', format: 'wal-tar/v1', start: '0/1000000', end: '0/2000000', coveredUntil: at(-39 * MINUTE).toISOString() } }));
  await catalog.create(run('off', 'backup', at(-30 * 24 * HOUR), { engine: 'postgres' }));
}

function deploymentOf(environment: Environment, catalog: Catalog, alerts: Alert[]): WatchingDeployment {
  return {
    environment,
    catalog,
    notify: async (alert) => {
      alerts.push(alert);
      return { delivered: ['test'], failed: [] };
    },
    now: () => NOW,
  };
}

/** The `gauge` log lines' fields, as [metric, job, value, db_system], in the order logged. */
function gaugeLines(records: Record<string, unknown>[]): [string, string, number, string | undefined][] {
  return records.filter((record) => record.message === 'gauge').map((record) => [record.metric as string, record.vaultra_job as string, record.value as number, record.db_system as string | undefined]);
}

/** Every JSON object written to stdout while `work` runs (Cloud Logging's and Powertools' lines). */
async function stdoutRecords<T>(work: () => Promise<T>): Promise<{ result: T; records: Record<string, unknown>[] }> {
  const written: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    const result = await work();
    const records = written
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    return { result, records };
  } finally {
    spy.mockRestore();
  }
}

function expectOtlpGauges(receiver: OtlpReceiver, environment: string): void {
  const received = receiver.gauges.map((gauge) => [gauge.name, gauge.attributes['vaultra.job'], gauge.value, gauge.attributes['db.system']]);
  expect(received.sort()).toEqual(EXPECTED.map(([metric, job, value, dbSystem]) => [OTEL_NAME[metric], job, value, dbSystem]).sort());
  for (const gauge of receiver.gauges) {
    expect(gauge.attributes['vaultra.environment']).toBe(environment);
    expect(gauge.unit).toBe('s');
  }
  expect(receiver.gauges[0]!.resource['service.name']).toBe('vaultra-watchdog');
}

describe('watchdog freshness gauges (each cloud catalog on its emulator, a local OTLP receiver)', () => {
  let receiver: OtlpReceiver;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
  });
  afterAll(async () => {
    await receiver?.close();
  });
  afterEach(() => {
    receiver.gauges.length = 0;
    receiver.paths.length = 0;
    for (const name of ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TIMEOUT']) delete process.env[name];
  });

  describe('AWS (DynamoDB on moto)', () => {
    const moto = requireMoto();
    if (!moto) return;

    it('logs and exports last success age, RPO and log lag per enabled job, and keeps the EMF metric', async () => {
      // Prepare
      const platform = await deployAwsPlatform(moto, { environmentName: 'prod', configJson: bundledEnvironmentJson(config('aws'), 'prod') });
      Object.assign(process.env, platform.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
      delete process.env.POWERTOOLS_METRICS_DISABLED;
      const catalog = DynamoDbCatalog.fromUrl(`dynamodb://${platform.tableName}?region=eu-west-1`);
      await seed(catalog);
      const alerts: Alert[] = [];

      // Act
      const { result, records } = await stdoutRecords(() => awsWatchdog(() => Promise.resolve(deploymentOf(environmentFor('aws'), catalog, alerts)))());

      // Assess
      expect(gaugeLines(records)).toEqual(EXPECTED);
      expectOtlpGauges(receiver, 'prod');
      expect(records.find((record) => record.message === 'watchdog')).toMatchObject({ otlp: 'exported' });
      expect(result.jobs.find((job) => job.job === 'late')).toMatchObject({ rpoBreached: true, secondsSinceLastSuccess: 30 * 3600 });
      expect(alerts.map((alert) => [alert.kind, alert.job]).sort()).toEqual([['log-lag', 'logged'], ['rpo-breach', 'late']]);
      // The CloudWatch alarms' metric is still there, with the same age.
      const emf = records.filter((record) => record._aws !== undefined && record.job === 'late');
      expect(emf.map((record) => record.SecondsSinceLastSuccess)).toContain(30 * 3600);
    });
  });

  describe('Google Cloud (Firestore emulator, through functions-framework)', () => {
    const firestore = requireFirestore();
    if (!firestore) return;

    it('logs and exports last success age, RPO and log lag per enabled job', async () => {
      Object.assign(process.env, firestore.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, VAULTRA_LOG_LEVEL: 'INFO' });
      const catalog = FirestoreCatalog.fromUrl(`firestore://vaultra-test/freshness-${Date.now().toString(36)}`);
      await seed(catalog);
      http('freshness-watchdog', gcpWatchdog(() => Promise.resolve(deploymentOf(environmentFor('gcp'), catalog, []))));

      const { result, records } = await stdoutRecords(() => callFunction('freshness-watchdog'));

      expect(result.status).toBe(200);
      expect(gaugeLines(records)).toEqual(EXPECTED);
      expect(records.filter((record) => record.message === 'gauge').every((record) => record.severity === 'INFO' && record.vaultra_environment === 'prod')).toBe(true);
      expectOtlpGauges(receiver, 'prod');
      expect(records.find((record) => record.message === 'watchdog')).toMatchObject({ severity: 'WARNING', otlp: { outcome: 'exported', gauges: EXPECTED.length } });
    });

    it('still alerts and logs the gauges when the OTLP endpoint is down, and says so without its credentials', async () => {
      const closed = await startOtlpReceiver();
      await closed.close();
      const canaries = ['canary-otlp-password', 'canary-otlp-token'];
      Object.assign(process.env, firestore.env, {
        OTEL_EXPORTER_OTLP_ENDPOINT: closed.endpoint.replace('http://', `http://collector:${canaries[0]}@`),
        OTEL_EXPORTER_OTLP_HEADERS: `authorization=Bearer ${canaries[1]}`,
        // A down collector may hold the watchdog up to this long.
        OTEL_EXPORTER_OTLP_TIMEOUT: '1000',
        VAULTRA_LOG_LEVEL: 'INFO',
      });
      const catalog = FirestoreCatalog.fromUrl(`firestore://vaultra-test/freshness-down-${Date.now().toString(36)}`);
      await seed(catalog);
      const alerts: Alert[] = [];
      http('freshness-watchdog-down', gcpWatchdog(() => Promise.resolve(deploymentOf(environmentFor('gcp'), catalog, alerts))));

      const { result, records } = await stdoutRecords(() => callFunction('freshness-watchdog-down'));

      expect(result.status).toBe(200);
      expect(gaugeLines(records)).toEqual(EXPECTED);
      expect(alerts.map((alert) => alert.kind).sort()).toEqual(['log-lag', 'rpo-breach']);
      const summary = records.find((record) => record.message === 'watchdog') as { otlp: { outcome: string; reason: string } };
      expect(summary.otlp.outcome).toBe('failed');
      expect(summary.otlp.reason).not.toContain('\n');
      for (const canary of canaries) expect(JSON.stringify(records).includes(canary), `${canary} in a log line`).toBe(false);
    });

    it('sends nothing without an endpoint', async () => {
      Object.assign(process.env, firestore.env, { VAULTRA_LOG_LEVEL: 'INFO' });
      const catalog = FirestoreCatalog.fromUrl(`firestore://vaultra-test/freshness-off-${Date.now().toString(36)}`);
      await seed(catalog);
      http('freshness-watchdog-off', gcpWatchdog(() => Promise.resolve(deploymentOf(environmentFor('gcp'), catalog, []))));

      const { records } = await stdoutRecords(() => callFunction('freshness-watchdog-off'));

      expect(gaugeLines(records)).toEqual(EXPECTED);
      expect(records.find((record) => record.message === 'watchdog')).toMatchObject({ otlp: { outcome: 'off' } });
      expect(receiver.paths).toEqual([]);
    });
  });

  describe('Azure (Table storage on Azurite)', () => {
    const azurite = requireAzurite();
    if (!azurite) return;

    it('logs and exports last success age, RPO and log lag per enabled job', async () => {
      const platform = await deployAzurePlatform(azurite, { environmentName: 'prod', configJson: bundledEnvironmentJson(config('azure'), 'prod') });
      Object.assign(process.env, platform.env, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
      const catalog = AzureTableCatalog.fromUrl(platform.catalogUrl);
      await seed(catalog);
      const lines: string[] = [];
      const context = new InvocationContext({ functionName: 'watchdog', invocationId: 'inv-freshness', logHandler: (_level, ...args) => lines.push(args.map(String).join(' ')) });
      const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

      await azureWatchdog(() => Promise.resolve(deploymentOf(environmentFor('azure'), catalog, [])))(timer, context);

      const records = lines.filter((line) => line.startsWith('gauge {')).map((line) => ({ message: 'gauge', ...(JSON.parse(line.slice('gauge '.length)) as Record<string, unknown>) }));
      expect(gaugeLines(records)).toEqual(EXPECTED);
      expectOtlpGauges(receiver, 'prod');
      expect(lines.find((line) => line.startsWith('watchdog {'))).toContain('"otlp":"exported"');
    });
  });
});

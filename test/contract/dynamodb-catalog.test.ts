import { randomBytes } from 'node:crypto';
import { CreateTableCommand, DescribeTableCommand, DescribeTimeToLiveCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { DynamoDbCatalog } from '../../core/adapters/catalog/dynamodb-catalog.js';
import { dynamoDbCatalogTableSchema } from '../../core/adapters/catalog/dynamodb-table-schema.js';
import { openCatalog } from '../../core/adapters/catalog/catalog-registry.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';
import { requireMoto } from '../support/requirements.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { catalogContract } from './catalog.contract.js';

describe('DynamoDbCatalog.fromUrl', () => {
  it.each(['dynamodb://', 'dynamodb://ab', 'dynamodb://runs?regoin=eu-west-1', 'dynamodb://runs?endpoint=ftp://x', 'dynamodb://runs/extra', 'dynamodb://bad name'])('refuses %s with a ConfigError', (url) => {
    expect(() => DynamoDbCatalog.fromUrl(url)).toThrow(ConfigError);
  });

  it('accepts a table with region and endpoint', () => {
    expect(DynamoDbCatalog.fromUrl('dynamodb://vaultra-runs?region=eu-west-1&endpoint=http://127.0.0.1:8000').tableName).toBe('vaultra-runs');
  });
});

describe('DynamoDbCatalog on moto', () => {
  const moto = requireMoto();
  if (!moto) return;

  const client = new DynamoDBClient(motoClientConfig(moto));

  /** A new table laid out as the adapter documents (what the infrastructure stack creates). */
  const freshTable = async (): Promise<string> => {
    const name = `vaultra-runs-${randomBytes(4).toString('hex')}`;
    const schema = dynamoDbCatalogTableSchema(name);
    await client.send(new CreateTableCommand(schema.createTable));
    await client.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: schema.timeToLive }));
    return name;
  };

  catalogContract('DynamoDbCatalog', async () => new DynamoDbCatalog({ tableName: await freshTable(), client }));

  const run = (job: string, at: string, overrides: Partial<RunRecord> = {}): RunRecord => ({
    runId: newRunId(new Date(at)),
    job,
    kind: 'backup',
    status: 'running',
    startedAt: new Date(at).toISOString(),
    ...overrides,
  });

  it('the documented table: two LSIs, one GSI, TTL on the lock expiry', async () => {
    const name = await freshTable();
    const { Table } = await client.send(new DescribeTableCommand({ TableName: name }));
    expect(Table?.LocalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(['byStartedAt', 'latestSucceeded']);
    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName)).toEqual(['allRunsByStartedAt']);
    const { TimeToLiveDescription } = await client.send(new DescribeTimeToLiveCommand({ TableName: name }));
    expect(TimeToLiveDescription).toMatchObject({ AttributeName: 'expiresAtEpochSeconds', TimeToLiveStatus: 'ENABLED' });
  });

  it('the lock item carries its expiry for the condition and a TTL attribute (seconds) for cleanup', async () => {
    const name = await freshTable();
    const catalog = new DynamoDbCatalog({ tableName: name, client });
    const before = Date.now();
    expect(await catalog.acquireLock('shop', 'run-a', 60_000)).toBe(true);
    const { Item } = await DynamoDBDocumentClient.from(client).send(new GetCommand({ TableName: name, Key: { pk: 'JOB#shop', sk: 'LOCK' } }));
    expect(Item).toMatchObject({ owner: 'run-a' });
    expect(Item!.expiresAtMs).toBeGreaterThanOrEqual(before + 60_000);
    expect(Item!.expiresAtEpochSeconds).toBe(Math.ceil(Item!.expiresAtMs / 1000));
  });

  it('update of a run that was never created is a NotFoundError (it creates nothing)', async () => {
    const catalog = new DynamoDbCatalog({ tableName: await freshTable(), client });
    const ghost = run('shop', '2026-11-01T00:00:00Z', { status: 'succeeded' });
    await expect(catalog.update(ghost)).rejects.toBeInstanceOf(NotFoundError);
    expect(await catalog.get('shop', ghost.runId)).toBeUndefined();
    expect(await catalog.latestSuccessful('shop')).toBeUndefined();
  });

  it('a succeeded backup that is later marked failed no longer counts as latest successful', async () => {
    const catalog = new DynamoDbCatalog({ tableName: await freshTable(), client });
    const older = run('shop', '2026-11-01T00:00:00Z', { status: 'succeeded' });
    const newer = run('shop', '2026-11-02T00:00:00Z', { status: 'succeeded' });
    await catalog.create(older);
    await catalog.create(newer);
    expect((await catalog.latestSuccessful('shop'))?.runId).toBe(newer.runId);
    await catalog.update({ ...newer, status: 'failed', error: { kind: 'integrity', message: 'manifest missing' } });
    expect((await catalog.latestSuccessful('shop'))?.runId).toBe(older.runId);
  });

  it('pages through more runs than one response holds, with filters and limits', async () => {
    const counted = new DynamoDBClient(motoClientConfig(moto));
    let queries = 0;
    counted.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'QueryCommand') queries++;
        return next(args);
      },
      { step: 'initialize' },
    );
    const catalog = new DynamoDbCatalog({ tableName: await freshTable(), client: counted });
    const padding = 'x'.repeat(20_000);
    // ~60 items of ~20 KB: DynamoDB returns at most 1 MB per page, so this takes two pages or more.
    const runs = Array.from({ length: 60 }, (_, i) =>
      run('shop', new Date(Date.UTC(2026, 10, 1) + i * 60_000).toISOString(), { status: i % 3 === 0 ? 'succeeded' : 'failed', location: `s3://bucket/${padding}` }),
    );
    await Promise.all(runs.map((r) => catalog.create(r)));
    const succeeded = runs.filter((r) => r.status === 'succeeded').reverse();
    expect((await catalog.list({ job: 'shop', status: 'succeeded' })).map((r) => r.runId)).toEqual(succeeded.map((r) => r.runId));
    expect(queries).toBeGreaterThan(1);
    expect((await catalog.list({ job: 'shop', status: 'succeeded', limit: 15 })).map((r) => r.runId)).toEqual(succeeded.slice(0, 15).map((r) => r.runId));
    expect(await catalog.list({ limit: 55 })).toHaveLength(55);
    expect((await catalog.latestSuccessful('shop'))?.runId).toBe(succeeded[0]!.runId);
  });

  it('lists every job by time with only since, or only until, and an empty range', async () => {
    const catalog = new DynamoDbCatalog({ tableName: await freshTable(), client });
    const runs = ['2026-11-01', '2026-11-02', '2026-11-03'].flatMap((day) => [run('shop', `${day}T06:00:00Z`), run('crm', `${day}T07:00:00Z`)]);
    for (const r of runs) await catalog.create(r);
    const ids = (records: RunRecord[]) => records.map((r) => r.runId);
    expect(ids(await catalog.list({ since: '2026-11-03T00:00:00Z' }))).toEqual([runs[5]!.runId, runs[4]!.runId]);
    expect(ids(await catalog.list({ until: '2026-11-01T07:00:00Z' }))).toEqual([runs[0]!.runId]);
    expect(ids(await catalog.list({ since: '2026-11-02T00:00:00+00:00', until: '2026-11-03T00:00:00Z', kind: 'backup' }))).toEqual([runs[3]!.runId, runs[2]!.runId]);
    expect(await catalog.list({ since: '2026-11-03T00:00:00Z', until: '2026-11-02T00:00:00Z' })).toEqual([]);
    await expect(catalog.list({ since: 'yesterday' })).rejects.toBeInstanceOf(ConfigError);
  });

  it('a table that does not exist is a ConfigError naming it (the catalog never creates tables)', async () => {
    const catalog = new DynamoDbCatalog({ tableName: 'vaultra-no-such-table', client });
    await expect(catalog.get('shop', newRunId())).rejects.toSatisfy((e: unknown) => e instanceof ConfigError && e.message.includes('vaultra-no-such-table'));
  });

  it('openCatalog(dynamodb://…) reaches the table through the URL endpoint, or AWS_ENDPOINT_URL_DYNAMODB', async () => {
    const name = await freshTable();
    vi.stubEnv('AWS_ACCESS_KEY_ID', moto.env.AWS_ACCESS_KEY_ID!);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', moto.env.AWS_SECRET_ACCESS_KEY!);
    vi.stubEnv('AWS_ENDPOINT_URL', '');
    try {
      const byUrl = await openCatalog(`dynamodb://${name}?region=${moto.region}&endpoint=${encodeURIComponent(moto.endpoint)}`, new MemoryStorageBackend());
      const first = run('shop', '2026-11-01T00:00:00Z', { status: 'succeeded' });
      await byUrl.create(first);
      vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', moto.endpoint);
      vi.stubEnv('AWS_REGION', moto.region);
      const byEnv = await openCatalog(`dynamodb://${name}`, new MemoryStorageBackend());
      expect(await byEnv.get('shop', first.runId)).toEqual(first);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

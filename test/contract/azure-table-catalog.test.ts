/**
 * AzureTableCatalog against Azurite's table service: the Catalog contract, then the entity
 * layout (PartitionKey = job, RowKey = run id), the lock entity's ETag conditions under a race
 * between two catalog instances, a missing table, and URL parsing.
 */
import { describe, expect, it } from 'vitest';
import { TableClient } from '@azure/data-tables';
import { AzureTableCatalog } from '../../core/adapters/catalog/azure-table-catalog.js';
import { openCatalog } from '../../core/adapters/catalog/catalog-registry.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { AZURITE_ACCOUNT, azuriteEndpoints, uniqueAzureName } from '../support/azurite-server.js';
import { requireAzurite } from '../support/requirements.js';
import { catalogContract } from './catalog.contract.js';

const run = (job: string, at: string, overrides: Partial<RunRecord> = {}): RunRecord => ({
  runId: newRunId(new Date(at)),
  job,
  kind: 'backup',
  status: 'running',
  startedAt: new Date(at).toISOString(),
  ...overrides,
});

describe('AzureTableCatalog on Azurite', () => {
  const azurite = requireAzurite();
  if (!azurite) return;
  const env = { ...azurite.env };

  /** A new, empty table; returns its name and a raw SDK client for looking at the entities. */
  const freshTable = async (): Promise<{ name: string; raw: TableClient }> => {
    const name = uniqueAzureName('vaultra', '').replace(/[^a-z0-9]/g, '');
    const raw = TableClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING!, name, { allowInsecureConnection: true });
    await raw.createTable();
    return { name, raw };
  };
  const fresh = async () => AzureTableCatalog.fromUrl(`aztable://${AZURITE_ACCOUNT}/${(await freshTable()).name}`, env);

  catalogContract('AzureTableCatalog on Azurite', fresh);

  it('keeps one entity per run (PartitionKey = job, RowKey = run id) and the locks in their own partition', async () => {
    const { name, raw } = await freshTable();
    const catalog = AzureTableCatalog.fromUrl(`aztable://${AZURITE_ACCOUNT}/${name}`, env);
    const record = run('shop', '2026-11-01T00:00:00Z', { status: 'succeeded', bytesStored: 42 });
    await catalog.create(record);
    await catalog.acquireLock('shop', 'run-a', 60_000);
    const entities: Record<string, unknown>[] = [];
    for await (const entity of raw.listEntities()) entities.push(entity);
    expect(entities.map((e) => [e.partitionKey, e.rowKey])).toEqual([
      ['_locks', 'shop'],
      ['shop', record.runId],
    ]);
    expect(entities[0]).toMatchObject({ owner: 'run-a' });
    expect(entities[1]).toMatchObject({ kind: 'backup', status: 'succeeded', startedAt: record.startedAt });
    expect(JSON.parse(String(entities[1]!.record))).toEqual(record);
    // Locks never show up as runs.
    expect((await catalog.list()).map((r) => r.runId)).toEqual([record.runId]);
  });

  it('two catalog instances racing for an expired lock: the ETag condition lets exactly one take it over', async () => {
    const { name } = await freshTable();
    const [a, b, c] = [0, 1, 2].map(() => AzureTableCatalog.fromUrl(`aztable://${AZURITE_ACCOUNT}/${name}`, env));
    expect(await a!.acquireLock('shop', 'crashed', 1)).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const results = await Promise.all([b!.acquireLock('shop', 'run-b', 60_000), c!.acquireLock('shop', 'run-c', 60_000)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    // The crashed owner's late release does not free the lock it lost.
    await a!.releaseLock('shop', 'crashed');
    expect(await a!.acquireLock('shop', 'run-d', 60_000)).toBe(false);
  });

  it('finds the latest success of a job among many runs, and lists time ranges by RowKey range', async () => {
    const catalog = await fresh();
    const now = Date.now();
    const at = (daysAgo: number) => new Date(now - daysAgo * 86_400_000).toISOString();
    const old = run('shop', at(400), { status: 'succeeded' });
    const month = run('shop', at(20), { status: 'succeeded' });
    const recentFailed = run('shop', at(0.5), { status: 'failed' });
    for (const r of [old, month, recentFailed]) await catalog.create(r);
    expect((await catalog.latestSuccessful('shop'))?.runId).toBe(month.runId);
    expect((await catalog.list({ job: 'shop', limit: 2 })).map((r) => r.runId)).toEqual([recentFailed.runId, month.runId]);
    expect((await catalog.list({ job: 'shop', since: at(30), until: at(1) })).map((r) => r.runId)).toEqual([month.runId]);
    expect((await catalog.list({ job: 'shop', until: at(30), limit: 5 })).map((r) => r.runId)).toEqual([old.runId]);
  });

  it('updating a run that was never created is a NotFoundError', async () => {
    const catalog = await fresh();
    await expect(catalog.update(run('shop', '2026-11-01T00:00:00Z'))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('names a table that does not exist', async () => {
    const catalog = AzureTableCatalog.fromUrl(`aztable://${AZURITE_ACCOUNT}/nosuchtable${Date.now()}`, env);
    await expect(catalog.create(run('shop', '2026-11-01T00:00:00Z'))).rejects.toSatisfy(
      (error: unknown) => error instanceof ConfigError && /does not exist; create it first/.test(error.message),
    );
  });

  it('is what openCatalog() returns for aztable://, with ?endpoint= and the connection string in the environment', async () => {
    const { name } = await freshTable();
    const { table } = azuriteEndpoints(azurite);
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    process.env.AZURE_STORAGE_CONNECTION_STRING = env.AZURE_STORAGE_CONNECTION_STRING;
    try {
      const catalog = await openCatalog(`aztable://${AZURITE_ACCOUNT}/${name}?endpoint=${table}`, new FileStorageBackend('/nonexistent'));
      expect(catalog).toBeInstanceOf(AzureTableCatalog);
      const record = run('crm', '2026-11-02T00:00:00Z');
      await catalog.create(record);
      expect(await catalog.get('crm', record.runId)).toEqual(record);
    } finally {
      if (saved === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
      else process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
    }
  });
});

describe('aztable:// URLs', () => {
  const env = { AZURE_STORAGE_KEY: 'a2V5' };
  it('parses account, table and endpoint; refuses malformed ones, naming what is wrong', () => {
    expect(AzureTableCatalog.fromUrl('aztable://acct/Runs', env).location).toBe('aztable://acct/Runs');
    expect(AzureTableCatalog.fromUrl('aztable://acct/runs?endpoint=http://127.0.0.1:10002/acct', env).location).toBe('aztable://acct/runs?endpoint=http://127.0.0.1:10002/acct');
    expect(() => AzureTableCatalog.fromUrl('aztable://acct', env)).toThrow(/not aztable/);
    expect(() => AzureTableCatalog.fromUrl('aztable://acct/my-runs', env)).toThrow(/not a table name/);
    expect(() => AzureTableCatalog.fromUrl('aztable://acct/runs?sig=x', env)).toThrow(/unknown option "sig"/);
    expect(() => AzureTableCatalog.fromUrl('aztable://k:secret@acct/runs', env)).toThrow(/never in the URL/);
    expect(() => AzureTableCatalog.fromUrl('aztable://acct/runs?endpoint=https://acct.table.core.windows.net/?sv=1%26sig=2', env)).toThrow(/never in the URL/);
  });
});

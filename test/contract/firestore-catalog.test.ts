import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { FirestoreCatalog, firestoreCatalogIndexes } from '../../core/adapters/catalog/firestore-catalog.js';
import { openCatalog } from '../../core/adapters/catalog/catalog-registry.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { newRunId, type RunRecord } from '../../core/domain/run.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';
import { requireFirestore } from '../support/requirements.js';
import { catalogContract } from './catalog.contract.js';

describe('firestore:// catalog URLs', () => {
  it('opens through the registry as a FirestoreCatalog', async () => {
    const catalog = await openCatalog('firestore://acme-prod/vaultra-runs', new FileStorageBackend('/tmp'));
    expect(catalog).toBeInstanceOf(FirestoreCatalog);
    expect(catalog).toMatchObject({ projectId: 'acme-prod', collection: 'vaultra-runs' });
    await (catalog as FirestoreCatalog).close();
  });

  it.each([
    ['firestore://acme-prod', /not a firestore:\/\/<project>\/<collection> URL/],
    ['firestore://Acme/runs', /not a project id/],
    ['firestore://acme-prod/__runs__', /not a collection id/],
    ['firestore://acme-prod/runs/extra', /not a firestore/],
    ['firestore://acme-prod/runs?databse=x', /parameter "databse"/],
  ])('refuses %s with a ConfigError', (url, message) => {
    expect(() => FirestoreCatalog.fromUrl(url)).toThrow(ConfigError);
    expect(() => FirestoreCatalog.fromUrl(url)).toThrow(message);
  });

  it('without usable credentials: a ConfigError saying so, and nothing left unhandled (real client, no emulator)', async () => {
    const saved = { adc: process.env.GOOGLE_APPLICATION_CREDENTIALS, emulator: process.env.FIRESTORE_EMULATOR_HOST };
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/vaultra-test-adc.json';
    delete process.env.FIRESTORE_EMULATOR_HOST;
    const catalog = FirestoreCatalog.fromUrl('firestore://acme-prod/vaultra-runs');
    try {
      await expect(catalog.list({ job: 'shop' })).rejects.toSatisfy((e: unknown) => e instanceof ConfigError && /no valid Google Cloud credentials/.test(e.message) && e.message.includes('acme-prod'));
      // The SDK's own failure path leaves a rejection unhandled; vitest fails the file if one surfaces.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      await catalog.close();
      for (const [name, value] of [['GOOGLE_APPLICATION_CREDENTIALS', saved.adc], ['FIRESTORE_EMULATOR_HOST', saved.emulator]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('names the composite indexes a real project needs, and exempts the record from indexing', () => {
    const { indexes, fieldOverrides } = firestoreCatalogIndexes('runs');
    expect(indexes.map((index) => index.fields.map((f) => `${f.fieldPath} ${f.order}`).join(', '))).toEqual([
      'job ASCENDING, startedKey DESCENDING',
      'kind ASCENDING, startedKey DESCENDING',
      'status ASCENDING, startedKey DESCENDING',
      'job ASCENDING, kind ASCENDING, startedKey DESCENDING',
      'job ASCENDING, status ASCENDING, startedKey DESCENDING',
      'kind ASCENDING, status ASCENDING, startedKey DESCENDING',
      'job ASCENDING, kind ASCENDING, status ASCENDING, startedKey DESCENDING',
      'job ASCENDING, succeededKey DESCENDING',
    ]);
    expect(indexes.every((index) => index.collectionGroup === 'runs' && index.queryScope === 'COLLECTION')).toBe(true);
    expect(fieldOverrides).toEqual([{ collectionGroup: 'runs', fieldPath: 'run', indexes: [] }]);
  });
});

describe('FirestoreCatalog on the Firestore emulator', () => {
  const firestore = requireFirestore();
  if (!firestore) return;

  // The client reads FIRESTORE_EMULATOR_HOST when it is created.
  process.env.FIRESTORE_EMULATOR_HOST = firestore.env.FIRESTORE_EMULATOR_HOST;
  const opened: FirestoreCatalog[] = [];
  const fresh = async (): Promise<FirestoreCatalog> => {
    const catalog = new FirestoreCatalog({ projectId: 'vaultra-test', collection: `runs-${randomBytes(5).toString('hex')}` });
    opened.push(catalog);
    return catalog;
  };
  afterAll(async () => {
    await Promise.all(opened.map((catalog) => catalog.close()));
  });

  catalogContract('FirestoreCatalog (Firestore emulator)', fresh);

  it('opens from a firestore:// URL against the emulator', async () => {
    const catalog = FirestoreCatalog.fromUrl(`firestore://vaultra-test/url-${randomBytes(4).toString('hex')}`);
    opened.push(catalog);
    const run: RunRecord = { runId: newRunId(), job: 'shop', kind: 'backup', status: 'running', startedAt: new Date().toISOString() };
    await catalog.create(run);
    expect(await catalog.get('shop', run.runId)).toEqual(run);
  });

  it('update replaces the whole record, and refuses a run that was never created (NotFoundError)', async () => {
    const catalog = await fresh();
    const started: RunRecord = { runId: newRunId(), job: 'shop', kind: 'backup', status: 'failed', startedAt: new Date().toISOString(), error: { kind: 'dump', message: 'x' } };
    await catalog.create(started);
    const retried: RunRecord = { ...started, status: 'succeeded', bytesStored: 12 };
    delete (retried as { error?: unknown }).error;
    await catalog.update(retried);
    expect(await catalog.get('shop', started.runId)).toEqual(retried);
    expect((await catalog.latestSuccessful('shop'))?.runId).toBe(started.runId);
    // Back to failed: the run leaves the "latest successful" index.
    await catalog.update({ ...retried, status: 'failed' });
    expect(await catalog.latestSuccessful('shop')).toBeUndefined();
    await expect(catalog.update({ ...started, runId: newRunId() })).rejects.toBeInstanceOf(NotFoundError);
  });

  it('orders runs started in the same millisecond by run id, and reads a time range given without milliseconds', async () => {
    const catalog = await fresh();
    const at = '2026-11-04T00:00:00.000Z';
    const a: RunRecord = { runId: '20261104T000000.000Z-000001', job: 'shop', kind: 'backup', status: 'succeeded', startedAt: at };
    const b: RunRecord = { ...a, runId: '20261104T000000.000Z-ffffff' };
    const before: RunRecord = { ...a, runId: '20261103T235959.999Z-000000', startedAt: '2026-11-03T23:59:59.999Z' };
    for (const r of [a, before, b]) await catalog.create(r);
    expect((await catalog.list({ job: 'shop' })).map((r) => r.runId)).toEqual([b.runId, a.runId, before.runId]);
    expect((await catalog.list({ job: 'shop', until: '2026-11-04T00:00:00Z' })).map((r) => r.runId)).toEqual([before.runId]);
    expect((await catalog.list({ job: 'shop', since: '2026-11-04T00:00:00Z' })).map((r) => r.runId)).toEqual([b.runId, a.runId]);
  });
});

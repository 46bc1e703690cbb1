/**
 * MongoDB round trips against the run's MongoDB-compatible server (FerretDB 1.x on SQLite, or
 * the real MongoDB of `VAULTRA_TEST_MONGODB_URI`) with the real mongodump/mongorestore:
 * through the built CLI (backup → list → verify → restore into another database name), and
 * through the use cases; compared per collection by document count, a hash of the canonical
 * Extended JSON of the documents sorted by `_id`, and the index definitions.
 */
import { readFileSync, readdirSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { RUN_ID, type BackupJson, type RestoreJson, type RunJson } from '../support/cli-json.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { requireMongo, requireTools } from '../support/requirements.js';
import { isFerret, withTestClient } from '../support/mongo-server.js';
import { type CollectionFingerprint, dropMongoDatabase, loadVariedFixture, mongoCollections, mongoFingerprints, mongoUrl, uniqueMongoDatabase, VARIED_COUNTS } from '../support/mongo-fixtures.js';

interface MongoManifest {
  source: { engine: string; database: string; serverVersion: string };
  dump: { tool: string; toolVersion: string; format: string; consistency: string; details?: Record<string, string> };
  objects: { name: string; sizeBytes: number; sha256: string }[];
  contents: { kind: string; schema?: string; name: string; rows?: number; rowsExact?: boolean }[];
}

describe('mongodb round trip through the CLI', () => {
  const mongo = requireMongo();
  const tools = requireTools('mongodump', 'mongorestore', 'zstd');
  if (!mongo || !tools) return;

  const source = uniqueMongoDatabase('src');
  const databases = new Set<string>([source]);
  let root = '';
  let sourcePrints: Awaited<ReturnType<typeof mongoFingerprints>> = {};
  const password = decodeURIComponent(/\/\/[^:/]*:([^@]*)@/.exec(mongo.url)?.[1] ?? '');

  const newDatabase = (prefix: string): string => {
    const name = uniqueMongoDatabase(prefix);
    databases.add(name);
    return name;
  };
  const workspace = (name: string): Workspace => makeWorkspace(root, name);
  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });

  const backup = async (ws: Workspace, database: string, extra: string[] = []): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', mongoUrl(mongo, database), '--to', ws.storeUrl, '--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };
  const restore = (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<VaultraResult> =>
    vaultra(ws, ['restore', ref, '--from', ws.storeUrl, '--target', mongoUrl(mongo, target), ...extra]);
  const restoreOk = async (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<RestoreJson & { structure?: string }> => {
    const result = await restore(ws, ref, target, ['--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RestoreJson;
  };
  const runFolderOf = (ws: Workspace, job: string, runId: string): string => join(ws.store, job, runId.slice(0, 4), runId.slice(4, 6), runId.slice(6, 8), runId);
  const readManifest = (ws: Workspace, job: string, runId: string): MongoManifest => JSON.parse(readFileSync(join(runFolderOf(ws, job, runId), 'manifest.json'), 'utf8'));

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-mongo-rt-'));
    await loadVariedFixture(mongo, source);
    sourcePrints = await mongoFingerprints(mongo, source);
  });

  afterAll(async () => {
    for (const name of databases) await dropMongoDatabase(mongo, name).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up, lists, verifies and restores into another database name: documents, types and indexes equal', async () => {
    const ws = workspace('full');
    const taken = await backup(ws, source);
    expect(taken).toMatchObject({ job: source, status: 'succeeded', engine: 'mongodb' });
    expect(taken.runId).toMatch(RUN_ID);
    const folder = runFolderOf(ws, source, taken.runId);
    expect(readdirSync(folder).sort()).toEqual(['data.mongoarchive.zst.age', 'manifest.json', 'manifest.json.sig']);

    const manifest = readManifest(ws, source, taken.runId);
    expect(manifest.source).toMatchObject({ engine: 'mongodb', database: source });
    if (isFerret(mongo)) expect(manifest.source.serverVersion).toMatch(/FerretDB v1\./);
    expect(manifest.dump).toMatchObject({ tool: 'mongodump', format: 'mongodump-archive', details: { oplog: 'false', scope: 'database' } });
    expect(manifest.dump.toolVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(manifest.dump.consistency).toMatch(/no point-in-time snapshot across collections/);
    const collections = manifest.contents.filter((c) => c.kind === 'collection');
    for (const [name, count] of Object.entries(VARIED_COUNTS)) {
      expect(collections.find((c) => c.name === name), name).toEqual({ kind: 'collection', schema: source, name, rows: count, rowsExact: false });
    }
    const everything = JSON.stringify(manifest) + JSON.stringify(taken) + readFileSync(join(folder, 'data.mongoarchive.zst.age')).toString('latin1');
    if (password) expect(everything).not.toContain(password);

    const listed = (await vaultra(ws, ['list', '--from', ws.storeUrl, '--json'])).stdout;
    expect((JSON.parse(listed) as RunJson[]).map((r) => r.runId)).toEqual([taken.runId]);

    const verified = await vaultra(ws, ['verify', taken.runId, '--from', ws.storeUrl, '--json']);
    expect(verified.code, verified.stderr).toBe(0);
    const documents = Object.values(VARIED_COUNTS).reduce((a, b) => a + b, 0) + (isFerret(mongo) ? 0 : 1);
    expect(JSON.parse(verified.stdout).structure).toBe(`archive complete: ${collections.length} collection(s)${isFerret(mongo) ? '' : ', 1 view(s)'}, ${documents} document(s)`);

    const target = newDatabase('copy');
    expect(await mongoCollections(mongo, target)).toEqual([]);
    const restored = await restoreOk(ws, taken.runId, target);
    expect(restored).toMatchObject({ runId: taken.runId, engine: 'mongodb', dryRun: false, status: 'restored', replaced: [] });
    expect(restored.bytesRaw).toBe(taken.bytesRaw);
    const prints = await mongoFingerprints(mongo, target);
    expect(prints).toEqual(sourcePrints);
    expect(Object.keys(prints)).toEqual(expect.arrayContaining(Object.keys(VARIED_COUNTS)));
    // The unique index is really there: a duplicate email is refused.
    expect((prints.customers as CollectionFingerprint).indexes.some((i) => i.startsWith('email_unique ') && i.includes('"unique":true'))).toBe(true);
  });

  it('restores exactly the collections a wildcard selection names (--tables "<db>.ev*,cust*")', async () => {
    const ws = workspace('selective');
    const taken = await backup(ws, source);
    const target = newDatabase('sel');
    const restored = await restoreOk(ws, taken.runId, target, ['--tables', `${source}.ev*,cust*`]);
    expect(restored.restored.map((c) => c.name).sort()).toEqual(['customers', 'events']);
    const prints = await mongoFingerprints(mongo, target);
    expect(Object.keys(prints).sort()).toEqual(['customers', 'events']);
    expect(prints.customers).toEqual(sourcePrints.customers);
    expect(prints.events).toEqual(sourcePrints.events);
  });

  it('a dry run reads and checks everything and leaves the targets exactly as they were', async () => {
    const ws = workspace('dry');
    const taken = await backup(ws, source);
    const absent = newDatabase('dry_absent');
    const dry = await restoreOk(ws, taken.runId, absent, ['--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, status: 'checked', replaced: [] });
    // The archive is checked in Node, and mongorestore --dryRun checked connection and plan.
    expect(dry.structure).toMatch(/^archive complete: .*; mongorestore --dryRun accepted it for /);
    expect(await mongoCollections(mongo, absent)).toEqual([]);

    const existing = newDatabase('dry_existing');
    await restoreOk(ws, taken.runId, existing, ['--tables', 'events']);
    const before = await mongoFingerprints(mongo, existing);
    const dryOver = await restoreOk(ws, taken.runId, existing, ['--dry-run']);
    expect(dryOver.replaced).toEqual([`${existing}.events`]);
    expect(await mongoFingerprints(mongo, existing)).toEqual(before);
  });

  it('refuses a target that holds collections (exit 6, unchanged) and replaces with --force', async () => {
    const ws = workspace('force');
    const taken = await backup(ws, source);
    const target = newDatabase('force');
    await restoreOk(ws, taken.runId, target, ['--tables', 'customers,events']);
    // Change the target: a different events collection, an extra collection.
    await withTestClient(mongo.url, async (client) => {
      await client.db(target).collection<{ _id: number }>('events').deleteMany({ _id: { $lt: 30 } });
      await client.db(target).collection<{ _id: string }>('extra').insertOne({ _id: 'x' });
    });
    const before = await mongoFingerprints(mongo, target);

    const refused = await restore(ws, taken.runId, target);
    expect(refused.code, refused.stderr).toBe(6);
    const lines = refused.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: restore target .* already holds 3 collection\(s\) .*--force/);
    expect(await mongoFingerprints(mongo, target)).toEqual(before);

    const forced = await restoreOk(ws, taken.runId, target, ['--force']);
    expect(forced.replaced.sort()).toEqual([`${target}.customers`, `${target}.events`]);
    const { extra, ...restoredPrints } = await mongoFingerprints(mongo, target);
    expect(extra).toMatchObject({ documents: 1 });
    expect(restoredPrints).toEqual(sourcePrints);
  });
});

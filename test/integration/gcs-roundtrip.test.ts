/**
 * PostgreSQL through Google Cloud end to end, with the built CLI: a backup to `gs://` on
 * fake-gcs-server, recorded in a `firestore://` catalog on the Firestore emulator, listed,
 * verified and restored into a new database, content-equal; and a backup killed mid-upload
 * (SIGKILL: no cleanup code runs) leaves no object behind.
 *
 * The emulators are reached the way a user would on their own machine: `STORAGE_EMULATOR_HOST`
 * and `FIRESTORE_EMULATOR_HOST` in the CLI's environment (or `?endpoint=` in the URL).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery } from '../support/psql.js';
import { requireFakeGcs, requireFirestore, requirePostgres, requireTools } from '../support/requirements.js';
import { RUN_ID, type BackupJson, type RestoreJson, type RunJson } from '../support/cli-json.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { chunkStart, createBucket, isUploadChunk, withGcsStatusQueries } from '../support/fake-gcs-server.js';
import { respond, startFaultyHttpProxy } from '../support/faulty-http-proxy.js';

/** Every object name in a bucket, straight from the emulator. */
async function bucketNames(endpoint: string, bucket: string): Promise<string[]> {
  const response = await fetch(`${endpoint}/storage/v1/b/${bucket}/o`);
  const body = (await response.json()) as { items?: { name: string }[] };
  return (body.items ?? []).map((item) => item.name).sort();
}

describe('postgres through gs:// and a firestore:// catalog, with the CLI', () => {
  const pg = requirePostgres();
  const gcs = requireFakeGcs();
  const firestore = requireFirestore();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !gcs || !firestore || !tools) return;

  const source = uniqueDatabaseName('gcs_src');
  const databases = new Set<string>([source]);
  let root = '';

  const urlOf = (database: string): string => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const workspace = (name: string): Workspace => makeWorkspace(root, name, { ...pgEnv(pg, 'postgres'), ...gcs.env, ...firestore.env });
  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-gcs-rt-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    // Hex noise (half compressible): the stored dump spans a few 1 MiB upload chunks.
    await psqlQuery(pg, source, 'CREATE TABLE public.noise AS SELECT i, md5(random()::text) || md5(random()::text) AS hex FROM generate_series(1, 60000) i');
  });

  afterAll(async () => {
    for (const name of databases) await dropDatabase(pg, name);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up to gs://, lists, verifies and restores into a new database, content-equal', async () => {
    const bucket = `vaultra-e2e-${randomBytes(4).toString('hex')}`;
    await createBucket(gcs.endpoint, bucket);
    const ws = workspace('roundtrip');
    // 1 MiB chunks, so the dump goes up in several resumable-upload requests.
    const store = `gs://${bucket}/prod/db?chunkSizeMiB=1`;

    const backup = await vaultra(ws, ['backup', urlOf(source), '--to', store, '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    const taken = JSON.parse(backup.stdout) as BackupJson;
    expect(taken).toMatchObject({ job: source, status: 'succeeded', engine: 'postgres' });
    expect(taken.runId).toMatch(RUN_ID);
    expect(taken.location).toMatch(new RegExp(`^gs://${bucket}/prod/db/`));
    expect(taken.bytesStored).toBeGreaterThan(1024 * 1024);

    const [year, month, day] = [taken.runId.slice(0, 4), taken.runId.slice(4, 6), taken.runId.slice(6, 8)];
    const folder = `prod/db/${source}/${year}/${month}/${day}/${taken.runId}`;
    expect(await bucketNames(gcs.endpoint, bucket)).toEqual([`${folder}/data.pgdump.zst.age`, `${folder}/manifest.json`, `${folder}/manifest.json.sig`]);

    const listed = await vaultra(ws, ['list', '--from', store, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as RunJson[]).map((r) => [r.runId, r.status])).toEqual([[taken.runId, 'succeeded']]);

    const verified = await vaultra(ws, ['verify', taken.runId, '--from', store]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(taken.sha256);

    const target = uniqueDatabaseName('gcs_to');
    databases.add(target);
    const restored = await vaultra(ws, ['restore', taken.runId, '--from', store, '--target', urlOf(target), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout) as RestoreJson).toMatchObject({ runId: taken.runId, status: 'restored', bytesRaw: taken.bytesRaw });
    expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, source));
  });

  it('records backup, verify and restore runs in a firestore:// catalog, and restores `latest` found through it', async () => {
    const bucket = `vaultra-fs-${randomBytes(4).toString('hex')}`;
    await createBucket(gcs.endpoint, bucket);
    const ws = workspace('firestore');
    const store = `gs://${bucket}/prod`;
    const catalog = `firestore://vaultra-test/runs-${randomBytes(4).toString('hex')}`;

    const backup = await vaultra(ws, ['backup', urlOf(source), '--to', store, '--catalog', catalog, '--json']);
    expect(backup.code, backup.stderr).toBe(0);
    const taken = JSON.parse(backup.stdout) as BackupJson;
    const listed = await vaultra(ws, ['list', '--from', store, '--catalog', catalog, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as RunJson[]).map((r) => [r.runId, r.kind, r.status, r.sha256])).toEqual([[taken.runId, 'backup', 'succeeded', taken.sha256]]);

    const verified = await vaultra(ws, ['verify', 'latest', '--from', store, '--catalog', catalog]);
    expect(verified.code, verified.stderr).toBe(0);
    const target = uniqueDatabaseName('gcs_fs_to');
    databases.add(target);
    const restored = await vaultra(ws, ['restore', 'latest', '--from', store, '--catalog', catalog, '--target', urlOf(target), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect((JSON.parse(restored.stdout) as RestoreJson).runId).toBe(taken.runId);
    expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, source));

    const all = await vaultra(ws, ['list', '--from', store, '--catalog', catalog, '--all', '--json']);
    expect((JSON.parse(all.stdout) as RunJson[]).map((r) => `${r.kind}:${r.status}`).sort()).toEqual(['backup:succeeded', 'restore:succeeded', 'verify:succeeded']);
  });

  it('a backup whose chunks meet 503 and 429 mid-upload is retried and succeeds; a persistent failure fails the run and leaves nothing', async () => {
    const bucket = `vaultra-faults-${randomBytes(4).toString('hex')}`;
    await createBucket(gcs.endpoint, bucket);
    let chunks = 0;
    let broken = false;
    const proxy = await startFaultyHttpProxy(
      gcs.endpoint,
      withGcsStatusQueries((r) => {
        if (!isUploadChunk(r)) return undefined;
        if (broken) return chunkStart(r) > 0 ? respond(503, '{"error":{"code":503,"message":"Backend Error"}}') : undefined;
        chunks += 1;
        if (chunks === 2) return respond(503, '{"error":{"code":503,"message":"Backend Error"}}');
        if (chunks === 4) return respond(429, '{"error":{"code":429,"message":"The rate of change requests to the object is too high"}}');
        return undefined;
      }),
    );
    try {
      const ws = workspace('faults');
      const store = `gs://${bucket}/faults?endpoint=${proxy.endpoint}&chunkSizeMiB=1`;
      const backup = await vaultra(ws, ['backup', urlOf(source), '--to', store, '--json', '--no-progress']);
      expect(backup.code, backup.stderr).toBe(0);
      const taken = JSON.parse(backup.stdout) as BackupJson;
      expect(proxy.requests.filter((r) => r.fault === 'respond' && isUploadChunk(r)).map((r) => r.status)).toEqual([503, 429]);
      const target = uniqueDatabaseName('gcs_fault_to');
      databases.add(target);
      const restored = await vaultra(ws, ['restore', taken.runId, '--from', store, '--target', urlOf(target)]);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, source));

      broken = true;
      const failed = await vaultra(ws, ['backup', urlOf(source), '--to', store, '--json', '--no-progress']);
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/HTTP 503.*gave up after 6 attempts/);
      // Only the first backup's two objects: nothing of the failed run, not even a partial object.
      expect((await bucketNames(gcs.endpoint, bucket)).filter((name) => !name.includes(taken.runId))).toEqual([]);
      const all = await vaultra(ws, ['list', '--from', store, '--all', '--json']);
      expect((JSON.parse(all.stdout) as RunJson[]).map((r) => `${r.kind}:${r.status}`)).toEqual(['backup:failed', 'restore:succeeded', 'backup:succeeded']);
    } finally {
      await proxy.close();
    }
  }, 120_000);

  it('a backup killed mid-upload leaves no object in the bucket, and the next backup succeeds', async () => {
    const bucket = `vaultra-crash-${randomBytes(4).toString('hex')}`;
    await createBucket(gcs.endpoint, bucket);
    // The data object's upload requests never get an answer: the CLI is stuck mid-upload.
    const proxy = await startFaultyHttpProxy(gcs.endpoint, (r) => (r.method === 'PUT' && r.query.has('upload_id') ? { kind: 'hang' } : undefined));
    try {
      const ws = workspace('crash');
      const store = `gs://${bucket}/crash?endpoint=${proxy.endpoint}`;
      const started = startVaultra(['backup', urlOf(source), '--to', store, '--no-progress'], { ...process.env, ...ws.env, NO_COLOR: '1' });
      await waitFor(() => proxy.requests.some((r) => r.method === 'PUT'), 60_000, 'the first upload request');
      process.kill(started.pid, 'SIGKILL');
      const { signal } = await started.result;
      expect(signal).toBe('SIGKILL');
      // The session was started and received nothing final: Cloud Storage never creates the object.
      expect(proxy.requests.filter((r) => r.method === 'POST' && r.query.get('uploadType') === 'resumable')).toHaveLength(1);
      expect(await bucketNames(gcs.endpoint, bucket)).toEqual([]);
      // No successful run in the catalog, so `list` looks in the bucket itself: nothing there either.
      const listed = await vaultra(ws, ['list', '--from', `gs://${bucket}/crash`]);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toBe(`no backups in gs://${bucket}/crash\n`);

      proxy.setRule(undefined);
      const again = await vaultra(ws, ['backup', urlOf(source), '--to', store, '--json', '--no-progress']);
      expect(again.code, again.stderr).toBe(0);
      expect((await bucketNames(gcs.endpoint, bucket)).map((name) => name.split('/').at(-1))).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
    } finally {
      await proxy.close();
    }
  });
});

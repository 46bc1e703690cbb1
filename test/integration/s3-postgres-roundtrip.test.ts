/**
 * PostgreSQL backups through `s3://` on moto, with the built CLI the way a user runs it: the
 * endpoint and credentials reach the CLI only through the environment (`AWS_ENDPOINT_URL_S3`,
 * `AWS_ACCESS_KEY_ID`, …), never the URL. Round trips are compared by content (per-table row
 * counts and checksums). Fault injection goes through the faulty HTTP proxy: retried faults do
 * not fail a backup, a persistent one fails it and leaves nothing, and a backup killed
 * mid-upload leaves no backup anyone can list.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand, S3Client } from '@aws-sdk/client-s3';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery } from '../support/psql.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { RUN_ID, type BackupJson, type RestoreJson } from '../support/cli-json.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { always, anyOf, onlyFirst, respond, s3ErrorXml, startFaultyHttpProxy, type FaultyHttpProxy, type ProxiedRequest } from '../support/faulty-http-proxy.js';

const isPartUpload = (r: ProxiedRequest) => r.method === 'PUT' && r.query.has('partNumber');
const partNumberOf = (r: ProxiedRequest) => Number(r.query.get('partNumber'));

describe('postgres backup and restore through s3:// on moto (CLI)', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !moto || !tools) return;

  const credentials = { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! };
  const admin = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials });
  const varied = uniqueDatabaseName('s3_src');
  /** ~8 MiB of random bytes: a dump big enough for a multipart upload with 5 MiB parts. */
  const bulk = uniqueDatabaseName('s3_bulk');
  const databases = new Set<string>([varied, bulk]);
  let root = '';
  let proxy: FaultyHttpProxy;
  let variedPrints: Awaited<ReturnType<typeof tableFingerprints>> = {};
  let bulkPrints: Awaited<ReturnType<typeof tableFingerprints>> = {};
  let bucketCount = 0;

  const newDatabase = (prefix: string) => {
    const name = uniqueDatabaseName(prefix);
    databases.add(name);
    return name;
  };
  const urlOf = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;

  const newBucket = async () => {
    const bucket = `vt-cli-${process.pid}-${Date.now().toString(36)}-${(bucketCount++).toString(36)}`;
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  };

  /** A workspace whose AWS settings point at moto, or at moto through the faulty proxy. */
  const workspace = (name: string, viaProxy = false): Workspace =>
    makeWorkspace(root, name, {
      ...pgEnv(pg, 'postgres'),
      ...moto.env,
      AWS_ENDPOINT_URL_S3: viaProxy ? proxy.endpoint : moto.endpoint,
      AWS_PROFILE: undefined,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });

  const vaultra = (ws: Workspace, args: string[], timeoutMs?: number): Promise<VaultraResult> => runVaultra(args, { env: ws.env, ...(timeoutMs ? { timeoutMs } : {}) });

  const backupOk = async (ws: Workspace, database: string, store: string): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', urlOf(database), '--to', store, '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };

  const restoreOk = async (ws: Workspace, runId: string, store: string, target: string): Promise<RestoreJson> => {
    const result = await vaultra(ws, ['restore', runId, '--from', store, '--target', urlOf(target), '--json']);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RestoreJson;
  };

  const objectsIn = async (bucket: string) => ((await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
  const uploadsIn = async (bucket: string) => (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-s3-cli-'));
    proxy = await startFaultyHttpProxy(moto.endpoint);
    await createDatabase(pg, varied);
    await loadVariedTypesFixture(pg, varied);
    variedPrints = await tableFingerprints(pg, varied);
    await createDatabase(pg, bulk);
    // Random bytes do not compress: the stored object stays above 5 MiB (two parts).
    await psqlQuery(
      pg,
      bulk,
      `CREATE TABLE blobs (id int PRIMARY KEY, payload bytea NOT NULL);
       INSERT INTO blobs SELECT g, decode(string_agg(lpad(to_hex((random() * 4294967295)::bigint), 8, '0'), ''), 'hex')
       FROM generate_series(1, 8) g, generate_series(1, 262144) h GROUP BY g;`,
      { timeoutMs: 120_000 },
    );
    bulkPrints = await tableFingerprints(pg, bulk);
  });

  afterAll(async () => {
    await proxy?.close();
    admin.destroy();
    for (const name of databases) await dropDatabase(pg, name);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up, lists, verifies and restores through s3://bucket/prefix, content equal', async () => {
    const ws = workspace('plain');
    const bucket = await newBucket();
    const store = `s3://${bucket}/backups/prod`;
    const taken = await backupOk(ws, varied, store);
    expect(taken).toMatchObject({ job: varied, status: 'succeeded', engine: 'postgres' });
    expect(taken.runId).toMatch(RUN_ID);
    const folder = `${varied}/${taken.runId.slice(0, 4)}/${taken.runId.slice(4, 6)}/${taken.runId.slice(6, 8)}/${taken.runId}`;
    expect(taken.location).toBe(`${store}/${folder}`);
    expect(await objectsIn(bucket)).toEqual([`backups/prod/${folder}/data.pgdump.zst.age`, `backups/prod/${folder}/manifest.json`, `backups/prod/${folder}/manifest.json.sig`]);
    expect(await uploadsIn(bucket)).toEqual([]);

    const listed = await vaultra(ws, ['list', '--from', store, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { runId: string }[]).map((r) => r.runId)).toEqual([taken.runId]);
    const verified = await vaultra(ws, ['verify', taken.runId, '--from', store]);
    expect(verified.code, verified.stderr).toBe(0);

    const target = newDatabase('s3_rt');
    await restoreOk(ws, taken.runId, store, target);
    expect(await tableFingerprints(pg, target)).toEqual(variedPrints);
    expect(ws.env.AWS_SECRET_ACCESS_KEY && listed.stdout + verified.stdout + verified.stderr).not.toContain(ws.env.AWS_SECRET_ACCESS_KEY);
  });

  it('retries throttling, 5xx and resets mid-upload and mid-read: the backup and the restore succeed', async () => {
    const ws = workspace('faults', true);
    const bucket = await newBucket();
    const store = `s3://${bucket}/b?partSizeMiB=5`;
    const start = proxy.requests.length;
    proxy.setRule(
      anyOf(
        onlyFirst(1, (r) => r.method === 'POST' && r.query.has('uploads'), respond(503, s3ErrorXml('SlowDown'))),
        onlyFirst(2, (r) => isPartUpload(r) && partNumberOf(r) === 1, respond(503, s3ErrorXml('SlowDown', 'Please reduce your request rate.'))),
        onlyFirst(1, (r) => isPartUpload(r) && partNumberOf(r) === 2, { kind: 'reset', afterRequestBytes: 256 * 1024 }),
        onlyFirst(1, (r) => r.method === 'PUT' && r.path.endsWith('/manifest.json'), respond(500, s3ErrorXml('InternalError'))),
        onlyFirst(1, (r) => r.method === 'GET' && r.path.endsWith('.age'), respond(503, s3ErrorXml('SlowDown'))),
      ),
    );
    let taken: BackupJson;
    const target = newDatabase('s3_faults');
    try {
      taken = await backupOk(ws, bulk, store);
      await restoreOk(ws, taken.runId, store, target);
    } finally {
      proxy.setRule(undefined);
    }
    const seen = proxy.requests.slice(start);
    expect(seen.filter((r) => r.fault).length).toBe(6);
    expect(seen.filter(isPartUpload).map(partNumberOf).sort()).toEqual([1, 1, 1, 2, 2]);
    expect(await tableFingerprints(pg, target)).toEqual(bulkPrints);
    expect(await uploadsIn(bucket)).toEqual([]);
  });

  it('a persistent failure fails the run, aborts the upload and leaves no parts, objects or listed backup', async () => {
    const ws = workspace('persistent', true);
    const bucket = await newBucket();
    const store = `s3://${bucket}/b?partSizeMiB=5`;
    proxy.setRule(always((r) => isPartUpload(r) && partNumberOf(r) === 2, respond(503, s3ErrorXml('SlowDown'))));
    let result: VaultraResult;
    try {
      result = await vaultra(ws, ['backup', urlOf(bulk), '--to', store]);
    } finally {
      proxy.setRule(undefined);
    }
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/part 2 of s3:\/\/.*SlowDown.*gave up after 6 attempts/);
    expect(await objectsIn(bucket)).toEqual([]);
    expect(await uploadsIn(bucket)).toEqual([]);
    const listed = await vaultra(ws, ['list', '--from', store]);
    expect(listed.stdout).toContain(`no backups in s3://${bucket}/b`);
    const all = await vaultra(ws, ['list', '--from', store, '--all', '--json']);
    expect(JSON.parse(all.stdout)).toEqual([expect.objectContaining({ kind: 'backup', status: 'failed' })]);
  });

  /** Starts a backup whose part 2 never gets an answer, and waits until part 1 is stored. */
  const backupStuckInPart2 = async (ws: Workspace, bucket: string, store: string) => {
    const start = proxy.requests.length;
    proxy.setRule(always((r) => isPartUpload(r) && partNumberOf(r) === 2, { kind: 'hang' }));
    const started = startVaultra(['backup', urlOf(bulk), '--to', store], { ...process.env, ...ws.env, NO_COLOR: '1' } as NodeJS.ProcessEnv);
    await waitFor(() => proxy.requests.slice(start).some((r) => isPartUpload(r) && partNumberOf(r) === 2), 60_000, 'part 2 to be sent');
    await waitFor(
      async () => {
        const [upload] = await uploadsIn(bucket);
        if (!upload) return false;
        const parts = await admin.send(new ListPartsCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
        return (parts.Parts ?? []).length === 1;
      },
      60_000,
      'part 1 to be stored',
    );
    return started;
  };

  it('a backup killed mid-upload (SIGKILL) leaves no listed backup; only an incomplete upload remains, for the lifecycle rule', async () => {
    const ws = workspace('killed', true);
    const bucket = await newBucket();
    const store = `s3://${bucket}/b?partSizeMiB=5`;
    try {
      const started = await backupStuckInPart2(ws, bucket, store);
      process.kill(started.pid, 'SIGKILL');
      expect((await started.result).signal).toBe('SIGKILL');
    } finally {
      proxy.setRule(undefined);
    }
    // Nothing anyone can list or restore: no manifest, no data object.
    expect(await objectsIn(bucket)).toEqual([]);
    const listed = await vaultra(ws, ['list', '--from', store]);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(`no backups in s3://${bucket}/b`);
    // What a killed process cannot clean up: its multipart upload, with the parts S3 accepted.
    // Invisible to listings; the bucket's AbortIncompleteMultipartUpload lifecycle rule removes it.
    const uploads = await uploadsIn(bucket);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.Key).toMatch(new RegExp(`^b/${bulk}/.*/data\\.pgdump\\.zst\\.age$`));
  });

  it('a backup interrupted mid-upload (SIGTERM) aborts its multipart upload: nothing at all remains', async () => {
    const ws = workspace('terminated', true);
    const bucket = await newBucket();
    const store = `s3://${bucket}/b?partSizeMiB=5`;
    let result: VaultraResult;
    try {
      const started = await backupStuckInPart2(ws, bucket, store);
      process.kill(started.pid, 'SIGTERM');
      result = await started.result;
    } finally {
      proxy.setRule(undefined);
    }
    expect(result.code, result.stderr).toBe(130);
    expect(await objectsIn(bucket)).toEqual([]);
    expect(await uploadsIn(bucket)).toEqual([]);
  });
});

/**
 * What a backup leaves in S3 when it cannot clean up, and who removes it:
 *
 * - a storage outage that starts once the multipart upload exists fails the upload and then
 *   the AbortMultipartUpload too: the error line and the run record must say so, with the
 *   upload id; the next backup of the job (or `vaultra catalog repair`) aborts it;
 * - a backup killed mid-upload (SIGKILL) stays `running` with an incomplete upload until the
 *   next backup of the job settles the run and aborts the upload.
 *
 * Through the built CLI against moto, behind the faulty HTTP proxy for the outage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client, type MultipartUpload } from '@aws-sdk/client-s3';
import type { RunRecord } from '../../core/domain/run.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import type { RepairReport } from '../../core/usecases/repair-runs.js';
import { runVaultra, type VaultraResult, outcomeLines } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import { killTree } from '../support/exec.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery } from '../support/psql.js';
import { requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import type { BackupJson } from '../support/cli-json.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { respond, s3ErrorXml, startFaultyHttpProxy, type FaultRule, type FaultyHttpProxy, type ProxiedRequest } from '../support/faulty-http-proxy.js';

const isCreateUpload = (r: ProxiedRequest) => r.method === 'POST' && r.query.has('uploads');
const isPartUpload = (r: ProxiedRequest) => r.method === 'PUT' && r.query.has('partNumber');
const isAbort = (r: ProxiedRequest) => r.method === 'DELETE' && r.query.has('uploadId');

describe('multipart uploads left in S3: reported with their id, aborted by the next backup or catalog repair (CLI, moto)', () => {
  const pg = requirePostgres();
  const moto = requireMoto();
  const tools = requireTools('pg_dump', 'psql', 'zstd');
  if (!pg || !moto || !tools) return;

  const credentials = { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! };
  const admin = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials });
  const small = uniqueDatabaseName('s3l_small');
  /** ~8 MiB of random bytes: a multipart upload with 5 MiB parts. */
  const bulk = uniqueDatabaseName('s3l_bulk');
  let root = '';
  let proxy: FaultyHttpProxy;
  let buckets = 0;
  const key = generateX25519Identity();

  const urlOf = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const newBucket = async () => {
    const bucket = `vt-left-${process.pid}-${Date.now().toString(36)}-${(buckets++).toString(36)}`;
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    return bucket;
  };
  const workspace = (name: string): Workspace =>
    makeWorkspace(root, name, { ...pgEnv(pg, 'postgres'), ...moto.env, AWS_ENDPOINT_URL_S3: proxy.endpoint, AWS_PROFILE: undefined, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env, timeoutMs: 180_000 });
  const uploadsIn = async (bucket: string): Promise<MultipartUpload[]> => (await admin.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
  const objectsIn = async (bucket: string) => ((await admin.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!).sort();
  const runsOf = async (ws: Workspace, store: string): Promise<RunRecord[]> => JSON.parse((await vaultra(ws, ['list', '--all', '--json', '--from', store])).stdout) as RunRecord[];

  /** Lets CreateMultipartUpload through, then fails every request after it: the store went down mid-upload. */
  const outageAfterCreate = (): FaultRule => {
    let down = false;
    return (r) => {
      if (down) return respond(503, s3ErrorXml('ServiceUnavailable', 'Please reduce your request rate.'));
      if (isCreateUpload(r)) down = true;
      return undefined;
    };
  };

  /** A backup of the bulk database that fails in an outage after its upload was created; returns what it printed. */
  async function backupIntoOutage(ws: Workspace, store: string): Promise<{ result: VaultraResult; uploadId: string }> {
    const start = proxy.requests.length;
    proxy.setRule(outageAfterCreate());
    let result: VaultraResult;
    try {
      result = await vaultra(ws, ['backup', urlOf(bulk), '--to', store, '--job', 'bulk', '--recipient', key.recipient, '--json', '--no-progress']);
    } finally {
      proxy.setRule(undefined);
    }
    const seen = proxy.requests.slice(start);
    expect(seen.filter(isAbort).length, 'the upload was aborted (and that failed)').toBeGreaterThan(0);
    expect(seen.filter(isAbort).every((r) => r.status === 503)).toBe(true);
    return { result, uploadId: seen.find(isAbort)!.query.get('uploadId')! };
  }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-s3-left-'));
    proxy = await startFaultyHttpProxy(moto.endpoint);
    await Promise.all([createDatabase(pg, small), createDatabase(pg, bulk)]);
    await loadVariedTypesFixture(pg, small);
    await psqlQuery(
      pg,
      bulk,
      `CREATE TABLE blobs (id int PRIMARY KEY, payload bytea NOT NULL);
       INSERT INTO blobs SELECT g, decode(string_agg(lpad(to_hex((random() * 4294967295)::bigint), 8, '0'), ''), 'hex')
       FROM generate_series(1, 8) g, generate_series(1, 262144) h GROUP BY g;`,
      { timeoutMs: 120_000 },
    );
  });

  afterAll(async () => {
    await proxy?.close();
    admin.destroy();
    for (const name of [small, bulk]) await dropDatabase(pg, name).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('the abort fails too: the error line and the run record name the upload id; the next backup of the job aborts it', async () => {
    const ws = workspace('outage-next');
    const bucket = await newBucket();
    const store = `s3://${bucket}/b?partSizeMiB=5`;
    const { result, uploadId } = await backupIntoOutage(ws, store);

    expect(result.code, result.stderr).toBe(1);
    const lines = outcomeLines(result.stderr).trimEnd().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^vaultra: error: uploading part \\d+ of s3://${bucket}/b/bulk/.*/data\\.pgdump\\.zst\\.age failed: ServiceUnavailable.*\\(gave up after 6 attempts\\); left behind: multipart upload ${uploadId} of s3://${bucket}/b/bulk/.*/data\\.pgdump\\.zst\\.age \\(aborting it failed: ServiceUnavailable.*\\): the next backup of this job or 'vaultra catalog repair' aborts it`,
      ),
    );
    const [run] = await runsOf(ws, store);
    expect(run).toMatchObject({ job: 'bulk', status: 'failed', error: { kind: 'storage', message: lines[0]!.replace(/^vaultra: error: /, '') } });
    expect(run!.leftBehind).toEqual([{ kind: 'multipart-upload', location: expect.stringMatching(/data\.pgdump\.zst\.age$/), id: uploadId, cleanup: expect.stringContaining("'vaultra catalog repair' aborts it") }]);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'failed', leftBehind: [{ id: uploadId }] });
    expect((await uploadsIn(bucket)).map((u) => u.UploadId)).toEqual([uploadId]);

    const next = await vaultra(ws, ['backup', urlOf(small), '--to', store, '--job', 'bulk', '--recipient', key.recipient, '--json', '--no-progress']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain(`vaultra: repaired earlier runs of job bulk in s3://${bucket}/b: 0 abandoned runs settled, 1 leftover removed`);
    expect(next.stderr).toMatch(new RegExp(`removed  incomplete multipart upload ${uploadId} bulk/.*/data\\.pgdump\\.zst\\.age`));
    expect(await uploadsIn(bucket)).toEqual([]);
    const taken = JSON.parse(next.stdout) as BackupJson;
    expect((await objectsIn(bucket)).every((key) => key.includes(taken.runId))).toBe(true);
  }, 240_000);

  it('the abort fails too: `vaultra catalog repair` aborts the upload once the store answers', async () => {
    const ws = workspace('outage-repair');
    const bucket = await newBucket();
    const store = `s3://${bucket}/b?partSizeMiB=5`;
    const { result, uploadId } = await backupIntoOutage(ws, store);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toContain(`left behind: multipart upload ${uploadId} of s3://${bucket}/b/bulk/`);
    expect(await uploadsIn(bucket)).toHaveLength(1);

    const repaired = await vaultra(ws, ['catalog', 'repair', '--from', store, '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const report = JSON.parse(repaired.stdout) as RepairReport;
    expect(report.removed).toEqual([expect.objectContaining({ kind: 'multipart-upload', id: uploadId, key: expect.stringMatching(/^bulk\/.*\/data\.pgdump\.zst\.age$/) })]);
    expect(await uploadsIn(bucket)).toEqual([]);
    expect(await objectsIn(bucket)).toEqual([]);
  }, 240_000);

  it('SIGKILL mid-upload: the run stays running and its upload incomplete, until the next backup of the job settles the run and aborts the upload', async () => {
    const ws = workspace('killed');
    const bucket = await newBucket();
    const store = `s3://${bucket}/b?partSizeMiB=5`;
    const start = proxy.requests.length;
    // Part 2 never gets an answer: the backup is stuck mid-upload when it is killed.
    proxy.setRule((r) => (isPartUpload(r) && r.query.get('partNumber') === '2' ? { kind: 'hang' } : undefined));
    const started = startVaultra(['backup', urlOf(bulk), '--to', store, '--job', 'bulk', '--recipient', key.recipient, '--no-progress'], { ...process.env, ...ws.env, NO_COLOR: '1' } as NodeJS.ProcessEnv);
    try {
      await waitFor(() => proxy.requests.slice(start).some((r) => isPartUpload(r) && r.query.get('partNumber') === '2'), 60_000, 'part 2 to be sent');
    } catch (error) {
      killTree(started.child, 'SIGKILL');
      throw error;
    } finally {
      proxy.setRule(undefined);
    }
    process.kill(started.pid, 'SIGKILL');
    expect((await started.result).signal).toBe('SIGKILL');
    const [killed] = await runsOf(ws, store);
    expect(killed).toMatchObject({ status: 'running', runner: { pid: started.pid } });
    expect(await uploadsIn(bucket)).toHaveLength(1);

    const next = await vaultra(ws, ['backup', urlOf(small), '--to', store, '--job', 'bulk', '--recipient', key.recipient, '--json', '--no-progress']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toContain('1 abandoned run settled, 1 leftover removed');
    expect(await uploadsIn(bucket)).toEqual([]);
    const byId = new Map((await runsOf(ws, store)).map((run) => [run.runId, run]));
    expect(byId.get(killed!.runId)).toMatchObject({ status: 'failed', error: { kind: 'abandoned' } });
  }, 240_000);
});

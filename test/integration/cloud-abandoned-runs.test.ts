/**
 * A backup killed mid-upload (SIGKILL) on `azblob://` and `gs://`: the run stays `running` until
 * the next backup of the job settles it; on Azure that backup also discards the blocks the
 * killed upload staged (listed as a blob with only uncommitted blocks); on Cloud Storage, where
 * no API lists an unfinished session, it says that the session expires after 7 days.
 *
 * Through the built CLI against Azurite and fake-gcs-server, each behind the faulty HTTP proxy
 * (the upload hangs so the process can be killed in the middle of it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import type { RunRecord } from '../../core/domain/run.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import type { RepairReport } from '../../core/usecases/repair-runs.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import { killTree } from '../support/exec.js';
import { createDatabase, dropDatabase, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery } from '../support/psql.js';
import { requireAzurite, requireFakeGcs, requirePostgres, requireTools } from '../support/requirements.js';
import { AZURITE_ACCOUNT, azuriteEndpoints, uniqueAzureName } from '../support/azurite-server.js';
import { createBucket, isUploadChunk } from '../support/fake-gcs-server.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { startFaultyHttpProxy, type FaultRule, type FaultyHttpProxy, type ProxiedRequest } from '../support/faulty-http-proxy.js';
import type { BackupJson } from '../support/cli-json.js';

describe('a backup killed mid-upload on azblob:// and gs:// is settled by the next backup of its job (CLI)', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'psql', 'zstd');
  if (!pg || !tools) return;

  const key = generateX25519Identity();
  /** ~24 MiB of random bytes: several blocks or chunks of 8 MiB. */
  const bulk = uniqueDatabaseName('cloud_kill');
  const small = uniqueDatabaseName('cloud_small');
  let root = '';

  const urlOf = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env, timeoutMs: 180_000 });
  const runsOf = async (ws: Workspace, store: string): Promise<RunRecord[]> => JSON.parse((await vaultra(ws, ['list', '--all', '--json', '--from', store])).stdout) as RunRecord[];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-cloud-kill-'));
    await Promise.all([createDatabase(pg, bulk), createDatabase(pg, small)]);
    await psqlQuery(
      pg,
      bulk,
      `CREATE TABLE blobs (id int PRIMARY KEY, payload bytea NOT NULL);
       INSERT INTO blobs SELECT g, decode(string_agg(lpad(to_hex((random() * 4294967295)::bigint), 8, '0'), ''), 'hex')
       FROM generate_series(1, 24) g, generate_series(1, 262144) h GROUP BY g;`,
      { timeoutMs: 120_000 },
    );
    await psqlQuery(pg, small, 'CREATE TABLE t AS SELECT 1 AS i;');
  });

  afterAll(async () => {
    for (const db of [bulk, small]) await dropDatabase(pg, db).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Starts a backup whose upload hangs at the request `hangs` picks, waits until that request is sent, and SIGKILLs vaultra. */
  async function killWhenHung(ws: Workspace, proxy: FaultyHttpProxy, store: string, hangs: (r: ProxiedRequest) => boolean): Promise<number> {
    const start = proxy.requests.length;
    const rule: FaultRule = (r) => (hangs(r) ? { kind: 'hang' } : undefined);
    proxy.setRule(rule);
    const started = startVaultra(['backup', urlOf(bulk), '--to', store, '--job', 'bulk', '--recipient', key.recipient, '--no-progress'], { ...process.env, ...ws.env, NO_COLOR: '1' } as NodeJS.ProcessEnv);
    try {
      await waitFor(() => proxy.requests.slice(start).some((r) => r.fault === 'hang'), 60_000, 'the upload to hang');
    } catch (error) {
      killTree(started.child, 'SIGKILL');
      throw error;
    } finally {
      proxy.setRule(undefined);
    }
    process.kill(started.pid, 'SIGKILL');
    expect((await started.result).signal).toBe('SIGKILL');
    return started.pid;
  }

  describe('azblob:// (Azurite)', () => {
    const azurite = requireAzurite();
    if (!azurite) return;
    const service = BlobServiceClient.fromConnectionString(azurite.env.AZURE_STORAGE_CONNECTION_STRING!);
    let proxy: FaultyHttpProxy;
    beforeAll(async () => {
      proxy = await startFaultyHttpProxy(new URL(azuriteEndpoints(azurite).blob).origin);
    });
    afterAll(async () => {
      await proxy?.close();
    });
    const uncommittedBlobs = async (container: string) => {
      const committed = new Set<string>();
      for await (const item of service.getContainerClient(container).listBlobsFlat()) committed.add(item.name);
      const names: string[] = [];
      for await (const item of service.getContainerClient(container).listBlobsFlat({ includeUncommitedBlobs: true })) if (!committed.has(item.name)) names.push(item.name);
      return names;
    };

    it('the killed run stays running and its staged blocks stay; the next backup settles the run and discards them', async () => {
      const container = uniqueAzureName('killed');
      await service.createContainer(container);
      const blobEndpoint = `${proxy.endpoint}/${AZURITE_ACCOUNT}`;
      const connection = azurite.env.AZURE_STORAGE_CONNECTION_STRING!.replace(/BlobEndpoint=[^;]+/, `BlobEndpoint=${blobEndpoint}`);
      const ws = makeWorkspace(root, `azure-${randomBytes(3).toString('hex')}`, { ...pgEnv(pg, 'postgres'), AZURE_STORAGE_CONNECTION_STRING: connection });
      const store = `azblob://${AZURITE_ACCOUNT}/${container}/p`;
      // Blocks after the first two never get an answer.
      let blocks = 0;
      const pid = await killWhenHung(ws, proxy, store, (r) => r.method === 'PUT' && r.query.get('comp') === 'block' && ++blocks > 2);
      const [killed] = await runsOf(ws, store);
      expect(killed).toMatchObject({ status: 'running', runner: { pid } });
      expect(await uncommittedBlobs(container)).toEqual([expect.stringMatching(/^p\/bulk\/.*\/data\.pgdump\.zst\.age$/)]);

      const next = await vaultra(ws, ['backup', urlOf(small), '--to', store, '--job', 'bulk', '--recipient', key.recipient, '--json', '--no-progress']);
      expect(next.code, next.stderr).toBe(0);
      const taken = JSON.parse(next.stdout) as BackupJson & { repaired: RepairReport[] };
      expect(taken.repaired).toEqual([
        expect.objectContaining({ settled: [expect.objectContaining({ runId: killed!.runId, status: 'failed' })], removed: [expect.objectContaining({ kind: 'uncommitted-blocks', runId: killed!.runId })] }),
      ]);
      expect(await uncommittedBlobs(container)).toEqual([]);
      const byId = new Map((await runsOf(ws, store)).map((run) => [run.runId, run]));
      expect(byId.get(killed!.runId)).toMatchObject({ status: 'failed', error: { kind: 'abandoned' } });
    });
  });

  describe('gs:// (fake-gcs-server)', () => {
    const gcs = requireFakeGcs();
    if (!gcs) return;
    let proxy: FaultyHttpProxy;
    beforeAll(async () => {
      proxy = await startFaultyHttpProxy(gcs.endpoint);
    });
    afterAll(async () => {
      await proxy?.close();
    });

    it('the killed run stays running; the next backup settles it and says the session it left expires in 7 days', async () => {
      const bucket = `vaultra-killed-${randomBytes(4).toString('hex')}`;
      await createBucket(gcs.endpoint, bucket);
      const ws = makeWorkspace(root, `gcs-${randomBytes(3).toString('hex')}`, { ...pgEnv(pg, 'postgres'), ...gcs.env, STORAGE_EMULATOR_HOST: proxy.endpoint });
      const store = `gs://${bucket}/p`;
      const pid = await killWhenHung(ws, proxy, store, (r) => isUploadChunk(r));
      const [killed] = await runsOf(ws, store);
      expect(killed).toMatchObject({ status: 'running', runner: { pid } });

      const next = await vaultra(ws, ['backup', urlOf(small), '--to', store, '--job', 'bulk', '--recipient', key.recipient, '--no-progress']);
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toContain(`vaultra: repaired earlier runs of job bulk in ${store}: 1 abandoned run settled, 0 leftovers removed`);
      expect(next.stderr).toContain('note     unfinished upload sessions of killed backups: Cloud Storage discards an unfinished upload session 7 days after it started');
      const byId = new Map((await runsOf(ws, store)).map((run) => [run.runId, run]));
      expect(byId.get(killed!.runId)).toMatchObject({ status: 'failed', error: { kind: 'abandoned' } });
    });
  });
});

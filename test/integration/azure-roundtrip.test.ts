/**
 * A real PostgreSQL database backed up and restored through the built CLI with `azblob://`
 * storage and an `aztable://` catalog, both on Azurite; credentials reach the CLI only through
 * AZURE_STORAGE_CONNECTION_STRING (never argv). Content equality is per-table row counts and
 * checksums plus the schema objects. The database carries ~20 MiB of incompressible bytes, so
 * the data object spans several 8 MiB blocks and ranges.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, schemaObjects, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery } from '../support/psql.js';
import { requireAzurite, requirePostgres, requireTools } from '../support/requirements.js';
import { RUN_ID, type BackupJson, type RestoreJson, type RunJson } from '../support/cli-json.js';
import { makeWorkspace } from '../support/workspace.js';
import { AZURITE_ACCOUNT, uniqueAzureName } from '../support/azurite-server.js';

/** ~20 MiB of md5 bytes (incompressible) in 2,560 rows of 8 KiB. */
const NOISE_SQL = `CREATE TABLE public.noise (id int PRIMARY KEY, bytes bytea NOT NULL);
  INSERT INTO public.noise SELECT g, decode(string_agg(md5(g::text || '-' || s::text), '' ORDER BY s), 'hex')
  FROM generate_series(1, 2560) g, generate_series(1, 512) s GROUP BY g;`;

describe('postgres round trip through azblob:// and aztable:// on Azurite (CLI)', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  const azurite = requireAzurite();
  if (!pg || !tools || !azurite) return;

  const source = uniqueDatabaseName('az_src');
  const databases = new Set<string>([source]);
  const service = BlobServiceClient.fromConnectionString(azurite.env.AZURE_STORAGE_CONNECTION_STRING!);
  const container = uniqueAzureName('roundtrip');
  const table = uniqueAzureName('runs', '').replace(/[^a-z0-9]/g, '');
  const storeUrl = `azblob://${AZURITE_ACCOUNT}/${container}/backups`;
  const catalogUrl = `aztable://${AZURITE_ACCOUNT}/${table}`;
  let root = '';

  const urlOf = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const env = () => ({ ...makeWorkspace(root, 'ws', pgEnv(pg, 'postgres')).env, ...azurite.env });
  const vaultra = (args: string[]): Promise<VaultraResult> => runVaultra(args, { env: env(), timeoutMs: 300_000 });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-az-rt-'));
    await createDatabase(pg, source);
    await loadVariedTypesFixture(pg, source);
    await psqlQuery(pg, source, NOISE_SQL);
    await service.createContainer(container);
    await TableClient.fromConnectionString(azurite.env.AZURE_STORAGE_CONNECTION_STRING!, table, { allowInsecureConnection: true }).createTable();
  }, 180_000);

  afterAll(async () => {
    for (const name of databases) await dropDatabase(pg, name);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up to Azure Blob, records the run in Azure Table, verifies, and restores content-equal', async () => {
    const backup = await vaultra(['backup', urlOf(source), '--to', storeUrl, '--catalog', catalogUrl, '--json', '--no-progress']);
    expect(backup.code, backup.stderr).toBe(0);
    const taken = JSON.parse(backup.stdout) as BackupJson;
    expect(taken).toMatchObject({ job: source, status: 'succeeded', engine: 'postgres' });
    expect(taken.runId).toMatch(RUN_ID);
    expect(taken.bytesStored).toBeGreaterThan(20 * 1024 * 1024);
    expect(taken.location).toMatch(new RegExp(`^${storeUrl}/`));
    expect(backup.stdout + backup.stderr).not.toContain('AccountKey');

    // The objects: committed block blobs, several 8 MiB blocks for the data, each with its Content-MD5.
    const blobs: { name: string; size: number; md5: boolean }[] = [];
    for await (const blob of service.getContainerClient(container).listBlobsFlat({ prefix: 'backups/' })) {
      blobs.push({ name: blob.name, size: blob.properties.contentLength ?? 0, md5: Boolean(blob.properties.contentMD5) });
    }
    const day = `${taken.runId.slice(0, 4)}/${taken.runId.slice(4, 6)}/${taken.runId.slice(6, 8)}`;
    expect(blobs.map((b) => b.name).sort()).toEqual([`backups/${source}/${day}/${taken.runId}/data.pgdump.zst.age`, `backups/${source}/${day}/${taken.runId}/manifest.json`, `backups/${source}/${day}/${taken.runId}/manifest.json.sig`]);
    expect(blobs.every((b) => b.md5)).toBe(true);
    const data = service.getContainerClient(container).getBlockBlobClient(blobs.find((b) => b.name.endsWith('.age'))!.name);
    expect((await data.getBlockList('committed')).committedBlocks?.length).toBeGreaterThanOrEqual(3);

    // The catalog: one entity, PartitionKey = job, RowKey = run id, succeeded.
    const listed = await vaultra(['list', '--from', storeUrl, '--catalog', catalogUrl, '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as RunJson[]).map((r) => [r.runId, r.status])).toEqual([[taken.runId, 'succeeded']]);
    const entity = await TableClient.fromConnectionString(azurite.env.AZURE_STORAGE_CONNECTION_STRING!, table, { allowInsecureConnection: true }).getEntity(source, taken.runId);
    expect(entity).toMatchObject({ status: 'succeeded', kind: 'backup' });

    const verified = await vaultra(['verify', taken.runId, '--from', storeUrl, '--catalog', catalogUrl]);
    expect(verified.code, verified.stderr).toBe(0);

    const target = uniqueDatabaseName('az_to');
    databases.add(target);
    const restore = await vaultra(['restore', taken.runId, '--from', storeUrl, '--catalog', catalogUrl, '--target', urlOf(target), '--json', '--no-progress']);
    expect(restore.code, restore.stderr).toBe(0);
    expect(JSON.parse(restore.stdout) as RestoreJson).toMatchObject({ runId: taken.runId, status: 'restored', bytesRaw: taken.bytesRaw });
    expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, source));
    expect(await schemaObjects(pg, target)).toEqual(await schemaObjects(pg, source));
    expect((await tableFingerprints(pg, target))['public.noise']?.rows).toBe(2560);
  }, 300_000);

  it('restores `latest` found by listing the manifests in Azure Blob, without any catalog', async () => {
    const target = uniqueDatabaseName('az_latest');
    databases.add(target);
    const restore = await vaultra(['restore', 'latest', '--from', storeUrl, '--job', source, '--target', urlOf(target), '--json', '--no-progress']);
    expect(restore.code, restore.stderr).toBe(0);
    expect(await tableFingerprints(pg, target)).toEqual(await tableFingerprints(pg, source));
  }, 300_000);
});

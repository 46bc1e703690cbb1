/**
 * Backups written before the manifest codec (`vaultra.manifest/v1`, test/fixtures/v1, made by
 * make-v1-fixtures.ts with the CLI of commit a25b7ab) restore and verify with today's CLI, forever:
 * SQLite (zstd), a directory tree (gzip) and PostgreSQL (zstd), each encrypted to the fixtures'
 * test-only identity and signed with their test-only signing key, which the restores trust.
 * Nothing here depends on the day: every backup is named by its run id, never `latest` by age.
 */
import { createHash } from 'node:crypto';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { hashTree } from '../support/file-tree.js';
import { createDatabase, dropDatabase, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { sqliteExec } from '../support/sqlite-fixtures.js';
import { PG_CHECK, SQLITE_CHECK, fixtureTree } from '../fixtures/v1/fixture-data.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

const fixtures = new URL('../fixtures/v1/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected.json', fixtures), 'utf8')) as Record<string, { runId: string; answer?: string }>;

/**
 * A workspace holding a copy of the fixtures' storage (a restore records its run in the
 * storage's catalog: the committed files stay untouched) and the fixtures' identity, trusting
 * the fixtures' signing key.
 */
function fixtureWorkspace(root: string, base: NodeJS.ProcessEnv = {}): Workspace {
  const ws = makeWorkspace(root, 'ws', base);
  cpSync(new URL('store', fixtures), ws.store, { recursive: true });
  // The identity alone, without the signing key that sat beside it (a default signing key is
  // trusted by itself): trust comes from VAULTRA_TRUST only, as on a machine that restores
  // someone else's backups. Git keeps no file modes: the identity gets back the CLI's 0600.
  const identity = join(root, 'identity', 'identity.txt');
  cpSync(new URL('keys/identity.txt', fixtures), identity);
  chmodSync(identity, 0o600);
  const publicKey = /^# public key: (\S+)$/m.exec(readFileSync(new URL('keys/signing-key.pem', fixtures), 'utf8'))![1]!;
  return { ...ws, env: { ...ws.env, VAULTRA_IDENTITY: identity, VAULTRA_TRUST: publicKey } };
}

describe('v1 backups made before the manifest codec restore and verify', () => {
  const tools = requireTools('zstd', 'gzip', 'tar', 'sqlite3');
  if (!tools) return;
  let root = '';
  let ws: Workspace;
  const vaultra = (args: string[], env = ws.env): Promise<VaultraResult> => runVaultra(args, { env });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-v1-'));
    ws = fixtureWorkspace(root);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('verifies every fixture: signature, checksums, decryption and the dump itself', async () => {
    for (const [job, { runId }] of Object.entries(expected)) {
      const result = await vaultra(['verify', runId, '--job', job, '--from', ws.storeUrl, '--no-progress']);
      expect(result.code, `${job}: ${result.stderr}`).toBe(0);
    }
  });

  it('lists every fixture with its run id', async () => {
    const result = await vaultra(['list', '--from', ws.storeUrl, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const runIds = (JSON.parse(result.stdout) as { runId: string }[]).map((b) => b.runId).sort();
    expect(runIds).toEqual(Object.values(expected).map((e) => e.runId).sort());
  });

  it('restores the SQLite fixture (zstd) to the same rows', async () => {
    const target = join(root, 'restored.db');
    const result = await vaultra(['restore', expected['sqlite-shop']!.runId, '--job', 'sqlite-shop', '--from', ws.storeUrl, '--target', `sqlite:${target}`, '--no-progress']);
    expect(result.code, result.stderr).toBe(0);
    expect(await sqliteExec(target, SQLITE_CHECK)).toBe(expected['sqlite-shop']!.answer);
  });

  it('restores the directory fixture (gzip) to the same files', async () => {
    const target = join(root, 'restored-tree');
    const result = await vaultra(['restore', expected['docs-tree']!.runId, '--job', 'docs-tree', '--from', ws.storeUrl, '--target', `dir:${target}`, '--no-progress']);
    expect(result.code, result.stderr).toBe(0);
    const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(await hashTree(target)).toEqual(Object.fromEntries(Object.entries(fixtureTree).map(([path, text]) => [path, sha256(text)])));
  });

  it('refuses the fixtures without trust in their signing key: the signature is really checked', async () => {
    const { runId } = expected['sqlite-shop']!;
    const result = await vaultra(['verify', runId, '--job', 'sqlite-shop', '--from', ws.storeUrl, '--no-progress'], { ...ws.env, VAULTRA_TRUST: undefined });
    expect(result.code, result.stderr).toBe(8);
  });
});

describe('the v1 PostgreSQL fixture restores', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_restore', 'psql', 'zstd');
  if (!pg || !tools) return;
  const database = uniqueDatabaseName('v1_fixture');
  let root = '';

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-v1-pg-'));
    await createDatabase(pg, database);
  });
  afterAll(async () => {
    await dropDatabase(pg, database);
    rmSync(root, { recursive: true, force: true });
  });

  it('restores the PostgreSQL fixture (zstd) to the same rows', async () => {
    const ws = fixtureWorkspace(root, pgEnv(pg, 'postgres'));
    const target = `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
    const result = await runVaultra(['restore', expected['pg-shop']!.runId, '--job', 'pg-shop', '--from', ws.storeUrl, '--target', target, '--no-progress'], { env: ws.env });
    expect(result.code, result.stderr).toBe(0);
    expect(await psqlQuery(pg, database, PG_CHECK)).toBe(expected['pg-shop']!.answer);
  });
});

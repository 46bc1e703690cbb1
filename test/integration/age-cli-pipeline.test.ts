/**
 * The promise in the docs: a Vaultra backup can be opened without Vaultra. With default
 * settings the data object is `age(zstd(dump))`, so the standard tools — `age -d`, `zstd -d`,
 * `pg_restore` / a plain file for SQLite — bring the database back. Also: `vaultra keygen`
 * writes an identity file in age-keygen's format, and a backup to its recipient restores
 * with it.
 *
 * Pipelines run under `bash -o pipefail`; paths and passwords reach them through the
 * environment (PGPASSWORD), never argv.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { run, runOk } from '../support/exec.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, schemaObjects, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { pgEnv, pgTool, psqlQuery, quoteLiteral } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { createSqliteFixture, sqliteExec, sqliteFingerprints, sqliteSchemaObjects } from '../support/sqlite-fixtures.js';
import type { BackupJson } from '../support/cli-json.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

/** `bash -o pipefail -c script` with `env`; rejects with stderr unless it exits 0. */
function shell(script: string, env: NodeJS.ProcessEnv): Promise<unknown> {
  return runOk('bash', ['-o', 'pipefail', '-e', '-u', '-c', script], { env, timeoutMs: 120_000 });
}

describe('opening Vaultra backups with the standard tools', () => {
  const tools = requireTools('age', 'age-keygen', 'zstd', 'bash', 'sqlite3');
  if (!tools) return;

  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-age-cli-'));
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe('PostgreSQL', () => {
    const pg = requirePostgres();
    if (!pg) return;
    const source = uniqueDatabaseName('agecli_src');
    const databases = new Set<string>([source]);
    const urlOf = (database: string): string => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
    const newDatabase = (prefix: string): string => {
      const name = uniqueDatabaseName(prefix);
      databases.add(name);
      return name;
    };
    let sourcePrints: Awaited<ReturnType<typeof tableFingerprints>> = {};
    let sourceObjects: string[] = [];

    const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });
    const backup = async (ws: Workspace, extra: string[] = []): Promise<BackupJson> => {
      const result = await vaultra(ws, ['backup', urlOf(source), '--to', ws.storeUrl, '--json', ...extra]);
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout) as BackupJson;
    };

    beforeAll(async () => {
      await createDatabase(pg, source);
      await loadVariedTypesFixture(pg, source);
      sourcePrints = await tableFingerprints(pg, source);
      sourceObjects = await schemaObjects(pg, source);
    });
    afterAll(async () => {
      for (const name of databases) await dropDatabase(pg, name);
    });

    it('age -d | zstd -d | pg_restore restores a default backup without Vaultra', async () => {
      const ws = makeWorkspace(root, 'pg-default', pgEnv(pg));
      const taken = await backup(ws);
      const folder = fileURLToPath(taken.location);
      expect(readdirSync(folder).sort()).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
      // The first backup created the default identity, 0600, in age-keygen's format.
      expect(statSync(ws.identity).mode & 0o777).toBe(0o600);

      const target = newDatabase('agecli_pg');
      await createDatabase(pg, target);
      await shell('age -d -i "$IDENTITY" "$DATA" | zstd -d -q -c | "$PG_RESTORE" --no-password --exit-on-error --single-transaction -d "$TARGET_DB"', {
        ...pgEnv(pg, target),
        IDENTITY: ws.identity,
        DATA: join(folder, 'data.pgdump.zst.age'),
        PG_RESTORE: pgTool(pg, 'pg_restore'),
        TARGET_DB: target,
      });
      expect(await tableFingerprints(pg, target)).toEqual(sourcePrints);
      expect(await schemaObjects(pg, target)).toEqual(sourceObjects);

      // The pipeline really needs the key: another identity cannot open it, and pipefail says so.
      const other = join(ws.dir, 'other.txt');
      await runOk('age-keygen', ['-o', other]);
      const wrongKey = await run('bash', ['-o', 'pipefail', '-c', 'age -d -i "$IDENTITY" "$DATA" | zstd -d -q -c > /dev/null'], {
        env: { ...process.env, IDENTITY: other, DATA: join(folder, 'data.pgdump.zst.age') },
      });
      expect(wrongKey.code).not.toBe(0);
      expect(wrongKey.stderr).toMatch(/no identity matched/i);
    });

    it('vaultra keygen writes an identity age-keygen reads; a backup to its recipient restores with --identity', async () => {
      const ws = makeWorkspace(root, 'pg-keygen', pgEnv(pg));
      const keyFile = join(ws.dir, 'keys', 'backup-key.txt');
      const keygen = await vaultra(ws, ['keygen', '--out', keyFile]);
      expect(keygen.code, keygen.stderr).toBe(0);
      const recipient = keygen.stdout.trim();
      expect(recipient).toMatch(/^age1[0-9a-z]{58}$/);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const derived = await runOk('age-keygen', ['-y', keyFile]);
      expect(derived.stdout.trim()).toBe(recipient);
      // keygen never overwrites an identity.
      const again = await vaultra(ws, ['keygen', '--out', keyFile]);
      expect(again.code).toBe(2);
      expect((await runOk('age-keygen', ['-y', keyFile])).stdout.trim()).toBe(recipient);

      const taken = await backup(ws, ['--recipient', recipient]);
      expect(taken.encryption).toEqual({ format: 'age-v1', recipients: [{ type: 'x25519', recipient }] });

      // Without the identity (this workspace has no default identity) the restore is a key error.
      const noKeyTarget = newDatabase('agecli_nokey');
      const noKey = await vaultra(ws, ['restore', taken.runId, '--from', ws.storeUrl, '--target', urlOf(noKeyTarget)]);
      expect(noKey.code, noKey.stderr).toBe(4);
      // …and leaves no half-restored database behind.
      expect(await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(noKeyTarget)}`)).toBe('0');

      const target = newDatabase('agecli_keygen');
      const restored = await vaultra(ws, ['restore', taken.runId, '--from', ws.storeUrl, '--target', urlOf(target), '--identity', keyFile, '--json']);
      expect(restored.code, restored.stderr).toBe(0);
      expect(await tableFingerprints(pg, target)).toEqual(sourcePrints);

      // And the standard tool opens it with the same file.
      const plain = join(ws.dir, 'dump.pgdump');
      await shell('age -d -i "$IDENTITY" "$DATA" | zstd -d -q -c > "$OUT"', {
        ...process.env,
        IDENTITY: keyFile,
        DATA: join(fileURLToPath(taken.location), 'data.pgdump.zst.age'),
        OUT: plain,
      });
      expect(statSync(plain).size).toBe(taken.bytesRaw);
      const listing = await runOk(pgTool(pg, 'pg_restore'), ['--list', plain]);
      expect(listing.stdout).toMatch(/TABLE DATA sales order_lines/);
    });
  });

  describe('SQLite', () => {
    it('age -d | zstd -d gives back a database file that passes integrity_check with the same content', async () => {
      const ws = makeWorkspace(root, 'sqlite-default');
      const source = join(ws.dir, 'shop.db');
      await createSqliteFixture(source);
      const result = await runVaultra(['backup', `sqlite:${source}`, '--to', ws.storeUrl, '--json'], { env: ws.env });
      expect(result.code, result.stderr).toBe(0);
      const taken = JSON.parse(result.stdout) as BackupJson;
      const folder = fileURLToPath(taken.location);
      expect(readdirSync(folder).sort()).toEqual(['data.sqlite.zst.age', 'manifest.json', 'manifest.json.sig']);

      const opened = join(ws.dir, 'opened.db');
      await shell('age -d -i "$IDENTITY" "$DATA" | zstd -d -q -c > "$OUT"', {
        ...process.env,
        IDENTITY: ws.identity,
        DATA: join(folder, 'data.sqlite.zst.age'),
        OUT: opened,
      });
      expect(statSync(opened).size).toBe(taken.bytesRaw);
      expect(await sqliteExec(opened, 'PRAGMA integrity_check;')).toBe('ok');
      expect(await sqliteFingerprints(opened)).toEqual(await sqliteFingerprints(source));
      expect(await sqliteSchemaObjects(opened)).toEqual(await sqliteSchemaObjects(source));
    });
  });
});

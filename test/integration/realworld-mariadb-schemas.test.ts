/**
 * MariaDB schemas as real databases have them, through the built CLI (`npm run build` first).
 * Each case once failed against a real-world database:
 *
 * - a view whose DEFINER account was dropped: MariaDB then prints its stored text, columns
 *   qualified with the source database, so a restore under any other name (and every drill)
 *   failed with "Unknown column 'shop.t.id'";
 * - a system-versioned table came back without its history (the dump had only current rows);
 * - `--tables` with a wildcard (documented) was refused: "no table or view named t*";
 * - a chunked snapshot left a system-versioned table's rows out entirely: restored empty.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { mysqlEnv, mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import { createMysqlDatabase, dropMysqlDatabase, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { requireMariadb, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

/** `orphan_definer` names an account that does not exist: the view is stored, but unresolvable. */
const REAL_WORLD_SQL = `
CREATE TABLE \`Mixed Case\` (id int PRIMARY KEY, label varchar(20)) DEFAULT CHARSET = utf8mb4;
INSERT INTO \`Mixed Case\` VALUES (1, '😀🎉'), (2, 'ÿ');
CREATE DEFINER = 'vaultra_gone'@'localhost' SQL SECURITY DEFINER VIEW orphan_definer AS SELECT id FROM \`Mixed Case\`;
CREATE VIEW labels AS SELECT label FROM \`Mixed Case\`;
CREATE TABLE prices (id int PRIMARY KEY, amount int) WITH SYSTEM VERSIONING;
INSERT INTO prices VALUES (1, 10);
UPDATE prices SET amount = 11;
UPDATE prices SET amount = 12;
CREATE TABLE \`a.b\` (id int);
INSERT INTO \`a.b\` VALUES (7);
CREATE TABLE \`a.c\` (id int);
INSERT INTO \`a.c\` VALUES (8), (9);
`;

/** A table versioned by transaction id: history mariadb-dump cannot dump. */
const TRANSACTION_PRECISE_SQL = `
CREATE TABLE ledger (id int, s bigint unsigned GENERATED ALWAYS AS ROW START INVISIBLE, e bigint unsigned GENERATED ALWAYS AS ROW END INVISIBLE, PERIOD FOR SYSTEM_TIME (s, e)) ENGINE = InnoDB WITH SYSTEM VERSIONING;
INSERT INTO ledger (id) VALUES (1);
UPDATE ledger SET id = 2;
`;

interface ManifestJson {
  dump: { details?: Record<string, string> };
}

describe('MariaDB: real-world schemas (orphaned DEFINER, system versioning, wildcards)', () => {
  const server = requireMariadb();
  const tools = requireTools('mariadb-dump', 'mariadb', 'zstd');
  if (!server || !tools) return;

  let root = '';
  let ws: Workspace;
  const source = uniqueMysqlName('rw_src');
  const precise = uniqueMysqlName('rw_trx');
  const made: string[] = [];
  const vaultra = (args: string[]): Promise<VaultraResult> => runVaultra(args, { env: { ...mysqlEnv(server), ...ws.env }, cwd: ws.dir, timeoutMs: 180_000 });
  const target = (prefix: string) => {
    const name = uniqueMysqlName(prefix);
    made.push(name);
    return name;
  };
  const restore = (database: string, ...args: string[]) =>
    vaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', 'rw', '--target', mysqlUrl(server, database, { password: false }), '--no-progress', ...args]);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-realworld-mariadb-'));
    ws = makeWorkspace(root, 'ws');
    await createMysqlDatabase(server, source);
    await mysqlQuery(server, source, REAL_WORLD_SQL);
    const backup = await vaultra(['backup', mysqlUrl(server, source, { password: false }), '--job', 'rw', '--to', ws.storeUrl, '--no-progress']);
    expect(backup.code, backup.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const database of [source, precise, ...made]) await dropMysqlDatabase(server, database);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('restores under another name: the orphaned-DEFINER view points at the new database, history and emoji intact', async () => {
    const database = target('rw_copy');

    const result = await restore(database);

    expect(result.code, result.stderr).toBe(0);
    const view = await mysqlQuery(server, database, 'SELECT VIEW_DEFINITION FROM information_schema.VIEWS WHERE TABLE_NAME = "orphan_definer" AND TABLE_SCHEMA = DATABASE()');
    expect(view).toContain(`\`${database}\`.\`Mixed Case\``);
    expect(view).not.toContain(source);
    expect(await mysqlQuery(server, database, 'SELECT count(*) FROM prices FOR SYSTEM_TIME ALL')).toBe('3');
    expect(await mysqlQuery(server, database, 'SELECT amount FROM prices')).toBe('12');
    expect(await mysqlQuery(server, database, 'SELECT HEX(label) FROM `Mixed Case` WHERE id = 1')).toBe(Buffer.from('😀🎉').toString('hex').toUpperCase());
  }, 120_000);

  it('--tables with a wildcard restores the tables it matches, its dry run says which', async () => {
    const database = target('rw_wild');

    const dryRun = await restore(database, '--tables', 'a.*', '--dry-run');
    const result = await restore(database, '--tables', 'a.*');

    expect(dryRun.code, dryRun.stderr).toBe(0);
    expect(dryRun.stdout).toMatch(/would restore +a\.b, a\.c \(2 object\(s\)/);
    expect(result.code, result.stderr).toBe(0);
    expect(await mysqlQuery(server, database, 'SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()')).toBe('a.b,a.c');
    expect(await mysqlQuery(server, database, 'SELECT count(*) FROM `a.c`')).toBe('2');
  }, 120_000);

  it('a chunked snapshot keeps a system-versioned table\'s current rows, and says its history stays out', async () => {
    const database = target('rw_chunk');

    const backup = await vaultra(['backup', mysqlUrl(server, source, { password: false }), '--job', 'rw-chunked', '--chunked', '--to', ws.storeUrl, '--no-progress']);
    const restored = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', 'rw-chunked', '--target', mysqlUrl(server, database, { password: false }), '--no-progress']);

    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stderr).toContain('vaultra: warning: table prices: system-versioned: its current rows only; its history stays out of a chunked snapshot (a plain backup keeps it)');
    expect(restored.code, restored.stderr).toBe(0);
    expect(await mysqlQuery(server, database, 'SELECT id, amount FROM prices')).toBe('1\t12');
  }, 120_000);

  it('a table versioned by transaction id is backed up with its current rows, and the manifest says its history is not', async () => {
    await createMysqlDatabase(server, precise);
    await mysqlQuery(server, precise, TRANSACTION_PRECISE_SQL);

    const backup = await vaultra(['backup', mysqlUrl(server, precise, { password: false }), '--job', 'rw-trx', '--to', ws.storeUrl, '--no-progress']);
    const shown = await vaultra(['show', 'latest', '--from', ws.storeUrl, '--job', 'rw-trx', '--json']);

    expect(backup.code, backup.stderr).toBe(0);
    const manifest = JSON.parse(shown.stdout) as ManifestJson;
    expect(manifest.dump.details?.systemVersionedTables).toBe('ledger: current rows only, not their history (ledger version by transaction id, which mariadb-dump --dump-history cannot dump)');
  }, 120_000);
});

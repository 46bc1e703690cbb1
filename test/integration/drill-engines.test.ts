/**
 * Restore drills of MariaDB, SQLite and directories through the built CLI (`npm run build`
 * first), each into its own scratch target: a throwaway MariaDB started from the installed
 * server, a temp file, a temp folder. A good backup passes with every entry checked; a damaged
 * or incomplete one fails with one line; the scratch target is gone afterwards either way.
 * PostgreSQL and MongoDB have their own files (drill-postgres.test.ts, drill-mongodb.test.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, openSync, readSync, writeSync, closeSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import type { BackupJson } from '../support/cli-json.js';
import { createMysqlDatabase, dropMysqlDatabase, loadMysqlFixture, MYSQL_FIXTURE_ROWS, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { mysqlEnv, mysqlExec, mysqlQuery } from '../support/mysql-client.js';
import { processTable } from '../support/processes.js';
import { requireMariadb, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { writeResignedManifest } from '../support/signing.js';

interface DrillJson {
  status: 'passed' | 'failed';
  scratch: string | null;
  scratchRemoved: boolean;
  checks: { kind: string; name: string; passed: boolean; detail: string }[];
}

const errorLines = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('vaultra: error:'));

/** Scratch targets of drills (folders named vaultra-drill-*, servers started on them) that were not there before. */
function leftovers(before: ReadonlySet<string>): string[] {
  const folders = [...new Set(['/tmp', tmpdir()])].flatMap((dir) => readdirSync(dir).filter((name) => /^vaultra-drill-(mysql|sqlite|dir)-/.test(name)).map((name) => join(dir, name)));
  const servers = processTable().filter((p) => p.argv.some((arg) => /vaultra-drill-(mysql|sqlite|dir)-/.test(arg))).map((p) => `pid ${p.pid}`);
  return [...folders, ...servers].filter((item) => !before.has(item));
}

function flipByte(path: string): void {
  const offset = Math.floor(statSync(path).size / 2);
  const fd = openSync(path, 'r+');
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, offset);
  byte[0] = byte[0]! ^ 0xff;
  writeSync(fd, byte, 0, 1, offset);
  closeSync(fd);
}

describe('vaultra drill: MariaDB, SQLite, directories', () => {
  const tools = requireTools('zstd', 'sqlite3', 'tar');
  if (!tools) return;

  let root = '';
  const before = new Set<string>();
  const vaultra = (ws: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): Promise<VaultraResult> => runVaultra(args, { env: { ...ws.env, ...env }, cwd: ws.dir, timeoutMs: 180_000 });
  const backup = async (ws: Workspace, source: string, job: string, env: NodeJS.ProcessEnv = {}): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', source, '--job', job, '--to', ws.storeUrl, '--json', '--no-progress'], env);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };
  const drill = async (ws: Workspace, job: string, env: NodeJS.ProcessEnv = {}, extra: string[] = []) => {
    const result = await vaultra(ws, ['drill', 'latest', '--job', job, '--from', ws.storeUrl, '--json', '--no-progress', ...extra], env);
    return { result, json: JSON.parse(result.stdout || '{}') as DrillJson };
  };

  beforeAll(() => {
    for (const item of leftovers(new Set())) before.add(item);
    root = mkdtempSync(join(tmpdir(), 'vaultra-drilltest-engines-'));
  });
  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  describe('MariaDB', () => {
    const server = requireMariadb();
    if (!server) return;
    const database = uniqueMysqlName('drill');
    afterAll(async () => {
      await dropMysqlDatabase(server, database).catch(() => undefined);
    });

    it('drills into a throwaway MariaDB: every table with its count, views, routines, triggers, events, and a user check', async () => {
      const ws = makeWorkspace(root, 'mariadb');
      await createMysqlDatabase(server, database);
      await loadMysqlFixture(server, database);
      const env = mysqlEnv(server);
      await backup(ws, `mariadb://${server.user}@${server.host}:${server.port}/${database}`, 'shop', env);
      const { result, json } = await drill(ws, 'shop', env, ['--check', 'select count(*) from customers => 2000']);
      expect(result.code, result.stderr).toBe(0);
      expect(json).toMatchObject({ status: 'passed', scratchRemoved: true });
      expect(json.scratch).toMatch(/^throwaway MariaDB \d+\.\d+/);
      for (const [table, rows] of Object.entries(MYSQL_FIXTURE_ROWS)) {
        expect(json.checks).toContainEqual({ kind: 'contents', name: `table ${table}`, passed: true, detail: `${rows} rows, as recorded` });
      }
      expect(json.checks.filter((check) => check.kind === 'contents' && !check.name.startsWith('table ')).length).toBeGreaterThan(0);
      expect(json.checks.find((check) => check.kind === 'schema')!.detail).toMatch(/triggers/);
      expect(json.checks.at(-1)).toEqual({ kind: 'user', name: '--check 1', passed: true, detail: 'returned "2000"' });
      expect(leftovers(before)).toEqual([]);
    }, 240_000);

    it('drills into a new database on a named server (a scheduled drill\'s sidecar), drops it, and refuses one that exists', async () => {
      const ws = makeWorkspace(root, 'mariadb-scratch');
      const env = mysqlEnv(server);
      await backup(ws, `mariadb://${server.user}@${server.host}:${server.port}/${database}`, 'shop', env);
      const scratch = uniqueMysqlName('drill_scratch');
      const { result, json } = await drill(ws, 'shop', env, ['--scratch', `mariadb://${server.user}@${server.host}:${server.port}/${scratch}`]);
      expect(result.code, result.stderr).toBe(0);
      expect(json).toMatchObject({ status: 'passed', scratch: `scratch database ${server.host}:${server.port}/${scratch}`, scratchRemoved: true });
      expect(json.checks).toContainEqual({ kind: 'contents', name: 'table customers', passed: true, detail: `${MYSQL_FIXTURE_ROWS.customers} rows, as recorded` });
      expect(await mysqlQuery(server, undefined, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${scratch}'`)).toBe('0');
      const refused = await drill(ws, 'shop', env, ['--scratch', `mariadb://${server.user}@${server.host}:${server.port}/${database}`]);
      expect(refused.result.code).toBe(6);
      expect(errorLines(refused.result.stderr)).toEqual([expect.stringMatching(new RegExp(`^vaultra: error: scratch database ${server.host}:${server.port}/${database} already exists: name a database that does not exist`))]);
      expect(await mysqlQuery(server, undefined, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${database}'`)).toBe('1');
    }, 240_000);

    it('fails a drill whose restore lost rows a re-signed manifest still counts', async () => {
      const ws = makeWorkspace(root, 'mariadb-lost');
      const env = mysqlEnv(server);
      const lost = uniqueMysqlName('drill_lost');
      await createMysqlDatabase(server, lost);
      try {
        await loadMysqlFixture(server, lost);
        expect((await mysqlExec(server, lost, 'DELETE FROM legacy')).code).toBe(0);
        const run = await backup(ws, `mariadb://${server.user}@${server.host}:${server.port}/${lost}`, 'shop', env);
        const manifestPath = join(fileURLToPath(run.location), 'manifest.json');
        const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { contents: { name: string; rows?: number }[] };
        manifest.contents.find((entry) => entry.name === 'legacy')!.rows = MYSQL_FIXTURE_ROWS.legacy;
        writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
        rmSync(`${manifestPath}.sig`);
        const resigned = await vaultra(ws, ['verify', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--trust-unsigned', '--no-progress'], env);
        expect(resigned.code, resigned.stderr).toBe(0);
        const { result, json } = await drill(ws, 'shop', env);
        expect(result.code).toBe(3);
        expect(errorLines(result.stderr)).toEqual([expect.stringMatching(new RegExp(`drill checks failed: table legacy: 0 rows restored; the backup counted ${MYSQL_FIXTURE_ROWS.legacy}$`))]);
        expect(json).toMatchObject({ status: 'failed', scratchRemoved: true });
        expect(leftovers(before)).toEqual([]);
      } finally {
        await dropMysqlDatabase(server, lost).catch(() => undefined);
      }
    }, 240_000);
  });

  describe('SQLite', () => {
    it('drills a good backup, and fails a tampered one with one line', async () => {
      const ws = makeWorkspace(root, 'sqlite');
      const db = join(ws.dir, 'shop.db');
      const sql = "create table items(id integer primary key, name text); insert into items(name) select 'item ' || value from generate_series(1, 500); create view cheap as select * from items where id < 10; create index items_name on items(name); create trigger items_touch after update on items begin select 1; end;";
      expect(spawnSync('sqlite3', [db], { input: sql }).status).toBe(0);
      const good = await backup(ws, `sqlite:${db}`, 'shop');
      const passed = await drill(ws, 'shop', {}, ['--check', 'select count(*) from cheap => 9']);
      expect(passed.result.code, passed.result.stderr).toBe(0);
      expect(passed.json.checks).toEqual([
        { kind: 'contents', name: 'view cheap', passed: true, detail: 'present' },
        { kind: 'contents', name: 'table items', passed: true, detail: '500 rows, as recorded' },
        { kind: 'checksum', name: 'checksum of table items', passed: true, detail: 'sha3-256 as recorded' },
        { kind: 'schema', name: 'schema objects', passed: true, detail: '1 views, 1 triggers, 1 indexes restored' },
        { kind: 'user', name: '--check 1', passed: true, detail: 'returned "9"' },
      ]);
      const folder = fileURLToPath(good.location);
      flipByte(join(folder, readdirSync(folder).find((name) => name.startsWith('data.'))!));
      const tampered = await drill(ws, 'shop');
      expect(tampered.result.code).toBe(3);
      expect(errorLines(tampered.result.stderr)).toHaveLength(1);
      expect(tampered.json).toMatchObject({ status: 'failed', scratchRemoved: true });
      expect(leftovers(before)).toEqual([]);
    }, 120_000);
  });

  describe('SQLite: a table the manifest lists and the dump lost', () => {
    it('fails when the manifest says N tables and the data has N-1 (the structural check alone let it through)', async () => {
      const ws = makeWorkspace(root, 'sqlite-lost');
      const db = join(ws.dir, 'shop.db');
      expect(spawnSync('sqlite3', [db], { input: "create table items(id integer primary key); insert into items select value from generate_series(1, 50);" }).status).toBe(0);
      const run = await backup(ws, `sqlite:${db}`, 'shop');
      const manifestPath = join(fileURLToPath(run.location), 'manifest.json');
      const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { contents: object[] };
      manifest.contents.push({ kind: 'table', name: 'payments', rows: 1200, rowsExact: true });
      writeFileSync(manifestPath, JSON.stringify(manifest));
      rmSync(`${manifestPath}.sig`);
      const resigned = await vaultra(ws, ['verify', 'latest', '--job', 'shop', '--from', ws.storeUrl, '--trust-unsigned', '--no-progress']);
      expect(resigned.code, resigned.stderr).toBe(0);
      const { result, json } = await drill(ws, 'shop');
      expect(result.code).toBe(3);
      expect(errorLines(result.stderr)).toEqual(['vaultra: error: 1 of 4 drill checks failed: table payments: missing from the restore: the backup lists it']);
      expect(json).toMatchObject({ status: 'failed', scratchRemoved: true });
      expect(leftovers(before)).toEqual([]);
    }, 120_000);
  });

  describe('SQLite: per-table checksums recorded at backup time', () => {
    it('fails a restore whose rows are all there with other values (the counts alone let it through)', async () => {
      // Two real backups: the second after an update that changes values, not rows. The first's
      // manifest then carries the second's checksums, signed again with the workspace's key: a
      // backup whose data is not what its manifest recorded, with every count still right.
      const ws = makeWorkspace(root, 'sqlite-checksums');
      const db = join(ws.dir, 'shop.db');
      expect(spawnSync('sqlite3', [db], { input: "create table items(id integer primary key, price real); insert into items select value, value * 1.5 from generate_series(1, 200); create table tags(name text primary key) without rowid; insert into tags values ('a'), ('b');" }).status).toBe(0);
      const first = await backup(ws, `sqlite:${db}`, 'shop');
      expect(spawnSync('sqlite3', [db], { input: 'update items set price = price + 0.01 where id = 7;' }).status).toBe(0);
      const second = await backup(ws, `sqlite:${db}`, 'shop');
      const manifestOf = (run: BackupJson) => join(fileURLToPath(run.location), 'manifest.json');
      const recorded = (run: BackupJson) => (JSON.parse(readFileSync(manifestOf(run), 'utf8')) as { dump: { details: { tableChecksums: string } } }).dump.details.tableChecksums;
      expect(JSON.parse(recorded(first))).toEqual({ items: expect.stringMatching(/^sha3-256:[0-9a-f]{64}$/), tags: expect.stringMatching(/^sha3-256:[0-9a-f]{64}$/) });
      expect(JSON.parse(recorded(second)).tags).toBe(JSON.parse(recorded(first)).tags);
      expect(JSON.parse(recorded(second)).items).not.toBe(JSON.parse(recorded(first)).items);

      const manifest = JSON.parse(readFileSync(manifestOf(first), 'utf8')) as { dump: { details: Record<string, string> } };
      manifest.dump.details.tableChecksums = recorded(second);
      const folder = fileURLToPath(first.location);
      await writeResignedManifest({ write: (key, bytes) => writeFile(join(ws.store, key), bytes) }, ws, `${folder.slice(ws.store.length + 1)}/manifest.json`, JSON.stringify(manifest));
      // The second backup, as recorded, passes with both checksums; the first, edited, fails on one.
      const { result, json } = await drill(ws, 'shop', {}, []);
      expect(result.code, result.stderr).toBe(0);
      const edited = await vaultra(ws, ['drill', first.runId, '--job', 'shop', '--from', ws.storeUrl, '--json', '--no-progress']);
      expect(edited.code).toBe(3);
      expect(errorLines(edited.stderr)).toEqual(['vaultra: error: 1 of 5 drill checks failed: checksum of table items: sha3-256 of the restored rows differs from the backup\'s: their values are not the ones backed up']);
      const checks = (JSON.parse(edited.stdout) as DrillJson).checks;
      expect(checks.filter((check) => check.kind === 'contents').every((check) => check.passed)).toBe(true);
      expect(checks).toContainEqual({ kind: 'checksum', name: 'checksum of table tags', passed: true, detail: 'sha3-256 as recorded' });
      expect(json.checks.filter((check) => check.kind === 'checksum').map((check) => check.passed)).toEqual([true, true]);
      expect(leftovers(before)).toEqual([]);
    }, 120_000);
  });

  describe('directories', () => {
    it('drills a directory backup: every top-level entry with its files and bytes', async () => {
      const ws = makeWorkspace(root, 'dir');
      const tree = join(ws.dir, 'uploads');
      mkdirSync(join(tree, 'images', 'thumbs'), { recursive: true });
      writeFileSync(join(tree, 'images', 'a.png'), Buffer.alloc(3000, 1));
      writeFileSync(join(tree, 'images', 'thumbs', 'a.png'), Buffer.alloc(300, 2));
      writeFileSync(join(tree, 'readme.txt'), 'hello\n');
      await backup(ws, `dir:${tree}`, 'uploads');
      const { result, json } = await drill(ws, 'uploads');
      expect(result.code, result.stderr).toBe(0);
      expect(json.checks.filter((check) => check.kind === 'contents')).toEqual([
        { kind: 'contents', name: 'directory images', passed: true, detail: '2 file(s), 3300 bytes' },
        { kind: 'contents', name: 'file readme.txt', passed: true, detail: '1 file(s), 6 bytes' },
      ]);
      const refused = await drill(ws, 'uploads', {}, ['--check', 'select 1 => 1']);
      expect(refused.result.code).toBe(3);
      expect(errorLines(refused.result.stderr)).toEqual(['vaultra: error: 1 of 4 drill checks failed: --check 1: a directory backup has no query language: its drill checks are the manifest\'s entries, files and bytes']);
      expect(leftovers(before)).toEqual([]);
    }, 120_000);
  });
});

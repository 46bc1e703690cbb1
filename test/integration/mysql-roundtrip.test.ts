/**
 * MySQL/MariaDB round trips against the run's real MariaDB server and the real tools
 * (`mariadb-dump`, `mariadb`): through the built CLI (backup → list → verify → restore into a
 * new database, compared table by table — row counts, CHECKSUM TABLE, MD5 of the ordered rows —
 * and object by object, then the view, trigger, function, procedure, event and sequence put to
 * work), gzip, refusal and --force, selective restore, dry runs, a backup under concurrent
 * writes, and the use cases (`runBackup`/`runRestore`) directly, reading the plaintext dump to
 * see the GTID position it carries.
 *
 * Every test has its own temp folder (store, identity, state).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlEngine } from '../../core/adapters/engines/mysql/mysql-engine.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { AgeDecryptor, AgeEncryptor, NoEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { manifestSchema } from '../../core/domain/manifest.js';
import { manifestKey } from '../../core/domain/object-layout.js';
import { runBackup } from '../../core/usecases/backup.js';
import { runRestore } from '../../core/usecases/restore.js';
import { openBackupStages } from '../../core/usecases/read-backup.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import type { BackupJson, RestoreJson } from '../support/cli-json.js';
import { mysqlEnv, mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import {
  MYSQL_ACCOUNTS_TOTAL,
  MYSQL_FIXTURE_ROWS,
  createMysqlDatabase,
  dropMysqlDatabase,
  loadMysqlFixture,
  mysqlAccountsTotal,
  mysqlDatabaseExists,
  mysqlFingerprints,
  mysqlSchemaObjects,
  startMysqlWriter,
  uniqueMysqlName,
} from '../support/mysql-fixtures.js';
import { waitFor } from '../support/pg-fixtures.js';
import { requireMariadb, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { testSigning } from '../support/signing.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';

/** Signs this file's backups; restores and verifies trust it. */
const signing = testSigning();

interface MysqlManifest {
  runId: string;
  source: { engine: string; database: string; serverVersion: string };
  dump: { tool: string; toolVersion: string; format: string; consistency: string; details?: Record<string, string> };
  compression: { id: string };
  objects: { name: string; sizeBytes: number; sha256: string }[];
  contents: { kind: string; name: string; rows?: number; rowsExact?: boolean }[];
}

describe('mysql round trip', () => {
  const server = requireMariadb();
  const tools = requireTools('mariadb', 'mariadb-dump', 'zstd');
  if (!server || !tools) return;

  const source = uniqueMysqlName('my_src');
  const databases = new Set<string>([source]);
  let root = '';
  let sourcePrints: Awaited<ReturnType<typeof mysqlFingerprints>> = {};
  let sourceObjects: string[] = [];
  /** One backup of the fixture, shared by the tests that only read it. */
  let shared: { ws: Workspace; taken: BackupJson };

  const newDatabase = (prefix: string): string => {
    const name = uniqueMysqlName(prefix);
    databases.add(name);
    return name;
  };
  const workspace = (name: string): Workspace => makeWorkspace(root, name, mysqlEnv(server, { MYSQL_PWD: undefined }));
  const vaultra = (ws: Workspace, args: string[], env: NodeJS.ProcessEnv = {}): Promise<VaultraResult> => runVaultra(args, { env: { ...ws.env, ...env } });

  const backup = async (ws: Workspace, database: string, extra: string[] = []): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', mysqlUrl(server, database), '--to', ws.storeUrl, '--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };
  const restore = (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<VaultraResult> =>
    vaultra(ws, ['restore', ref, '--from', ws.storeUrl, '--target', mysqlUrl(server, target), ...extra]);
  const restoreOk = async (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<RestoreJson & { structure?: string }> => {
    const result = await restore(ws, ref, target, ['--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RestoreJson;
  };
  const runFolderOf = (ws: Workspace, job: string, runId: string): string => join(ws.store, job, runId.slice(0, 4), runId.slice(4, 6), runId.slice(6, 8), runId);
  const readManifest = (ws: Workspace, job: string, runId: string): MysqlManifest => JSON.parse(readFileSync(join(runFolderOf(ws, job, runId), 'manifest.json'), 'utf8')) as MysqlManifest;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-mysql-rt-'));
    await createMysqlDatabase(server, source);
    await loadMysqlFixture(server, source);
    sourcePrints = await mysqlFingerprints(server, source);
    sourceObjects = await mysqlSchemaObjects(server, source);
    const ws = workspace('shared');
    shared = { ws, taken: await backup(ws, source) };
  });

  afterAll(async () => {
    for (const name of databases) await dropMysqlDatabase(server, name).catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up (zstd, age), lists, verifies and restores into a new database: every table and object equal', async () => {
    const { ws, taken } = shared;
    expect(taken).toMatchObject({ job: source, status: 'succeeded', engine: 'mysql' });
    expect(existsSync(join(runFolderOf(ws, source, taken.runId), 'data.sql.zst.age'))).toBe(true);
    const manifest = readManifest(ws, source, taken.runId);
    expect(manifest.source).toMatchObject({ engine: 'mysql', database: source, serverVersion: server.serverVersion });
    expect(manifest.dump).toMatchObject({ tool: 'mariadb-dump', format: 'mysqldump-sql', toolVersion: expect.stringMatching(/MariaDB/) });
    expect(manifest.dump.consistency).toMatch(/--single-transaction.*InnoDB.*non-transactional tables .* not covered/);
    expect(manifest.dump.details).toMatchObject({
      serverFlavor: 'MariaDB',
      binaryLog: 'on',
      gtidBinlogPosBeforeDump: expect.stringMatching(/^\d+-\d+-\d+/),
      gtidHandling: expect.stringContaining('--master-data=2 --gtid'),
      nonTransactionalTables: 'legacy (MyISAM)',
      floatColumns: expect.stringMatching(/^floats\.f: FLOAT values are dumped as the server prints them/),
    });
    // Small tables are counted exactly; the MyISAM one is exact anyway.
    for (const [table, rows] of Object.entries(MYSQL_FIXTURE_ROWS)) {
      expect(manifest.contents.find((c) => c.name === table), table).toEqual({ kind: 'table', name: table, rows, rowsExact: true });
    }
    expect(manifest.contents.filter((c) => c.kind !== 'table')).toEqual([
      { kind: 'view', name: 'big_spenders' },
      { kind: 'sequence', name: 'invoice_numbers' },
      { kind: 'routine', name: 'add_order' },
      { kind: 'routine', name: 'customer_total' },
      { kind: 'event', name: 'nightly_note' },
    ]);
    expect(JSON.stringify(manifest)).not.toContain(server.password);

    const listed = await vaultra(ws, ['list', '--from', ws.storeUrl, '--json']);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ runId: taken.runId, engine: 'mysql', status: 'succeeded' })]);
    const verified = await vaultra(ws, ['verify', taken.runId, '--from', ws.storeUrl, '--json']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ structure: 'SQL stream complete; 8 table section(s), 1 sequence(s), 1 view(s), 2 routine(s), 1 event(s)' });

    const target = newDatabase('my_full');
    const restored = await restoreOk(ws, taken.runId, target);
    expect(restored).toMatchObject({ engine: 'mysql', dryRun: false, status: 'restored', replaced: [], bytesRaw: taken.bytesRaw });
    expect(await mysqlFingerprints(server, target)).toEqual(sourcePrints);
    expect(await mysqlSchemaObjects(server, target)).toEqual(sourceObjects);
    expect(sourceObjects).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^big_spenders:view-definition:/),
        expect.stringMatching(/^orders\.orders_after_insert:trigger:AFTER INSERT:/),
        expect.stringMatching(/^customer_total:function:/),
        expect.stringMatching(/^add_order:procedure:/),
        expect.stringMatching(/^nightly_note:event:ENABLED:1 DAY:/),
        expect.stringMatching(/^invoice_numbers:sequence:/),
        'orders.orders_customer_fk:foreign-key:customers',
        'legacy:base table:MyISAM',
      ]),
    );

    // The restored objects work. The view:
    const spenders = 'SELECT COUNT(*), SUM(spent) FROM big_spenders';
    expect(await mysqlQuery(server, target, spenders)).toBe(await mysqlQuery(server, source, spenders));
    // the procedure, through the trigger it fires, and the function:
    await mysqlQuery(server, target, 'CALL add_order(900001, 7, 12.34)');
    expect(await mysqlQuery(server, target, 'SELECT order_id, total FROM orders_audit')).toBe('900001\t12.34');
    const before = Number(await mysqlQuery(server, source, 'SELECT customer_total(7)'));
    expect(Number(await mysqlQuery(server, target, 'SELECT customer_total(7)'))).toBeCloseTo(before + 12.34, 2);
    // the sequence goes on from the source's next value not yet cached (as after a server
    // restart: values may be skipped, never handed out twice):
    const [sourceNext, targetNext] = await Promise.all([source, target].map((db) => mysqlQuery(server, db, 'SELECT NEXTVAL(invoice_numbers)').then(Number)));
    expect(targetNext).toBeGreaterThan(sourceNext!);
    // the event runs (the test server's scheduler is on; its own schedule starts in 2037):
    await mysqlQuery(server, target, 'ALTER EVENT nightly_note ON SCHEDULE AT CURRENT_TIMESTAMP ON COMPLETION PRESERVE');
    await waitFor(async () => (await mysqlQuery(server, target, 'SELECT COUNT(*) FROM event_log')) === '1', 10_000, 'the restored event to run');
  });

  it('round trips with gzip, the password coming from MYSQL_PWD instead of the URL', async () => {
    const ws = workspace('gzip');
    const env = { MYSQL_PWD: server.password };
    const made = await vaultra(ws, ['backup', mysqlUrl(server, source, { password: false, scheme: 'mysql' }), '--to', ws.storeUrl, '--compression', 'gzip', '--json'], env);
    expect(made.code, made.stderr).toBe(0);
    const taken = JSON.parse(made.stdout) as BackupJson;
    expect(readManifest(ws, source, taken.runId).objects).toEqual([expect.objectContaining({ name: 'data.sql.gz.age' })]);
    const target = newDatabase('my_gzip');
    const restored = await vaultra(ws, ['restore', taken.runId, '--from', ws.storeUrl, '--target', mysqlUrl(server, target, { password: false }), '--json'], env);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await mysqlFingerprints(server, target)).toEqual(sourcePrints);
  });

  it('refuses a non-empty target without --force (exit 6, unchanged) and replaces what the backup holds with --force', async () => {
    const { ws, taken } = shared;
    const target = newDatabase('my_force');
    await restoreOk(ws, taken.runId, target);
    await mysqlQuery(server, target, "UPDATE customers SET name = 'changed' WHERE id = 7; DELETE FROM orders_audit; DELETE FROM orders WHERE id = 10; CREATE TABLE extra (id INT);");
    const before = await mysqlFingerprints(server, target);
    const beforeObjects = await mysqlSchemaObjects(server, target);

    const refused = await restore(ws, taken.runId, target);
    expect(refused.code, refused.stderr).toBe(6);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/^vaultra: error: restore target .* already holds \d+ object\(s\) .*--force/);
    expect(refused.stderr).not.toContain(server.password);
    expect(await mysqlFingerprints(server, target)).toEqual(before);
    expect(await mysqlSchemaObjects(server, target)).toEqual(beforeObjects);

    const forced = await restoreOk(ws, taken.runId, target, ['--force']);
    expect(forced.replaced).toEqual(expect.arrayContaining(['customers', 'orders', 'big_spenders', 'customer_total', 'nightly_note']));
    const { extra, ...restoredTables } = await mysqlFingerprints(server, target);
    expect(extra?.rows).toBe(0);
    expect(restoredTables).toEqual(sourcePrints);
  });

  it('restores only the named tables (--tables), into a new database and into one that has the rest', async () => {
    const { ws, taken } = shared;
    const target = newDatabase('my_some');
    const some = await restoreOk(ws, taken.runId, target, ['--tables', 'customers,orders']);
    expect(some.restored.map((c) => c.name).sort()).toEqual(['customers', 'orders']);
    const prints = await mysqlFingerprints(server, target);
    expect(Object.keys(prints).sort()).toEqual(['customers', 'orders']);
    expect(prints.customers).toEqual(sourcePrints.customers);
    expect(prints.orders).toEqual(sourcePrints.orders);
    // The table's trigger came with it; routines, events, views did not.
    expect(await mysqlSchemaObjects(server, target)).toEqual(sourceObjects.filter((o) => /^(customers|orders)[.:]/.test(o)));

    // Into a database that still has everything else: no --force needed, the rest untouched.
    const full = newDatabase('my_some_full');
    await restoreOk(ws, taken.runId, full);
    await mysqlQuery(server, full, "SET FOREIGN_KEY_CHECKS = 0; DROP TABLE blobs; UPDATE customers SET name = 'kept' WHERE id = 1;");
    const untouched = await mysqlFingerprints(server, full);
    const one = await restoreOk(ws, taken.runId, full, ['--tables', 'blobs']);
    expect(one.replaced).toEqual([]);
    const after = await mysqlFingerprints(server, full);
    expect(after.blobs).toEqual(sourcePrints.blobs);
    const { blobs: _restored, ...rest } = after;
    expect(rest).toEqual(untouched);

    // A name the backup does not hold: exit 5 before anything is read or written.
    const missing = newDatabase('my_missing');
    const none = await restore(ws, taken.runId, missing, ['--tables', 'customers,no_such_table']);
    expect(none.code, none.stderr).toBe(5);
    expect(none.stderr).toMatch(/no_such_table/);
    expect(await mysqlDatabaseExists(server, missing)).toBe(false);
  });

  it('--dry-run reads and checks the whole backup, reports what it would replace, and writes nothing', async () => {
    const { ws, taken } = shared;
    const target = newDatabase('my_dry');
    await restoreOk(ws, taken.runId, target);
    await mysqlQuery(server, target, "UPDATE customers SET name = 'dry run must not undo this' WHERE id = 3; DROP VIEW big_spenders;");
    const before = await mysqlFingerprints(server, target);
    const beforeObjects = await mysqlSchemaObjects(server, target);

    const dry = await restoreOk(ws, taken.runId, target, ['--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, status: 'checked', bytesRaw: taken.bytesRaw, structure: expect.stringMatching(/^SQL stream complete; 8 table section\(s\)/) });
    expect(dry.replaced).toEqual(expect.arrayContaining(['customers', 'orders', 'customer_total', 'nightly_note', 'invoice_numbers']));
    expect(dry.replaced).not.toContain('big_spenders');
    expect(await mysqlFingerprints(server, target)).toEqual(before);
    expect(await mysqlSchemaObjects(server, target)).toEqual(beforeObjects);

    const one = await restoreOk(ws, taken.runId, target, ['--dry-run', '--tables', 'customers']);
    expect(one).toMatchObject({ dryRun: true, restored: [{ kind: 'table', name: 'customers' }], replaced: ['customers'] });
    expect(await mysqlFingerprints(server, target)).toEqual(before);

    const absent = newDatabase('my_dry_absent');
    expect(await restoreOk(ws, taken.runId, absent, ['--dry-run'])).toMatchObject({ dryRun: true, replaced: [] });
    expect(await mysqlDatabaseExists(server, absent)).toBe(false);
  });

  it('takes one consistent snapshot while a writer commits transfers', async () => {
    const db = newDatabase('my_busy');
    await createMysqlDatabase(server, db);
    // Big enough that the dump takes a moment while the writer keeps committing.
    await mysqlQuery(server, db, "CREATE TABLE events (id INT PRIMARY KEY, h CHAR(32) NOT NULL, pad VARCHAR(200) NOT NULL) ENGINE=InnoDB; INSERT INTO events SELECT seq, MD5(seq), REPEAT(CHAR(97 + seq % 26), 150) FROM seq_1_to_200000;");
    const writer = await startMysqlWriter(server, db, { pauseMs: 1 });
    const ticks = () => mysqlQuery(server, db, `SELECT COUNT(*) FROM ticker WHERE payload LIKE '${writer.tag}:%'`).then(Number);
    const ws = workspace('busy');
    let taken: BackupJson;
    let countBefore: number;
    let countAfter: number;
    try {
      countBefore = await ticks();
      taken = await backup(ws, db);
      countAfter = await ticks();
    } finally {
      await writer.stop();
    }
    expect(countAfter).toBeGreaterThan(countBefore);
    expect(await mysqlAccountsTotal(server, db)).toBe(MYSQL_ACCOUNTS_TOTAL);

    const target = newDatabase('my_busy_to');
    await restoreOk(ws, taken.runId, target);
    expect(await mysqlAccountsTotal(server, target)).toBe(MYSQL_ACCOUNTS_TOTAL);
    const restoredTicks = (await mysqlQuery(server, target, `SELECT SUBSTRING_INDEX(payload, ':', -1) + 0 AS n FROM ticker WHERE payload LIKE '${writer.tag}:%' ORDER BY n`)).split('\n').map(Number);
    expect(restoredTicks.length).toBeGreaterThanOrEqual(countBefore);
    expect(restoredTicks.length).toBeLessThanOrEqual(countAfter);
    // One snapshot: the writer's transactions 1..N, no gap, and exactly their transfers.
    expect(restoredTicks).toEqual(Array.from({ length: restoredTicks.length }, (_, k) => k + 1));
    let moved = 0;
    for (const i of restoredTicks) moved += (i % 13) - 6;
    expect(await mysqlQuery(server, target, 'SELECT balance FROM accounts ORDER BY id')).toBe(`${MYSQL_ACCOUNTS_TOTAL / 2 - moved}\n${MYSQL_ACCOUNTS_TOTAL / 2 + moved}`);
    const events = 'SELECT COUNT(*), MD5(GROUP_CONCAT(id, h, pad ORDER BY id)) FROM events';
    expect(await mysqlQuery(server, target, `SET SESSION group_concat_max_len = 1 << 30; ${events}`)).toBe(await mysqlQuery(server, db, `SET SESSION group_concat_max_len = 1 << 30; ${events}`));
  });

  it('runBackup and runRestore (use cases): the dump carries the snapshot GTID position, commented, and restores under another name', async () => {
    const dir = mkdtempSync(join(root, 'usecase-'));
    const key = generateX25519Identity();
    const storage = new FileStorageBackend(join(dir, 'store'));
    const catalog = new LocalCatalog(join(dir, 'catalog'));
    const engine = new MysqlEngine();
    const made = await runBackup(
      { engine, storage, catalog, compressor: await createCompressor('zstd'), encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]), signer: signing.signer },
      { source: mysqlUrl(server, source), job: 'usecase' },
    );
    expect(made.run.status, String(made.error)).toBe('succeeded');
    const manifest = manifestSchema.parse(made.manifest);
    const gtid = manifest.dump.details?.gtidBinlogPosBeforeDump ?? '';
    expect(gtid).toMatch(/^\d+-\d+-\d+/);

    // The plaintext: MariaDB's snapshot position, commented out, and nothing that names the database.
    const decryptor = new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]);
    const chunks: Buffer[] = [];
    await pipeline(...(await openBackupStages({ storage, decryptor, ...backupAdapters }, { manifest, manifestKey: manifestKey('usecase', manifest.runId) })), new Writable({ write: (chunk: Buffer, _e, cb) => (chunks.push(chunk), cb()) }));
    const sql = Buffer.concat(chunks).toString('utf8');
    expect(sql).toMatch(/^-- SET GLOBAL gtid_slave_pos='\d+-\d+-\d+';$/m);
    expect(sql).not.toMatch(/^SET GLOBAL gtid_slave_pos/m);
    expect(sql).not.toMatch(/^(CREATE DATABASE|USE )/m);
    expect(sql.trimEnd()).toMatch(/-- Dump completed on .*$/);

    const target = newDatabase('my_usecase');
    const slavePos = await mysqlQuery(server, undefined, 'SELECT @@gtid_slave_pos');
    const report = await runRestore({ storage, catalog, decryptor, trust: signing.trust, ...backupAdapters }, { ref: 'latest', target: mysqlUrl(server, target) });
    expect(report).toMatchObject({ dryRun: false, replaced: [] });
    expect(await mysqlFingerprints(server, target)).toEqual(sourcePrints);
    expect(await mysqlSchemaObjects(server, target)).toEqual(sourceObjects);
    // The restore did not touch the server's replication state.
    expect(await mysqlQuery(server, undefined, 'SELECT @@gtid_slave_pos')).toBe(slavePos);
    expect((await catalog.list({ job: 'usecase' })).map((r) => `${r.kind}:${r.status}`).sort()).toEqual(['backup:succeeded', 'restore:succeeded']);
  });
  it('describe counts small tables exactly in one client call, whatever their names hold', async () => {
    // Prepare: names with a backquote, a quote, a backslash and non-ASCII letters
    const db = newDatabase('my_names');
    await mysqlQuery(server, undefined, `CREATE DATABASE ${db}`);
    await mysqlQuery(server, db, "CREATE TABLE `we``ird 'é\\` (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO `we``ird 'é\\` VALUES (1), (2), (3); CREATE TABLE plain (id INT) ENGINE=InnoDB;");
    // Act
    const engine = new MysqlEngine();
    const described = await engine.describe(engine.parse(mysqlUrl(server, db)));
    // Assess
    expect(described.contents).toEqual([
      { kind: 'table', name: 'plain', rows: 0, rowsExact: true },
      { kind: 'table', name: "we`ird 'é\\", rows: 3, rowsExact: true },
    ]);
  });
  it('a routine whose collation differs from its database: restored under another name, the source database is not touched', async () => {
    // mariadb-dump wraps such routines in ALTER DATABASE `<source>` … lines; the restore
    // rewrites them to the current (target) database.
    const db = newDatabase('my_coll');
    await mysqlQuery(server, undefined, `CREATE DATABASE ${db} CHARACTER SET latin1 COLLATE latin1_swedish_ci`);
    await mysqlQuery(server, db, "CREATE TABLE t (id INT PRIMARY KEY) ENGINE=InnoDB; CREATE FUNCTION label() RETURNS VARCHAR(10) DETERMINISTIC RETURN 'x';");
    await mysqlQuery(server, undefined, `ALTER DATABASE ${db} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    const dir = mkdtempSync(join(root, 'collation-'));
    const storage = new FileStorageBackend(join(dir, 'store'));
    const catalog = new LocalCatalog(join(dir, 'catalog'));
    const made = await runBackup({ engine: new MysqlEngine(), storage, catalog, compressor: await createCompressor('none'), encryptor: new NoEncryptor(), signer: signing.signer }, { source: mysqlUrl(server, db), job: 'collation' });
    expect(made.run.status, String(made.error)).toBe('succeeded');
    const dump = readFileSync(join(storage.rootDir, manifestSchema.parse(made.manifest).job, ...made.run.runId.match(/^(\d{4})(\d\d)(\d\d)/)!.slice(1), made.run.runId, 'data.sql'), 'utf8');
    expect(dump).toContain(`ALTER DATABASE \`${db}\` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;`);

    const target = newDatabase('my_coll_to');
    await runRestore({ storage, catalog, decryptor: new AgeDecryptor([]), trust: signing.trust, ...backupAdapters }, { ref: 'latest', target: mysqlUrl(server, target) });
    const collations = (database: string) =>
      mysqlQuery(
        server,
        undefined,
        `SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '${database}'; SELECT DATABASE_COLLATION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${database}';`,
      );
    expect(await collations(db)).toBe('utf8mb4_unicode_ci\nlatin1_swedish_ci');
    expect(await collations(target)).toBe('utf8mb4_unicode_ci\nlatin1_swedish_ci');
  });
});

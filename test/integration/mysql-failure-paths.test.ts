/**
 * How MySQL/MariaDB backups and restores fail, through the built CLI against the run's real
 * MariaDB server: the dump tool missing, the dump tool killed mid-stream, wrong credentials,
 * an unreachable server, a missing database, a non-empty target without --force, a damaged
 * backup, and a restore that fails half-way. Each ends with one clear `vaultra: error:` line,
 * the documented exit code, a failed run in the catalog, nothing listed as a backup, no object
 * left in the run's folder, no process left behind, and the earlier backup untouched.
 */
import { mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFolder } from '../../core/domain/object-layout.js';
import type { RunRecord } from '../../core/domain/run.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import { killTree, which } from '../support/exec.js';
import { filesUnder, hashTree } from '../support/file-tree.js';
import { mysqlEnv, mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import { createMysqlDatabase, dropMysqlDatabase, loadMysqlFixture, mysqlDatabaseExists, mysqlFingerprints, mysqlSchemaObjects, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { freePort } from '../support/postgres-server.js';
import { bytesWritten, descendantsOf, sleep, stillRunning, type ProcessInfo } from '../support/processes.js';
import { requireMariadb, requireTools } from '../support/requirements.js';

const MiB = 1024 * 1024;

describe('mysql failure paths', () => {
  const server = requireMariadb();
  const tools = requireTools('mariadb', 'mariadb-dump', 'zstd');
  if (!server || !tools) return;

  const smallDb = uniqueMysqlName('myfp_small');
  const bigDb = uniqueMysqlName('myfp_big');
  const droppable = [smallDb, bigDb];
  let root = '';
  let store = '';
  let storeUrl = '';
  let env: NodeJS.ProcessEnv = {};
  let baseline: { runId: string; folder: string; hashes: Record<string, string> };

  const vaultra = (args: readonly string[], extra: NodeJS.ProcessEnv = {}) => runVaultra(args, { env: { ...env, ...extra } });
  const runs = async (all: boolean): Promise<RunRecord[]> => {
    const result = await vaultra(['list', ...(all ? ['--all'] : []), '--json', '--from', storeUrl]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RunRecord[];
  };
  const newDatabase = (prefix: string) => {
    const name = uniqueMysqlName(prefix);
    droppable.push(name);
    return name;
  };

  /**
   * The assertions every failure shares; returns the failed run (or undefined for `run: 'none'`).
   */
  async function expectCleanFailure(
    result: VaultraResult,
    before: readonly RunRecord[],
    expected: { exitCode: number; message: RegExp; run: { kind: RunRecord['kind']; errorKind: string } | 'none' },
  ): Promise<RunRecord | undefined> {
    expect(result.code, `stderr: ${result.stderr}`).toBe(expected.exitCode);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, 'stderr must be exactly one line').toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: \S/);
    expect(lines[0]).toMatch(expected.message);
    expect(result.stderr + result.stdout).not.toContain(server!.password);

    const all = await runs(true);
    const created = all.filter((r) => !before.some((b) => b.runId === r.runId && b.job === r.job));
    expect((await runs(false)).map((r) => r.runId), 'list shows only the baseline backup').toEqual([baseline.runId]);
    let run: RunRecord | undefined;
    if (expected.run === 'none') {
      expect(created).toEqual([]);
    } else {
      expect(created).toHaveLength(1);
      run = created[0]!;
      expect(run).toMatchObject({ kind: expected.run.kind, status: 'failed', error: { kind: expected.run.errorKind } });
      expect(lines[0]).toBe(`vaultra: error: ${run.error!.message}`);
      if (run.kind === 'backup') expect(await filesUnder(join(store, runFolder(run.job, run.runId)))).toEqual([]);
    }
    expect((await filesUnder(store)).filter((f) => f.includes('.vaultra-tmp-'))).toEqual([]);
    expect(await hashTree(join(store, baseline.folder)), 'the earlier backup changed').toEqual(baseline.hashes);
    return run;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-mysql-fail-'));
    store = join(root, 'store');
    storeUrl = pathToFileURL(store).href;
    env = { ...mysqlEnv(server, { MYSQL_PWD: undefined }), XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state'), VAULTRA_STORAGE: undefined, VAULTRA_CATALOG: undefined, VAULTRA_IDENTITY: undefined };
    await Promise.all([createMysqlDatabase(server, smallDb), createMysqlDatabase(server, bigDb)]);
    await Promise.all([
      loadMysqlFixture(server, smallDb),
      // ~50 MB of dump: long enough to catch mariadb-dump mid-stream.
      mysqlQuery(server, bigDb, 'CREATE TABLE big (i INT PRIMARY KEY, a CHAR(32), b CHAR(32)) ENGINE=InnoDB; INSERT INTO big SELECT seq, MD5(seq), MD5(seq * 7) FROM seq_1_to_600000;'),
    ]);
    const made = await vaultra(['backup', mysqlUrl(server, smallDb), '--to', storeUrl, '--job', 'baseline', '--json']);
    expect(made.code, made.stderr).toBe(0);
    const runId = (JSON.parse(made.stdout) as { runId: string }).runId;
    const folder = runFolder('baseline', runId);
    baseline = { runId, folder, hashes: await hashTree(join(store, folder)) };
  });

  afterAll(async () => {
    for (const db of droppable) await dropMysqlDatabase(server, db).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('mariadb-dump missing (and no mysqldump either): exit 7, names it and how to install it', async () => {
    const before = await runs(true);
    const dir = await mkdtemp(join(root, 'path-'));
    for (const name of ['node', 'mariadb', 'zstd']) await symlink(which(name)!, join(dir, name));
    const result = await vaultra(['backup', mysqlUrl(server, smallDb), '--to', storeUrl, '--job', 'no-dump-tool'], { PATH: dir });
    await expectCleanFailure(result, before, {
      exitCode: 7,
      message: /mariadb-dump not found on PATH: install the MariaDB or MySQL client tools \(Debian\/Ubuntu: apt-get install mariadb-client.*\(mariadb-dump or mysqldump\)/,
      run: { kind: 'backup', errorKind: 'tool-missing' },
    });
  });

  it('mariadb-dump killed mid-stream: exit 1, says it was killed, nothing stored, no process left', async () => {
    const before = await runs(true);
    const started = startVaultra(['backup', mysqlUrl(server, bigDb), '--to', storeUrl, '--job', 'killed', '--json'], { ...process.env, NO_COLOR: '1', ...env });
    const seen = new Map<number, ProcessInfo>();
    let dump: ProcessInfo | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && started.child.exitCode === null) {
      for (const p of descendantsOf(started.pid)) seen.set(p.pid, p);
      dump = [...seen.values()].find((p) => p.comm === 'mariadb-dump' && p.argv.includes('--single-transaction') && stillRunning(p));
      if (dump && bytesWritten(dump.pid) > 4 * MiB) break;
      await sleep(10);
    }
    if (!dump || started.child.exitCode !== null) {
      killTree(started.child, 'SIGKILL');
      throw new Error(`mariadb-dump was never seen mid-stream: ${(await started.result).stderr}`);
    }
    expect(dump.ppid, 'mariadb-dump is a child of vaultra').toBe(started.pid);
    process.kill(dump.pid, 'SIGKILL');
    const result = await started.result;
    const run = await expectCleanFailure(result, before, { exitCode: 1, message: /mariadb-dump of 127\.0\.0\.1:\d+\/myfp_big_\w+ failed \(killed by SIGKILL\)/, run: { kind: 'backup', errorKind: 'dump' } });
    expect(JSON.parse(result.stdout)).toMatchObject({ runId: run?.runId, status: 'failed' });
    expect([...seen.values()].filter(stillRunning).map((p) => `${p.comm} ${p.argv.join(' ')}`)).toEqual([]);
  });

  it('a wrong password: exit 1, access denied, the password nowhere', async () => {
    const before = await runs(true);
    const url = new URL(mysqlUrl(server, smallDb));
    url.password = 'canary-wrong-password';
    const result = await vaultra(['backup', url.toString(), '--to', storeUrl, '--job', 'wrong-password']);
    await expectCleanFailure(result, before, {
      exitCode: 1,
      message: /cannot read MySQL\/MariaDB database 127\.0\.0\.1:\d+\/\w+: ERROR 1045 \(28000\): Access denied for user 'vaultra_admin'@'127\.0\.0\.1'$/,
      run: { kind: 'backup', errorKind: 'dump' },
    });
    expect(result.stderr).not.toContain('canary-wrong-password');
  });

  it('an unreachable server: exit 1 within seconds, says it cannot connect', async () => {
    const before = await runs(true);
    const port = await freePort();
    const startedAt = Date.now();
    const result = await vaultra(['backup', `mysql://u:p@127.0.0.1:${port}/db`, '--to', storeUrl]);
    expect(Date.now() - startedAt).toBeLessThan(20_000);
    const run = await expectCleanFailure(result, before, {
      exitCode: 1,
      message: new RegExp(`cannot read MySQL/MariaDB database 127\\.0\\.0\\.1:${port}/db: ERROR 2002 \\(HY000\\): Can't connect to server on '127\\.0\\.0\\.1'`),
      run: { kind: 'backup', errorKind: 'dump' },
    });
    expect(run?.job).toBe('db');
  });

  it('a database that does not exist: exit 5, failed run', async () => {
    const before = await runs(true);
    const result = await vaultra(['backup', mysqlUrl(server, 'no_such_db'), '--to', storeUrl]);
    await expectCleanFailure(result, before, { exitCode: 5, message: /database no_such_db does not exist on 127\.0\.0\.1:\d+$/, run: { kind: 'backup', errorKind: 'not-found' } });
  });

  it('a non-empty target without --force: exit 6, a failed restore run, the target unchanged', async () => {
    const before = await runs(true);
    const prints = await mysqlFingerprints(server, smallDb);
    const result = await vaultra(['restore', baseline.runId, '--from', storeUrl, '--target', mysqlUrl(server, smallDb)]);
    await expectCleanFailure(result, before, {
      exitCode: 6,
      message: /restore target 127\.0\.0\.1:\d+\/\w+ already holds \d+ object\(s\) \(add_order, big_spenders, blobs, …\): restore into a new or empty database, or pass --force to replace them/,
      run: { kind: 'restore', errorKind: 'conflict' },
    });
    expect(await mysqlFingerprints(server, smallDb)).toEqual(prints);
  });

  describe('a damaged backup', () => {
    let data = '';
    let good: Buffer;
    beforeAll(async () => {
      const folder = join(store, baseline.folder);
      data = join(folder, (await readdir(folder)).find((name) => name.startsWith('data.'))!);
      good = await readFile(data);
    });

    it('one flipped byte: verify exits 3; a restore into a new database exits 3 and leaves no database', async () => {
      const damaged = Buffer.from(good);
      damaged[Math.floor(damaged.length / 2)]! ^= 0x01;
      await writeFile(data, damaged);
      try {
        const verified = await vaultra(['verify', baseline.runId, '--from', storeUrl]);
        expect(verified.code, verified.stderr).toBe(3);
        expect(verified.stderr).toMatch(/^vaultra: error: .*(altered|damaged|truncated)/);
        const fresh = newDatabase('myfp_fresh');
        const restored = await vaultra(['restore', baseline.runId, '--from', storeUrl, '--target', mysqlUrl(server, fresh)]);
        expect(restored.code, restored.stderr).toBe(3);
        expect(restored.stderr.trim().split('\n')).toHaveLength(1);
        expect(await mysqlDatabaseExists(server, fresh), 'no half-restored database may remain').toBe(false);
      } finally {
        await writeFile(data, good);
      }
      const ok = await vaultra(['verify', baseline.runId, '--from', storeUrl]);
      expect(ok.code, ok.stderr).toBe(0);
    });
  });

  it('a damaged backup restored with --force into an existing database: exit 3, and the database exactly as it was', async () => {
    // MySQL DDL commits as it runs: were the damage found only when the restore stream reaches
    // it, the tables before it would already be replaced. The whole backup must be checked
    // before the first statement runs. (Megabytes before the damage, so the client would have
    // had time to run them.)
    const sourceDb = newDatabase('myfp_forced_src');
    const target = newDatabase('myfp_forced');
    await Promise.all([createMysqlDatabase(server, sourceDb), createMysqlDatabase(server, target)]);
    await Promise.all([loadMysqlFixture(server, sourceDb), loadMysqlFixture(server, target)]);
    await mysqlQuery(server, sourceDb, 'CREATE TABLE zz_bulk (i INT PRIMARY KEY, a CHAR(32)) ENGINE=InnoDB; INSERT INTO zz_bulk SELECT seq, MD5(seq) FROM seq_1_to_300000;');
    await mysqlQuery(server, target, "UPDATE customers SET name = 'target only' WHERE id <= 10; DELETE FROM orders WHERE id = 7; CREATE TABLE extra (id INT);");
    const printsBefore = await mysqlFingerprints(server, target);
    const objectsBefore = await mysqlSchemaObjects(server, target);

    const ownStore = pathToFileURL(join(root, 'forced-store')).href;
    const made = await vaultra(['backup', mysqlUrl(server, sourceDb), '--to', ownStore, '--job', 'forced', '--json']);
    expect(made.code, made.stderr).toBe(0);
    const runId = (JSON.parse(made.stdout) as { runId: string }).runId;
    const folder = join(root, 'forced-store', runFolder('forced', runId));
    const data = join(folder, (await readdir(folder)).find((name) => name.startsWith('data.'))!);
    const damaged = await readFile(data);
    expect(damaged.length).toBeGreaterThan(2 * MiB);
    damaged[Math.floor(damaged.length / 2)]! ^= 0x01;
    await writeFile(data, damaged);

    const result = await vaultra(['restore', runId, '--from', ownStore, '--target', mysqlUrl(server, target), '--force']);
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/^vaultra: error: .*(altered|damaged|truncated)[^\n]*\n$/);
    expect(await mysqlFingerprints(server, target)).toEqual(printsBefore);
    expect(await mysqlSchemaObjects(server, target)).toEqual(objectsBefore);
  });

  it('a restore that fails half-way into an existing database (--force): exit 1, what it added is dropped, the error says what may be left', async () => {
    // The target has a view named like a table of the backup: the dump's DROP TABLE IF EXISTS
    // leaves a view alone, so its CREATE TABLE fails after the tables before it were restored.
    const target = newDatabase('myfp_halfway');
    await createMysqlDatabase(server, target);
    await mysqlQuery(server, target, 'CREATE TABLE keep_me (id INT PRIMARY KEY); INSERT INTO keep_me VALUES (1), (2); CREATE VIEW orders AS SELECT 1 AS id;');
    const objectsBefore = await mysqlSchemaObjects(server, target);
    const printsBefore = await mysqlFingerprints(server, target);
    const before = await runs(true);
    const result = await vaultra(['restore', baseline.runId, '--from', storeUrl, '--target', mysqlUrl(server, target), '--force']);
    await expectCleanFailure(result, before, {
      exitCode: 1,
      message:
        /mariadb restore into 127\.0\.0\.1:\d+\/\w+ failed \(exit 1: ERROR 1050 \(42S01\) at line \d+: Table 'orders' already exists\); what it added to \w+ is dropped, but the 2 object\(s\) it was replacing \(--force\) may already be dropped or partly loaded: MySQL DDL commits as it runs/,
      run: { kind: 'restore', errorKind: 'restore' },
    });
    // The tables restored before the failure (blobs, customers, …) are gone again; what was there is as it was.
    expect(await mysqlSchemaObjects(server, target)).toEqual(objectsBefore);
    expect(await mysqlFingerprints(server, target)).toEqual(printsBefore);
  });
});

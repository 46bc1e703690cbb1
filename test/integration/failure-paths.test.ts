/**
 * Every way a backup, verify or restore can fail ends the same way: a clear one-line error and
 * a meaningful exit code, a failed run record, no partial backup listed or left in the store,
 * no dump process left behind, the restore target as it was, and the earlier backups in the
 * same store untouched (same bytes, still verifying).
 *
 * The CLI cases run the built `dist/vaultra.mjs` against the harness's PostgreSQL server and
 * real tools; the storage cases drive `runBackup`/`runVerify` with real engines, compressor and
 * encryptor over a {@link FaultyStorageBackend}.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupDependencies } from '../../core/usecases/backup.js';
import { runVerify } from '../../core/usecases/verify.js';
import { listBackupKeys } from '../../core/usecases/locate-backup.js';
import { PostgresEngine } from '../../core/adapters/engines/postgres/postgres-engine.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { formatIdentityFile, generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import { runFolder } from '../../core/domain/object-layout.js';
import type { RunRecord } from '../../core/domain/run.js';
import { StorageError } from '../../core/errors.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { startVaultra, type StartedVaultra } from '../support/cli-child.js';
import { killTree, which } from '../support/exec.js';
import { filesUnder, hashTree, sha256Of } from '../support/file-tree.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, tableFingerprints, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { freePort } from '../support/postgres-server.js';
import { databaseUrl, psqlQuery, quoteLiteral } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { createSqliteFixture, sqliteExec, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { FaultyStorageBackend } from '../fakes/faulty-storage.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';
import { storageBackendContract } from '../contract/storage-backend.contract.js';
import { bytesWritten, descendantsOf, isRunningDump, processTable, sleep, stillRunning, type ProcessInfo } from '../support/processes.js';
import { testSigning } from '../support/signing.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';

const MiB = 1024 * 1024;
/** Rows of md5 text in the big database: pg_dump streams ~150 MB for a couple of seconds. */
const BIG_ROWS = 2_000_000;

// ---------------------------------------------------------------------------------------------
// Files.

/** Flip one byte of a file in place; returns the original bytes to put back. */
async function flipByte(path: string, offset: number, replacement?: number): Promise<Buffer> {
  const original = await readFile(path);
  const damaged = Buffer.from(original);
  const at = offset < 0 ? damaged.length + offset : offset;
  damaged[at] = replacement ?? damaged[at]! ^ 0x01;
  await writeFile(path, damaged);
  return original;
}

// ---------------------------------------------------------------------------------------------
// The CLI, a store and its catalog.

class CliStore {
  constructor(
    readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get url(): string {
    return pathToFileURL(this.dir).href;
  }

  async runs(options: { all: boolean }): Promise<RunRecord[]> {
    const result = await runVaultra(['list', ...(options.all ? ['--all'] : []), '--json', '--from', this.url], { env: this.env });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RunRecord[];
  }
}

interface Baseline {
  readonly runId: string;
  readonly job: string;
  readonly folder: string;
  readonly hashes: Record<string, string>;
}

interface FailureExpectation {
  readonly exitCode: number;
  /** What the one error line must say (after `vaultra: error: `). */
  readonly message: RegExp;
  /** The run the failure must leave in the catalog, or `'none'` when it fails before a run exists. */
  readonly run: { readonly kind: RunRecord['kind']; readonly errorKind: string } | 'none';
}

describe('failure paths', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd', 'sqlite3');
  if (!pg || !tools) return;

  const bigDb = uniqueDatabaseName('fp_big');
  const smallDb = uniqueDatabaseName('fp_small');
  /** An existing restore target that --force restores must leave exactly as it is. */
  const targetDb = uniqueDatabaseName('fp_target');
  const droppable: string[] = [bigDb, smallDb, targetDb];

  let root = '';
  let env: NodeJS.ProcessEnv = {};
  let store: CliStore;
  let baseline: Baseline;
  const keyA = generateX25519Identity();
  const keyB = generateX25519Identity();
  let identityA = '';
  let identityB = '';
  let targetFingerprints: Awaited<ReturnType<typeof tableFingerprints>>;

  const url = (db: string) => databaseUrl(pg, db);
  const targetFingerprintsNow = () => tableFingerprints(pg, targetDb);
  const vaultra = (args: readonly string[], extraEnv: NodeJS.ProcessEnv = {}) => runVaultra(args, { env: { ...env, ...extraEnv } });
  const databaseExists = async (name: string) => (await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(name)}`)) === '1';

  /** A successful backup of `db` into the shared store under `job`; returns its run and folder. */
  async function backupOk(source: string, job: string, extra: string[] = [], extraEnv: NodeJS.ProcessEnv = {}) {
    const result = await vaultra(['backup', source, '--to', store.url, '--job', job, '--json', ...(extra.length ? extra : ['--recipient', keyA.recipient])], extraEnv);
    expect(result.code, result.stderr).toBe(0);
    const { runId } = JSON.parse(result.stdout) as { runId: string };
    const folder = join(store.dir, runFolder(job, runId));
    return { runId, job, folder, data: join(folder, (await readdir(folder)).find((name) => name.startsWith('data.'))!) };
  }

  async function expectBaselineUntouched(): Promise<void> {
    expect(await hashTree(join(store.dir, baseline.folder)), 'the earlier backup changed').toEqual(baseline.hashes);
    const verified = await vaultra(['verify', baseline.runId, '--from', store.url, '--identity', identityA, '--json']);
    expect(verified.code, verified.stderr).toBe(0);
  }

  /**
   * The shared assertions of every failure: exit code, one `vaultra: error:` line saying what
   * went wrong (the same line the run record keeps), a failed run in `list --all` and none in
   * `list`, no object or temp file of a backup run left in the store, and the earlier backup
   * untouched. Returns the failed run.
   */
  async function expectCleanFailure(result: VaultraResult, before: readonly RunRecord[], expected: FailureExpectation): Promise<RunRecord | undefined> {
    expect(result.code, `stderr: ${result.stderr}`).toBe(expected.exitCode);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, 'stderr must be exactly one line').toHaveLength(1);
    const [line = ''] = lines;
    expect(line).toMatch(/^vaultra: error: \S/);
    expect(line).toMatch(expected.message);
    expect(line).not.toMatch(/\n|\s{2,}at /); // no stack trace

    const all = await store.runs({ all: true });
    const created = all.filter((r) => !before.some((b) => b.runId === r.runId && b.job === r.job));
    const succeededBefore = before.filter((r) => r.kind === 'backup' && r.status === 'succeeded').map((r) => r.runId).sort();
    const listed = await store.runs({ all: false });
    expect(listed.map((r) => r.runId).sort(), 'list shows exactly the backups that succeeded before').toEqual(succeededBefore);

    let run: RunRecord | undefined;
    if (expected.run === 'none') {
      expect(created, 'no run is recorded for a failure before a run exists').toEqual([]);
    } else {
      expect(created).toHaveLength(1);
      run = created[0]!;
      expect(run).toMatchObject({ kind: expected.run.kind, status: 'failed', error: { kind: expected.run.errorKind } });
      expect(run.finishedAt).toBeDefined();
      expect(run.manifestKey).toBeUndefined();
      expect(line).toBe(`vaultra: error: ${run.error!.message}`);
      expect(listed.some((r) => r.runId === run!.runId)).toBe(false);
      if (run.kind === 'backup') {
        expect(await filesUnder(join(store.dir, runFolder(run.job, run.runId))), 'the failed run left objects in its folder').toEqual([]);
      }
    }
    expect((await filesUnder(store.dir)).filter((f) => f.includes('.vaultra-tmp-')), 'temp files left in the store').toEqual([]);
    await expectBaselineUntouched();
    return run;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-failure-'));
    env = { XDG_CONFIG_HOME: join(root, 'config'), VAULTRA_STORAGE: undefined, VAULTRA_CATALOG: undefined, VAULTRA_IDENTITY: undefined };
    identityA = join(root, 'a.key');
    identityB = join(root, 'b.key');
    await writeFile(identityA, formatIdentityFile(keyA.identity), { mode: 0o600 });
    await writeFile(identityB, formatIdentityFile(keyB.identity), { mode: 0o600 });
    store = new CliStore(join(root, 'store'), env);

    await Promise.all([createDatabase(pg, bigDb), createDatabase(pg, smallDb), createDatabase(pg, targetDb)]);
    await Promise.all([
      psqlQuery(pg, bigDb, `CREATE TABLE big AS SELECT i, md5(i::text) AS a, md5((i * 7)::text) AS b FROM generate_series(1, ${BIG_ROWS}) AS s(i)`, { timeoutMs: 120_000 }),
      loadVariedTypesFixture(pg, smallDb),
      loadVariedTypesFixture(pg, targetDb),
    ]);
    // The target holds the same tables as the backups, with different rows: a --force restore would change it.
    await psqlQuery(pg, targetDb, "UPDATE public.customers SET name = 'target only' WHERE id <= 10; DELETE FROM sales.order_lines WHERE order_id = 7;");
    targetFingerprints = await tableFingerprints(pg, targetDb);

    const first = await backupOk(url(smallDb), 'baseline');
    baseline = { runId: first.runId, job: first.job, folder: runFolder(first.job, first.runId), hashes: await hashTree(first.folder) };
    expect(Object.keys(baseline.hashes).sort()).toEqual(['data.pgdump.zst.age', 'manifest.json', 'manifest.json.sig']);
  });

  afterAll(async () => {
    for (const db of droppable) await dropDatabase(pg, db).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Starts `vaultra backup` of the big database and waits until its pg_dump is mid-stream (4 MiB written). */
  async function startBigBackup(job: string): Promise<{ vaultra: StartedVaultra; dump: ProcessInfo; seen: Map<number, ProcessInfo> }> {
    const started = startVaultra(['backup', url(bigDb), '--to', store.url, '--job', job, '--recipient', keyA.recipient, '--json'], { ...process.env, NO_COLOR: '1', ...env });
    const seen = new Map<number, ProcessInfo>();
    let dump: ProcessInfo | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && started.child.exitCode === null) {
      for (const p of descendantsOf(started.pid)) seen.set(p.pid, p);
      dump = [...seen.values()].find((p) => isRunningDump(p) && stillRunning(p));
      if (dump && bytesWritten(dump.pid) > 4 * MiB) break;
      await sleep(20);
    }
    if (!dump || started.child.exitCode !== null) {
      killTree(started.child, 'SIGKILL');
      const result = await started.result;
      throw new Error(`pg_dump of the big database was never seen mid-stream (vaultra exited ${result.code}): ${result.stderr}`);
    }
    expect(dump.ppid, 'pg_dump is a child of vaultra').toBe(started.pid);
    return { vaultra: started, dump, seen };
  }

  describe('through the CLI', () => {
    it('pg_dump killed mid-stream: exit 1, says pg_dump was killed, nothing stored, earlier backup intact', async () => {
      const before = await store.runs({ all: true });
      const { vaultra: started, dump, seen } = await startBigBackup('killed');
      process.kill(dump.pid, 'SIGKILL');
      const result = await started.result;

      const run = await expectCleanFailure(result, before, { exitCode: 1, message: /pg_dump .*killed by SIGKILL/, run: { kind: 'backup', errorKind: 'dump' } });
      expect(run?.job).toBe('killed');
      expect(JSON.parse(result.stdout)).toMatchObject({ runId: run?.runId, status: 'failed', error: { kind: 'dump' } });
      const leftovers = [...seen.values()].filter(stillRunning);
      expect(leftovers.map((p) => `${p.comm} ${p.argv.join(' ')}`), 'processes vaultra started outlived it').toEqual([]);
    });

    it('Ctrl-C (SIGINT to vaultra) during a backup: exit 130 quickly, run failed, no manifest, no pg_dump or zstd left', async () => {
      const before = await store.runs({ all: true });
      const { vaultra: started, seen } = await startBigBackup('interrupted');
      expect([...seen.values()].some((p) => p.comm === 'zstd' && stillRunning(p)), 'zstd runs during the backup').toBe(true);
      const sentAt = Date.now();
      process.kill(started.pid, 'SIGINT');
      const result = await started.result;
      const tookMs = Date.now() - sentAt;

      expect(tookMs).toBeLessThan(15_000);
      await expectCleanFailure(result, before, { exitCode: 130, message: /interrupted/, run: { kind: 'backup', errorKind: 'aborted' } });
      const leftovers = [...seen.values()].filter(stillRunning);
      expect(leftovers.map((p) => `${p.comm} ${p.argv.join(' ')}`)).toEqual([]);
      // The server side of the dump ends too: no session of pg_dump stays connected to the database.
      await waitFor(
        async () => (await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = ${quoteLiteral(bigDb)} AND application_name = 'pg_dump'`)) === '0',
        10_000,
        'the pg_dump session to end',
      );
    });

    it('Ctrl-C at a terminal (SIGINT to the whole process group, tools included): exit 130, run failed', async () => {
      const before = await store.runs({ all: true });
      const { vaultra: started, seen } = await startBigBackup('interrupted-group');
      process.kill(-started.pid, 'SIGINT');
      const result = await started.result;
      await expectCleanFailure(result, before, { exitCode: 130, message: /interrupted/, run: { kind: 'backup', errorKind: 'aborted' } });
      expect([...seen.values()].filter(stillRunning)).toEqual([]);
    });

    describe('a missing tool', () => {
      /** A PATH holding only symlinks to the named tools. */
      async function pathWith(...names: string[]): Promise<string> {
        const dir = await mkdtemp(join(root, 'path-'));
        for (const name of names) await symlink(which(name)!, join(dir, name));
        return dir;
      }

      it('pg_dump missing: exit 7, names pg_dump and how to install it', async () => {
        const before = await store.runs({ all: true });
        const path = await pathWith('node', 'psql', 'zstd');
        // Nor in the versioned folders Vaultra also searches (Debian's, PGDG's, Homebrew's): the search root is the empty PATH folder.
        const result = await vaultra(['backup', url(smallDb), '--to', store.url, '--job', 'no-pg-dump', '--recipient', keyA.recipient], { PATH: path, VAULTRA_PG_SEARCH_ROOT: path });
        await expectCleanFailure(result, before, {
          exitCode: 7,
          message: /pg_dump not found on PATH: install .*apt-get install postgresql-client/,
          run: { kind: 'backup', errorKind: 'tool-missing' },
        });
      });

      it('sqlite3 missing: exit 7, names sqlite3 and how to install it', async () => {
        const source = join(root, 'tool-missing.db');
        await sqliteExec(source, 'CREATE TABLE t (x); INSERT INTO t VALUES (1);');
        const before = await store.runs({ all: true });
        const path = await pathWith('node', 'zstd');
        const result = await vaultra(['backup', `sqlite:${source}`, '--to', store.url, '--job', 'no-sqlite3', '--recipient', keyA.recipient], { PATH: path });
        await expectCleanFailure(result, before, {
          exitCode: 7,
          message: /sqlite3 not found on PATH: install sqlite3 \(Debian\/Ubuntu: apt-get install sqlite3\)/,
          run: { kind: 'backup', errorKind: 'tool-missing' },
        });
      });

      it('zstd missing: exit 7, names zstd and how to install it (or another compression)', async () => {
        const before = await store.runs({ all: true });
        const path = await pathWith('node', 'psql', 'pg_dump');
        const result = await vaultra(['backup', url(smallDb), '--to', store.url, '--job', 'no-zstd', '--recipient', keyA.recipient], { PATH: path });
        await expectCleanFailure(result, before, {
          exitCode: 7,
          message: /zstd not found on PATH: install zstd \(Debian\/Ubuntu: apt-get install zstd\).*--compression gzip/,
          run: { kind: 'backup', errorKind: 'tool-missing' },
        });
      });
    });

    it('an unreachable database: exit 1 within seconds, says it cannot connect', async () => {
      const before = await store.runs({ all: true });
      const port = await freePort();
      const startedAt = Date.now();
      const result = await vaultra(['backup', `postgres://u:p@127.0.0.1:${port}/db`, '--to', store.url, '--recipient', keyA.recipient]);
      expect(Date.now() - startedAt).toBeLessThan(20_000);
      const run = await expectCleanFailure(result, before, {
        exitCode: 1,
        message: new RegExp(`cannot read PostgreSQL database 127\\.0\\.0\\.1:${port}/db: .*connection to server .* failed: Connection refused`),
        run: { kind: 'backup', errorKind: 'dump' },
      });
      expect(run?.job).toBe('db');
    });

    it('a SQLite source that is not a database: exit 1, sqlite3 says so, nothing stored', async () => {
      const source = join(root, 'not-a-database.db');
      await writeFile(source, Buffer.alloc(8192, 0x5a));
      const before = await store.runs({ all: true });
      const result = await vaultra(['backup', `sqlite:${source}`, '--to', store.url, '--job', 'not-a-db', '--recipient', keyA.recipient]);
      await expectCleanFailure(result, before, { exitCode: 1, message: /file is not a database/, run: { kind: 'backup', errorKind: 'dump' } });
    });

    describe('malformed source URLs', () => {
      it.each([
        ['a port that is not a number', 'postgres://u:p@host:notaport/db', /malformed PostgreSQL URL/],
        ['an unsupported scheme', 'mysqlx://u:p@host/db', /unsupported database URL scheme "mysqlx:" \(supported: postgres/],
        ['an empty SQLite path', 'sqlite:', /malformed SQLite URL sqlite:: expected sqlite:<path/],
      ])('%s (%s): exit 2, one line, no run (no job name can be derived)', async (_what, source, message) => {
        const before = await store.runs({ all: true });
        const result = await vaultra(['backup', source, '--to', store.url, '--recipient', keyA.recipient]);
        await expectCleanFailure(result, before, { exitCode: 2, message, run: 'none' });
        expect(result.stderr).not.toContain(':p@');
      });

      // With --job the run exists before the URL is parsed (the engine parses it), so the
      // failure is recorded; an unknown scheme is refused before any run, as no engine takes it.
      it.each([
        ['postgres://u:p@host:notaport/db', /malformed PostgreSQL URL/, { kind: 'backup', errorKind: 'config' } as const],
        ['sqlite:', /malformed SQLite URL/, { kind: 'backup', errorKind: 'config' } as const],
        ['mysqlx://u:p@host/db', /unsupported database URL scheme/, 'none' as const],
      ])('with --job x, %s: exit 2, run record as the design has it', async (source, message, run) => {
        const before = await store.runs({ all: true });
        const result = await vaultra(['backup', source, '--to', store.url, '--job', 'x', '--recipient', keyA.recipient]);
        const recorded = await expectCleanFailure(result, before, { exitCode: 2, message, run });
        if (recorded) expect(recorded.job).toBe('x');
      });

      it('a SQLite file that does not exist: exit 5, failed run', async () => {
        const before = await store.runs({ all: true });
        const missing = join(root, 'missing.db');
        const result = await vaultra(['backup', `sqlite:${missing}`, '--to', store.url, '--recipient', keyA.recipient]);
        const run = await expectCleanFailure(result, before, { exitCode: 5, message: /SQLite database .*missing\.db does not exist/, run: { kind: 'backup', errorKind: 'not-found' } });
        expect(run?.job).toBe('missing');
        expect(existsSync(missing), 'backup must not create the source').toBe(false);
      });
    });

    describe('the wrong key', () => {
      let keyed: Awaited<ReturnType<typeof backupOk>>;
      let passphrased: Awaited<ReturnType<typeof backupOk>>;
      const passEnv = { VAULTRA_TEST_PASSPHRASE: 'right horse battery staple', VAULTRA_SCRYPT_WORK_FACTOR: '12' };

      beforeAll(async () => {
        keyed = await backupOk(url(smallDb), 'keyed');
        passphrased = await backupOk(url(smallDb), 'passphrased', ['--passphrase-env', 'VAULTRA_TEST_PASSPHRASE'], passEnv);
      });

      it('identity B for a backup encrypted to A: verify and restore exit 4, no database created, an existing target unchanged', async () => {
        let before = await store.runs({ all: true });
        const verified = await vaultra(['verify', keyed.runId, '--from', store.url, '--identity', identityB]);
        await expectCleanFailure(verified, before, { exitCode: 4, message: /no identity matched/, run: { kind: 'verify', errorKind: 'key' } });

        const fresh = uniqueDatabaseName('fp_fresh');
        droppable.push(fresh);
        before = await store.runs({ all: true });
        const restored = await vaultra(['restore', keyed.runId, '--from', store.url, '--identity', identityB, '--target', url(fresh)]);
        await expectCleanFailure(restored, before, { exitCode: 4, message: /no identity matched .*--identity/, run: { kind: 'restore', errorKind: 'key' } });
        expect(await databaseExists(fresh), 'a failed restore must not leave the database it created').toBe(false);

        before = await store.runs({ all: true });
        const forced = await vaultra(['restore', keyed.runId, '--from', store.url, '--identity', identityB, '--target', url(targetDb), '--force']);
        await expectCleanFailure(forced, before, { exitCode: 4, message: /no identity matched/, run: { kind: 'restore', errorKind: 'key' } });
        expect(await tableFingerprints(pg, targetDb)).toEqual(targetFingerprints);
      });

      it('a wrong passphrase: restore exits 4, no database created, an existing target unchanged', async () => {
        const wrong = { VAULTRA_TEST_PASSPHRASE: 'wrong horse battery staple' };
        const fresh = uniqueDatabaseName('fp_fresh');
        droppable.push(fresh);
        let before = await store.runs({ all: true });
        const restored = await vaultra(['restore', passphrased.runId, '--from', store.url, '--passphrase-env', 'VAULTRA_TEST_PASSPHRASE', '--target', url(fresh)], wrong);
        await expectCleanFailure(restored, before, { exitCode: 4, message: /no identity matched .*passphrase/, run: { kind: 'restore', errorKind: 'key' } });
        expect(await databaseExists(fresh)).toBe(false);

        before = await store.runs({ all: true });
        const forced = await vaultra(['restore', passphrased.runId, '--from', store.url, '--passphrase-env', 'VAULTRA_TEST_PASSPHRASE', '--target', url(targetDb), '--force'], wrong);
        await expectCleanFailure(forced, before, { exitCode: 4, message: /no identity matched/, run: { kind: 'restore', errorKind: 'key' } });
        expect(await tableFingerprints(pg, targetDb)).toEqual(targetFingerprints);

        // The right passphrase still opens it: the failures changed nothing.
        const ok = await vaultra(['verify', passphrased.runId, '--from', store.url, '--passphrase-env', 'VAULTRA_TEST_PASSPHRASE'], passEnv);
        expect(ok.code, ok.stderr).toBe(0);
      });
    });

    describe('a damaged PostgreSQL backup', () => {
      let victim: Awaited<ReturnType<typeof backupOk>>;
      let good: Buffer;

      beforeAll(async () => {
        victim = await backupOk(url(smallDb), 'victim');
        good = await readFile(victim.data);
        expect(good.length).toBeGreaterThan(100_000);
      });

      /** Runs `act` with the data object damaged by `damage`, then puts the good bytes back. */
      async function withDamage(damage: () => Promise<unknown>, act: () => Promise<void>): Promise<void> {
        await damage();
        try {
          await act();
        } finally {
          await writeFile(victim.data, good);
        }
      }

      async function expectVerifyIntegrityFailure(): Promise<void> {
        const before = await store.runs({ all: true });
        const result = await vaultra(['verify', victim.runId, '--from', store.url, '--identity', identityA]);
        await expectCleanFailure(result, before, {
          exitCode: 3,
          message: /altered|truncated|damaged/,
          run: { kind: 'verify', errorKind: 'integrity' },
        });
      }

      async function expectRestoreIntoNewDatabaseRefused(): Promise<void> {
        const fresh = uniqueDatabaseName('fp_fresh');
        droppable.push(fresh);
        const before = await store.runs({ all: true });
        const result = await vaultra(['restore', victim.runId, '--from', store.url, '--identity', identityA, '--target', url(fresh)]);
        await expectCleanFailure(result, before, { exitCode: 3, message: /altered|truncated|damaged/, run: { kind: 'restore', errorKind: 'integrity' } });
        expect(await databaseExists(fresh), 'no half-restored database may remain').toBe(false);
      }

      async function expectForcedRestoreRefused(): Promise<void> {
        const before = await store.runs({ all: true });
        const result = await vaultra(['restore', victim.runId, '--from', store.url, '--identity', identityA, '--target', url(targetDb), '--force']);
        await expectCleanFailure(result, before, { exitCode: 3, message: /altered|truncated|damaged/, run: { kind: 'restore', errorKind: 'integrity' } });
        expect(await targetFingerprintsNow()).toEqual(targetFingerprints);
      }

      it('one flipped byte in the middle: verify and restore exit 3; no new database, an existing target unchanged', async () => {
        await withDamage(
          () => flipByte(victim.data, Math.floor(good.length / 2)),
          async () => {
            await expectVerifyIntegrityFailure();
            await expectRestoreIntoNewDatabaseRefused();
            await expectForcedRestoreRefused();
          },
        );
      });

      it('one flipped byte in the last 100 bytes: verify and restore exit 3', async () => {
        await withDamage(
          () => flipByte(victim.data, -50),
          async () => {
            await expectVerifyIntegrityFailure();
            await expectRestoreIntoNewDatabaseRefused();
          },
        );
      });

      /** Offsets of the age header's parts: version line, the X25519 stanza's share and body, the MAC. */
      function headerOffsets(): Record<string, number> {
        const text = good.subarray(0, 400).toString('latin1');
        const stanza = text.indexOf('-> X25519 ');
        const body = text.indexOf('\n', stanza) + 1;
        const mac = text.indexOf('--- ');
        expect([stanza, body, mac].every((n) => n > 0)).toBe(true);
        return { 'version line': 5, 'X25519 share': stanza + '-> X25519 '.length + 10, 'wrapped file key': body + 10, 'header MAC': mac + 4 + 10 };
      }

      it.each(['version line', 'X25519 share', 'wrapped file key', 'header MAC'])(
        'one changed byte in the age header (%s): verify exits 3, not a key error',
        async (part) => {
          const offset = headerOffsets()[part]!;
          // Swap one base64 character for another, so the header still parses and only the crypto can tell.
          const replacement = good[offset] === 0x41 ? 0x42 : 0x41;
          await withDamage(() => flipByte(victim.data, offset, replacement), expectVerifyIntegrityFailure);
        },
      );

      it('a changed stanza byte: restore --force with the right identity exits 3 and leaves the target unchanged', async () => {
        const offset = headerOffsets()['X25519 share']!;
        await withDamage(() => flipByte(victim.data, offset, good[offset] === 0x41 ? 0x42 : 0x41), expectForcedRestoreRefused);
      });

      it('the object truncated by 1000 bytes: verify exits 3', async () => {
        await withDamage(() => truncate(victim.data, good.length - 1000), expectVerifyIntegrityFailure);
      });

      it('a damaged manifest (invalid JSON): verify and restore exit 3', async () => {
        const manifestPath = join(victim.folder, 'manifest.json');
        const manifest = await readFile(manifestPath);
        await writeFile(manifestPath, manifest.subarray(0, manifest.length / 2));
        try {
          let before = await store.runs({ all: true });
          const verified = await vaultra(['verify', victim.runId, '--from', store.url, '--identity', identityA]);
          await expectCleanFailure(verified, before, { exitCode: 3, message: /manifest\.json is not valid JSON: the manifest was damaged/, run: 'none' });
          const fresh = uniqueDatabaseName('fp_fresh');
          droppable.push(fresh);
          before = await store.runs({ all: true });
          const restored = await vaultra(['restore', victim.runId, '--from', store.url, '--identity', identityA, '--target', url(fresh)]);
          await expectCleanFailure(restored, before, { exitCode: 3, message: /not valid JSON/, run: 'none' });
          expect(await databaseExists(fresh)).toBe(false);
        } finally {
          await writeFile(manifestPath, manifest);
        }
      });

      it('the undamaged backup still verifies after all that', async () => {
        const result = await vaultra(['verify', victim.runId, '--from', store.url, '--identity', identityA]);
        expect(result.code, result.stderr).toBe(0);
      });
    });

    describe('a damaged SQLite backup', () => {
      let victim: Awaited<ReturnType<typeof backupOk>>;
      let good: Buffer;
      let sqliteDir = '';

      beforeAll(async () => {
        sqliteDir = join(root, 'sqlite');
        await mkdir(sqliteDir);
        await createSqliteFixture(join(sqliteDir, 'source.db'));
        victim = await backupOk(`sqlite:${join(sqliteDir, 'source.db')}`, 'sqlite-victim');
        good = await readFile(victim.data);
      });

      it('one flipped byte in the middle: verify and restore exit 3; no target file created, an existing one unchanged', async () => {
        const original = await flipByte(victim.data, Math.floor(good.length / 2));
        try {
          let before = await store.runs({ all: true });
          const verified = await vaultra(['verify', victim.runId, '--from', store.url, '--identity', identityA]);
          await expectCleanFailure(verified, before, { exitCode: 3, message: /altered|truncated/, run: { kind: 'verify', errorKind: 'integrity' } });

          const target = join(sqliteDir, 'restored.db');
          before = await store.runs({ all: true });
          const restored = await vaultra(['restore', victim.runId, '--from', store.url, '--identity', identityA, '--target', `sqlite:${target}`]);
          await expectCleanFailure(restored, before, { exitCode: 3, message: /altered|truncated/, run: { kind: 'restore', errorKind: 'integrity' } });
          expect(existsSync(target), 'a failed restore must not create the target').toBe(false);

          const existing = join(sqliteDir, 'existing.db');
          await createSqliteFixture(existing);
          await sqliteExec(existing, "DELETE FROM items WHERE id = 1; PRAGMA wal_checkpoint(TRUNCATE);");
          const existingHash = await sha256Of(existing);
          const existingRows = await sqliteFingerprints(existing);
          before = await store.runs({ all: true });
          const forced = await vaultra(['restore', victim.runId, '--from', store.url, '--identity', identityA, '--target', `sqlite:${existing}`, '--force']);
          await expectCleanFailure(forced, before, { exitCode: 3, message: /altered|truncated/, run: { kind: 'restore', errorKind: 'integrity' } });
          expect(await sha256Of(existing)).toBe(existingHash);
          expect(await sqliteFingerprints(existing)).toEqual(existingRows);

          // Nothing but the databases the test made: no restore temp file left beside the target.
          expect((await readdir(sqliteDir)).filter((name) => !/^(source|existing)\.db(-wal|-shm)?$/.test(name))).toEqual([]);
        } finally {
          await writeFile(victim.data, original);
        }
      });
    });
  });

  describe('storage failing, at the use-case level', () => {
    let dir = '';
    let deps: Omit<BackupDependencies, 'storage'>;
    let decryptor: AgeDecryptor;
    const { signer, trust } = testSigning();

    beforeAll(async () => {
      dir = await mkdtemp(join(root, 'usecase-'));
      deps = {
        engine: new PostgresEngine(),
        compressor: await createCompressor('zstd'),
        encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: keyA.recipient }]),
        signer,
        catalog: new LocalCatalog(join(dir, 'catalog')),
      };
      decryptor = new AgeDecryptor([{ kind: 'x25519', identity: keyA.identity }]);
    });

    /** pg_dump processes this test process started that are still running. */
    const ourDumps = () => processTable().filter((p) => p.ppid === process.pid && p.comm === 'pg_dump');

    /** runBackup, failing the test (instead of hanging it) when it does not settle in time. */
    async function backupWithin(storage: FaultyStorageBackend | MemoryStorageBackend | FileStorageBackend, job: string, source = url(bigDb), ms = 45_000) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), ms);
      const startedAt = Date.now();
      try {
        const result = await runBackup({ ...deps, storage }, { source, job, signal: controller.signal });
        expect(controller.signal.aborted, `runBackup did not settle within ${ms} ms after the storage failed`).toBe(false);
        return { ...result, tookMs: Date.now() - startedAt };
      } finally {
        clearTimeout(timer);
      }
    }

    it('the fakes keep the storage contract: atomic puts, nothing left by a failed put', async () => {
      const memory = new MemoryStorageBackend('contract');
      const body = new PassThrough();
      const put = memory.put('job/a', body);
      body.write(Buffer.alloc(1000));
      await sleep(10);
      expect(memory.keys(), 'an object is invisible until its body ended').toEqual([]);
      expect(memory.inProgress()).toEqual(['job/a']);
      body.end(Buffer.alloc(24));
      await expect(put).resolves.toEqual({ sizeBytes: 1024 });
      expect(memory.keys()).toEqual(['job/a']);

      const broken = new PassThrough();
      const failing = memory.put('job/b', broken);
      broken.write(Buffer.alloc(10));
      broken.destroy(new Error('source broke'));
      await expect(failing).rejects.toBeInstanceOf(StorageError);
      expect(memory.keys()).toEqual(['job/a']);
      await expect(memory.get('job/b')).rejects.toThrow(/no object job\/b/);
      await memory.delete('job/b');

      const files = new FileStorageBackend(join(dir, 'store-contract'));
      const faulty = new FaultyStorageBackend(files).failPutAfterBytes(3 * MiB);
      await expect(faulty.put('job/c', Readable.from([Buffer.alloc(2 * MiB), Buffer.alloc(2 * MiB)]))).rejects.toBeInstanceOf(StorageError);
      expect(await filesUnder(files.rootDir), 'the wrapped store removed its temp file').toEqual([]);
      await expect(faulty.put('job/d', Readable.from([Buffer.alloc(MiB)]))).resolves.toEqual({ sizeBytes: MiB });
      expect(faulty.calls.map((c) => `${c.method} ${c.key} ${c.failed ? 'failed' : 'ok'}`)).toEqual(['put job/c failed', 'put job/d ok']);
    });

    it('a write failing after 8 MiB (the backend stops reading): run failed with StorageError, nothing stored, pg_dump gone, earlier backup intact', async () => {
      const files = new FileStorageBackend(join(dir, 'store-abandon'));
      const earlier = await backupWithin(files, 'earlier', url(smallDb));
      expect(earlier.run.status, String(earlier.error)).toBe('succeeded');
      const earlierHashes = await hashTree(files.rootDir);

      const storage = new FaultyStorageBackend(files).failPutAfterBytes(8 * MiB, { keys: (key) => key.includes('/data.') });
      const result = await backupWithin(storage, 'mid-write');

      expect(storage.faultsFired).toBe(1);
      expect(result.run.status).toBe('failed');
      expect(result.error).toBeInstanceOf(StorageError);
      expect(result.run.error).toEqual({ kind: 'storage', message: expect.stringMatching(/injected put fault/) });
      expect(await deps.catalog.get('mid-write', result.run.runId)).toMatchObject({ status: 'failed', error: { kind: 'storage' } });
      expect((await listBackupKeys(files)).map((b) => b.runId)).toEqual([earlier.run.runId]);
      expect(await filesUnder(join(files.rootDir, runFolder('mid-write', result.run.runId)))).toEqual([]);
      expect(await hashTree(files.rootDir)).toEqual(earlierHashes);
      await waitFor(() => ourDumps().length === 0, 5_000, 'pg_dump to exit after the storage failed');
      await runVerify({ storage: files, catalog: deps.catalog, decryptor, trust, ...backupAdapters }, { ref: earlier.run.runId });
    });

    it('a write failing after 8 MiB (the backend destroys the body): same outcome, on an in-memory store', async () => {
      const memory = new MemoryStorageBackend('abandon');
      const storage = new FaultyStorageBackend(memory).failPutAfterBytes(8 * MiB, { body: 'destroy' });
      const result = await backupWithin(storage, 'mid-write-destroy');
      expect(result.run.status).toBe('failed');
      expect(result.error).toBeInstanceOf(StorageError);
      expect(memory.keys()).toEqual([]);
      expect(memory.inProgress()).toEqual([]);
      await waitFor(() => ourDumps().length === 0, 5_000, 'pg_dump to exit after the storage failed');
    });

    it('the manifest write failing: run failed, the signature and data object deleted, nothing listed', async () => {
      const files = new FileStorageBackend(join(dir, 'store-manifest'));
      const storage = new FaultyStorageBackend(files).failPutOfKey((key) => key.endsWith('/manifest.json'));
      const result = await backupWithin(storage, 'no-manifest', url(smallDb));

      expect(result.run.status).toBe('failed');
      expect(result.error).toBeInstanceOf(StorageError);
      expect(result.run.manifestKey).toBeUndefined();
      const folder = runFolder('no-manifest', result.run.runId);
      const dataKey = storage.calls.find((c) => c.method === 'put' && !c.failed)?.key;
      expect(dataKey).toBe(`${folder}/data.pgdump.zst.age`);
      expect(storage.calls.filter((c) => c.method === 'delete').map((c) => c.key)).toEqual([`${folder}/manifest.json.sig`, dataKey]);
      expect(await filesUnder(files.rootDir)).toEqual([]);
      expect(await listBackupKeys(files)).toEqual([]);
      expect((await deps.catalog.list({ job: 'no-manifest' })).map((r) => r.status)).toEqual(['failed']);
    });

    it('the manifest write and the clean-up both failing: still a failed run, and the orphan objects are never listed', async () => {
      const memory = new MemoryStorageBackend('orphan');
      const storage = new FaultyStorageBackend(memory)
        .failPutOfKey((key) => key.endsWith('/manifest.json'))
        .failDeleteOfKey(() => true);
      const result = await backupWithin(storage, 'orphan', url(smallDb));
      expect(result.run.status).toBe('failed');
      expect(result.error).toBeInstanceOf(StorageError);
      expect(memory.keys().sort()).toEqual([`${runFolder('orphan', result.run.runId)}/data.pgdump.zst.age`, `${runFolder('orphan', result.run.runId)}/manifest.json.sig`]);
      expect(await listBackupKeys(memory)).toEqual([]);
      // As a write-only identity (no delete) leaves them: recorded, with who removes them.
      const settled = "settling the failed run deletes its run folder (reconcile, task-finished or 'vaultra catalog repair')";
      expect(result.run.leftBehind).toEqual([
        { kind: 'object', location: expect.stringMatching(/manifest\.json\.sig$/), cleanup: settled },
        { kind: 'object', location: expect.stringMatching(/data\.pgdump\.zst\.age$/), cleanup: settled },
      ]);
      expect((await deps.catalog.get('orphan', result.run.runId))?.leftBehind).toEqual(result.run.leftBehind);
    });

    it('a read failing half-way through verify: rejects with StorageError and records a failed verify', async () => {
      const memory = new MemoryStorageBackend('read');
      const made = await backupWithin(memory, 'readback', url(smallDb));
      expect(made.run.status, String(made.error)).toBe('succeeded');
      const storage = new FaultyStorageBackend(memory).failGetAfterBytes(100_000, { keys: (key) => key.includes('/data.') });
      await expect(runVerify({ storage, catalog: deps.catalog, decryptor, trust, ...backupAdapters }, { ref: made.run.runId })).rejects.toBeInstanceOf(StorageError);
      const verifies = await deps.catalog.list({ job: 'readback', kind: 'verify' });
      expect(verifies).toEqual([expect.objectContaining({ status: 'failed', error: expect.objectContaining({ kind: 'storage' }) })]);
      // The bytes were fine all along.
      await runVerify({ storage: memory, catalog: deps.catalog, decryptor, trust, ...backupAdapters }, { ref: made.run.runId });
    });
  });
});

// The fakes are held to the same contract as the real backends, so what they show holds for them.
storageBackendContract('MemoryStorageBackend (test fake)', async () => new MemoryStorageBackend());
storageBackendContract('FaultyStorageBackend with no fault set (test fake)', async () => new FaultyStorageBackend(new MemoryStorageBackend()));

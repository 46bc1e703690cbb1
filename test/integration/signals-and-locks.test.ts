/**
 * Signals at awkward moments, and locks that would make a backup wait for ever:
 *
 * - two signals in quick succession (an impatient Ctrl-C, a supervisor's SIGTERM right after)
 *   still end with the run recorded as interrupted, no temp file, and no tool outliving vaultra;
 * - a signal while the first query (`describe`) runs is an interruption (130), not a failed read;
 * - a table held ACCESS EXCLUSIVE stops `describe` (a small table, counted) or pg_dump (a large
 *   one, estimated) only for `--lock-timeout`, and the error names the table and the session.
 *
 * Through the built CLI as a child process, against the harness's PostgreSQL server, file:// store.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../core/domain/run.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { runVaultra, type VaultraResult, outcomeLines } from '../support/cli.js';
import { startVaultra, type StartedVaultra } from '../support/cli-child.js';
import { killTree, spawnTracked, waitForExit } from '../support/exec.js';
import { filesUnder } from '../support/file-tree.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { databaseUrl, pgEnv, pgTool, psqlQuery, quoteLiteral } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { bytesWritten, descendantsOf, isRunningDump, stillRunning, type ProcessInfo } from '../support/processes.js';

const MiB = 1024 * 1024;

describe('signals in quick succession, signals during describe, and table locks (CLI)', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'psql', 'zstd');
  if (!pg || !tools) return;

  const big = uniqueDatabaseName('sig_big');
  const small = uniqueDatabaseName('sig_small');
  let root = '';
  let env: NodeJS.ProcessEnv = {};
  let stores = 0;
  const holders: ChildProcess[] = [];
  const key = generateX25519Identity();

  const vaultraEnv = () => ({ ...process.env, NO_COLOR: '1', ...env }) as NodeJS.ProcessEnv;
  const newStore = () => join(root, `store-${stores++}`);
  const storeUrl = (store: string) => pathToFileURL(store).href;

  async function runs(store: string): Promise<RunRecord[]> {
    const result = await runVaultra(['list', '--all', '--json', '--from', storeUrl(store)], { env });
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RunRecord[];
  }

  /** One line on stderr, the run recorded failed with that line, nothing left in the store. */
  async function expectInterrupted(result: VaultraResult, store: string): Promise<void> {
    // Exit 130. A SIGINT that lands while the process is already exiting (its outcome printed and
    // recorded, Node's signal handlers gone) ends it by the signal itself, which a shell reports
    // as the same status, 128 + SIGINT = 130; a machine slow to schedule the process makes that
    // window reachable. Any other death by signal is a failure.
    const status = result.code ?? (result.signal ? 128 + constants.signals[result.signal] : undefined);
    expect(status, `signal ${result.signal}, stderr: ${result.stderr}`).toBe(130);
    expect(outcomeLines(result.stderr)).toBe('vaultra: error: interrupted: the run was cancelled\n');
    const [run, ...others] = await runs(store);
    expect(others).toEqual([]);
    expect(run).toMatchObject({ kind: 'backup', status: 'failed', error: { kind: 'aborted', message: 'interrupted: the run was cancelled' } });
    expect((await filesUnder(store)).filter((file) => file.includes('.vaultra-tmp-')), 'temp files left').toEqual([]);
    expect(await readdir(store), 'objects or folders of the interrupted run left').toEqual(['.vaultra']);
  }

  /**
   * A session holding `table` locked ACCESS EXCLUSIVE in an open transaction (application
   * `lock-holder`), until the test ends; resolves once the server shows the lock granted.
   */
  async function holdLock(database: string, table: string): Promise<{ pid: number }> {
    const holder = spawnTracked(pgTool(pg!, 'psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1'], { env: pgEnv(pg!, database, { PGAPPNAME: 'lock-holder' }), stdin: 'pipe' });
    holders.push(holder);
    holder.stdin!.write(`BEGIN;\nLOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE;\n`);
    let pid = 0;
    await waitFor(
      async () => {
        const found = await psqlQuery(pg!, database, `SELECT l.pid FROM pg_locks l WHERE l.relation = ${quoteLiteral(table)}::regclass AND l.mode = 'AccessExclusiveLock' AND l.granted`);
        pid = Number(found || 0);
        return pid > 0;
      },
      30_000,
      `the lock on ${table}`,
    );
    return { pid };
  }

  /**
   * Two signals `gapMs` apart, timed by a busy wait: a timer under load could fire long after the
   * first signal's teardown ended. Fails if vaultra was gone before the second.
   */
  function signalTwice(pid: number, first: NodeJS.Signals, second: NodeJS.Signals, gapMs = 2): void {
    process.kill(pid, first);
    const sentAt = performance.now();
    while (performance.now() - sentAt < gapMs) {
      // wait
    }
    process.kill(pid, second);
  }

  /** Sessions of `database` waiting for a lock (what a blocked describe or pg_dump looks like from the server). */
  const waitingOnLocks = async (database: string) =>
    Number(await psqlQuery(pg!, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = ${quoteLiteral(database)} AND wait_event_type = 'Lock'`));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-signals-'));
    env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state'), VAULTRA_STORAGE: undefined, VAULTRA_CATALOG: undefined, VAULTRA_IDENTITY: undefined };
    await Promise.all([createDatabase(pg, big), createDatabase(pg, small)]);
    await Promise.all([
      psqlQuery(pg, big, `CREATE TABLE big AS SELECT i, md5(i::text) AS a, md5((i * 7)::text) AS b FROM generate_series(1, 1000000) AS s(i); ANALYZE big;`, { timeoutMs: 120_000 }),
      loadVariedTypesFixture(pg, small),
    ]);
  });

  afterEach(async () => {
    for (const holder of holders.splice(0)) {
      holder.stdin?.end();
      const exited = waitForExit(holder);
      const timer = setTimeout(() => killTree(holder, 'SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
  });

  afterAll(async () => {
    for (const db of [big, small]) await dropDatabase(pg, db).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Starts a backup of the big database; resolves once pg_dump has written 4 MiB, with every process seen under vaultra. */
  async function bigBackupMidStream(store: string, job: string): Promise<{ started: StartedVaultra; seen: Map<number, ProcessInfo> }> {
    const started = startVaultra(['backup', databaseUrl(pg!, big), '--to', storeUrl(store), '--job', job, '--recipient', key.recipient, '--no-progress'], vaultraEnv());
    const seen = new Map<number, ProcessInfo>();
    try {
      await waitFor(
        () => {
          if (started.child.exitCode !== null) throw new Error('the backup ended before the signals');
          for (const p of descendantsOf(started.pid)) seen.set(p.pid, p);
          const dump = [...seen.values()].find((p) => isRunningDump(p) && stillRunning(p));
          return dump !== undefined && bytesWritten(dump.pid) > 4 * MiB;
        },
        60_000,
        'pg_dump to be mid-stream',
      );
    } catch (error) {
      killTree(started.child, 'SIGKILL');
      throw error;
    }
    expect([...seen.values()].map((p) => p.comm)).toEqual(expect.arrayContaining(['pg_dump', 'zstd']));
    return { started, seen };
  }

  it('SIGINT twice, 2 ms apart, mid-upload: exit 130 with the one "interrupted" line, run recorded, no temp file, no tool outlives vaultra', async () => {
    const store = newStore();
    const { started, seen } = await bigBackupMidStream(store, 'twice');
    signalTwice(started.pid, 'SIGINT', 'SIGINT');
    const result = await started.result;
    // Sampled the moment vaultra is gone: a tool still running now is an orphan.
    const orphans = [...seen.values()].filter(stillRunning).map((p) => `${p.comm} (pid ${p.pid})`);
    expect(orphans, 'tools that outlived vaultra').toEqual([]);
    await expectInterrupted(result, store);
  });

  it('Ctrl-C twice at a terminal (SIGINT to the whole process group, 2 ms apart): the same', async () => {
    const store = newStore();
    const { started, seen } = await bigBackupMidStream(store, 'twice-group');
    signalTwice(-started.pid, 'SIGINT', 'SIGINT');
    const result = await started.result;
    expect([...seen.values()].filter(stillRunning).map((p) => p.comm)).toEqual([]);
    await expectInterrupted(result, store);
  });

  it('SIGTERM then SIGINT 2 ms apart (a supervisor stopping it while someone presses Ctrl-C): the same', async () => {
    const store = newStore();
    const { started, seen } = await bigBackupMidStream(store, 'term-int');
    signalTwice(started.pid, 'SIGTERM', 'SIGINT');
    const result = await started.result;
    expect([...seen.values()].filter(stillRunning).map((p) => p.comm)).toEqual([]);
    await expectInterrupted(result, store);
  });

  it('a signal while the first query (describe) waits for a locked table: exit 130 "interrupted", not a failed read', async () => {
    await holdLock(small, 'public.customers');
    const store = newStore();
    const started = startVaultra(['backup', databaseUrl(pg, small), '--to', storeUrl(store), '--job', 'locked', '--recipient', key.recipient, '--no-progress'], vaultraEnv());
    try {
      // The dump starts with describe (issue 13), so pg_dump may wait on the lock too.
      await waitFor(() => waitingOnLocks(small).then((n) => n >= 1), 30_000, 'describe to wait for the lock');
    } catch (error) {
      killTree(started.child, 'SIGKILL');
      throw error;
    }
    expect(descendantsOf(started.pid).map((p) => p.comm)).toContain('psql');
    process.kill(started.pid, 'SIGINT');
    const result = await started.result;
    await expectInterrupted(result, store);
    await waitFor(() => waitingOnLocks(small).then((n) => n === 0), 10_000, 'the describe session to end');
  });

  it('describe meets a table locked ACCESS EXCLUSIVE: with --lock-timeout 2s it fails within seconds, naming the table and the session that holds it', async () => {
    const holder = await holdLock(small, 'public.customers');
    const store = newStore();
    const startedAt = Date.now();
    const result = await runVaultra(['backup', databaseUrl(pg, small), '--to', storeUrl(store), '--job', 'locked', '--lock-timeout', '2s', '--recipient', key.recipient, '--no-progress'], { env, timeoutMs: 60_000 });
    expect(result.timedOut, 'the backup waited for the lock without a limit').toBe(false);
    expect(Date.now() - startedAt).toBeLessThan(30_000);
    expect(result.code, result.stderr).toBe(1);
    expect(outcomeLines(result.stderr).trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(
      new RegExp(
        `^vaultra: error: cannot read PostgreSQL database \\S+/${small}: gave up waiting 2s for a table lock: public\\.customers is locked ACCESS EXCLUSIVE by pid ${holder.pid} \\(user \\S+, application lock-holder, idle in transaction since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\); end that session's transaction, or wait longer with --lock-timeout\\n$`,
      ),
    );
    const [run] = await runs(store);
    expect(run).toMatchObject({ status: 'failed', error: { kind: 'dump', message: outcomeLines(result.stderr).trim().replace(/^vaultra: error: /, '') } });
  });

  it('pg_dump meets a large table locked ACCESS EXCLUSIVE (describe only estimates it): with --lock-timeout 2s it fails, naming the table and the session', async () => {
    const holder = await holdLock(big, 'public.big');
    const store = newStore();
    const result = await runVaultra(['backup', databaseUrl(pg, big), '--to', storeUrl(store), '--job', 'locked-big', '--lock-timeout', '2s', '--recipient', key.recipient, '--no-progress'], { env, timeoutMs: 60_000 });
    expect(result.timedOut, 'the backup waited for the lock without a limit').toBe(false);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^vaultra: error: pg_dump of \\S+/${big} failed: gave up waiting 2s for a table lock: public\\.big is locked ACCESS EXCLUSIVE by pid ${holder.pid} \\(user \\S+, application lock-holder, idle in transaction since \\S+\\); end that session's transaction, or wait longer with --lock-timeout\\n$`),
    );
    expect(await readdir(store)).toEqual(['.vaultra']);
  });

  it('--lock-timeout that is not a duration: exit 2 naming the flag and the value', async () => {
    const result = await runVaultra(['backup', databaseUrl(pg, small), '--to', storeUrl(newStore()), '--lock-timeout', 'soon'], { env });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('vaultra: error: --lock-timeout "soon": expected a duration such as 500ms, 30s or 5m\n');
  });
});

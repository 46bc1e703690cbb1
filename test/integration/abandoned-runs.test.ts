/**
 * Runs whose process died (SIGKILL mid-upload) and what they leave: the run must not stay
 * `running` forever, and its temp file and folders must not stay in the store. The next backup
 * of the job settles and sweeps them, and so does `vaultra catalog repair`, on demand. A run
 * that fails cleanly leaves no empty run folder either.
 *
 * Through the built CLI as a child process, against the harness's PostgreSQL server and a
 * file:// store; a backup is killed once its temp file in the store holds 8 MiB.
 */
import { hostname } from 'node:os';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../core/domain/run.js';
import { runFolder } from '../../core/domain/object-layout.js';
import type { RepairReport } from '../../core/usecases/repair-runs.js';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { startVaultra, type StartedVaultra } from '../support/cli-child.js';
import { killTree } from '../support/exec.js';
import { filesUnder } from '../support/file-tree.js';
import { createDatabase, dropDatabase, loadVariedTypesFixture, uniqueDatabaseName, waitFor } from '../support/pg-fixtures.js';
import { databaseUrl, psqlQuery } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { descendantsOf, isRunningDump, stillRunning, type ProcessInfo } from '../support/processes.js';
import type { BackupJson } from '../support/cli-json.js';

const MiB = 1024 * 1024;

describe('abandoned runs: settled and swept (file:// store, CLI)', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'psql', 'zstd');
  if (!pg || !tools) return;

  const big = uniqueDatabaseName('ab_big');
  const small = uniqueDatabaseName('ab_small');
  let root = '';
  let env: NodeJS.ProcessEnv = {};

  const vaultra = (args: readonly string[]): Promise<VaultraResult> => runVaultra(args, { env });
  const storeUrl = (store: string) => pathToFileURL(store).href;

  async function runs(store: string): Promise<RunRecord[]> {
    const result = await vaultra(['list', '--all', '--json', '--from', storeUrl(store)]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RunRecord[];
  }

  /** Every folder below `dir` that holds no file at any depth. */
  async function emptyFolders(dir: string): Promise<string[]> {
    const found: string[] = [];
    const walk = async (path: string): Promise<boolean> => {
      let holds = false;
      for (const entry of await readdir(path, { withFileTypes: true })) {
        if (entry.isDirectory() ? await walk(join(path, entry.name)) : true) holds = true;
      }
      if (!holds && path !== dir) found.push(path.slice(dir.length + 1));
      return holds;
    };
    await walk(dir);
    return found;
  }

  const tempFiles = async (store: string) => (await filesUnder(store)).filter((name) => name.includes('.vaultra-tmp-'));

  /** Starts a backup of the big database and SIGKILLs vaultra (only vaultra, like `kill -9`) once its temp file holds 8 MiB. */
  async function killMidUpload(store: string, job: string): Promise<{ pid: number; temp: string; tempBytes: number }> {
    const started: StartedVaultra = startVaultra(['backup', databaseUrl(pg!, big), '--to', storeUrl(store), '--job', job, '--json', '--no-progress'], { ...process.env, NO_COLOR: '1', ...env });
    const seen = new Map<number, ProcessInfo>();
    let temp: { name: string; bytes: number } | undefined;
    try {
      await waitFor(
        async () => {
          for (const p of descendantsOf(started.pid)) seen.set(p.pid, p);
          if (started.child.exitCode !== null) throw new Error(`the backup ended before it was killed: ${(await started.result).stderr}`);
          for (const name of await tempFiles(store)) {
            const bytes = (await stat(join(store, name)).catch(() => undefined))?.size ?? 0;
            if (bytes >= 8 * MiB) temp = { name, bytes };
          }
          return temp !== undefined;
        },
        60_000,
        'the backup temp file to reach 8 MiB',
      );
    } catch (error) {
      killTree(started.child, 'SIGKILL');
      throw error;
    }
    expect([...seen.values()].some(isRunningDump), 'pg_dump ran under vaultra').toBe(true);
    process.kill(started.pid, 'SIGKILL');
    expect((await started.result).signal).toBe('SIGKILL');
    // Its tools die of the broken pipe, not of anything vaultra did.
    await waitFor(() => [...seen.values()].every((p) => !stillRunning(p)), 10_000, 'the killed backup’s tools to end');
    return { pid: started.pid, temp: temp!.name, tempBytes: temp!.bytes };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-abandoned-'));
    env = { XDG_CONFIG_HOME: join(root, 'config'), XDG_STATE_HOME: join(root, 'state'), VAULTRA_STORAGE: undefined, VAULTRA_CATALOG: undefined, VAULTRA_IDENTITY: undefined };
    await Promise.all([createDatabase(pg, big), createDatabase(pg, small)]);
    await Promise.all([
      // ~75 MB of dump that zstd cannot shrink much (md5 text): the upload takes a few seconds.
      psqlQuery(pg, big, `CREATE TABLE big AS SELECT i, md5(i::text) AS a, md5((i * 7)::text) AS b FROM generate_series(1, 1000000) AS s(i)`, { timeoutMs: 120_000 }),
      loadVariedTypesFixture(pg, small),
    ]);
  });

  afterAll(async () => {
    for (const db of [big, small]) await dropDatabase(pg, db).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('SIGKILL mid-upload: the run stays running with its pid; `catalog repair` fails it, removes the 8 MiB temp file and the empty folders, and a second repair finds nothing', async () => {
    const store = join(root, 'repair-store');
    const killed = await killMidUpload(store, 'crash');

    const [before] = await runs(store);
    expect(before).toMatchObject({ job: 'crash', kind: 'backup', status: 'running', runner: { pid: killed.pid, hostname: hostname() } });
    expect(killed.temp).toMatch(new RegExp(`^${runFolder('crash', before!.runId)}/data\\.pgdump\\.zst\\.age\\.vaultra-tmp-[0-9a-f]+$`));
    expect(killed.tempBytes).toBeGreaterThanOrEqual(8 * MiB);

    const repaired = await vaultra(['catalog', 'repair', '--from', storeUrl(store), '--json']);
    expect(repaired.code, repaired.stderr).toBe(0);
    const report = JSON.parse(repaired.stdout) as RepairReport;
    expect(report.settled).toEqual([
      { job: 'crash', runId: before!.runId, kind: 'backup', status: 'failed', reason: `its process (pid ${killed.pid} on ${hostname()}) ended without recording its outcome` },
    ]);
    expect(report.removed).toContainEqual(expect.objectContaining({ kind: 'temp-file', key: `${runFolder('crash', before!.runId)}/data.pgdump.zst.age`, runId: before!.runId, sizeBytes: expect.any(Number) }));
    expect(report.failed).toEqual([]);

    expect(await tempFiles(store), 'temp files left').toEqual([]);
    expect(await emptyFolders(store), 'empty folders left').toEqual([]);
    expect(await readdir(store)).toEqual(['.vaultra']);
    const [after] = await runs(store);
    expect(after).toMatchObject({ runId: before!.runId, status: 'failed', error: { kind: 'abandoned', message: `abandoned: its process (pid ${killed.pid} on ${hostname()}) ended without recording its outcome` } });
    expect(after!.finishedAt).toBeDefined();

    const again = await vaultra(['catalog', 'repair', '--from', storeUrl(store)]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe(`repaired ${storeUrl(store)}: 0 abandoned runs settled, 0 leftovers removed\n`);
  });

  it('SIGKILL mid-upload, then the next backup of the job: it settles the killed run and removes its temp file and folders itself', async () => {
    const store = join(root, 'auto-store');
    const killed = await killMidUpload(store, 'nightly');
    const [dead] = await runs(store);
    expect(dead).toMatchObject({ status: 'running' });

    const next = await vaultra(['backup', databaseUrl(pg, small), '--to', storeUrl(store), '--job', 'nightly', '--json', '--no-progress']);
    expect(next.code, next.stderr).toBe(0);
    const taken = JSON.parse(next.stdout) as BackupJson & { repaired: RepairReport[] };
    expect(taken.repaired).toEqual([expect.objectContaining({ location: storeUrl(store), settled: [expect.objectContaining({ runId: dead!.runId, status: 'failed' })] })]);
    expect(next.stderr).toContain(`vaultra: repaired earlier runs of job nightly in ${storeUrl(store)}: 1 abandoned run settled`);
    expect(next.stderr).toContain(`settled  backup ${dead!.runId} of job nightly as failed: its process (pid ${killed.pid} on ${hostname()}) ended without recording its outcome`);

    expect(await tempFiles(store)).toEqual([]);
    expect(await emptyFolders(store)).toEqual([]);
    const folders = (await filesUnder(join(store, 'nightly'))).map((file) => file.split('/').slice(0, 4).join('/'));
    expect(new Set(folders), 'only the new backup’s folder is left').toEqual(new Set([runFolder('nightly', taken.runId).slice('nightly/'.length)]));
    const byId = new Map((await runs(store)).map((run) => [run.runId, run]));
    expect(byId.get(dead!.runId)).toMatchObject({ status: 'failed', error: { kind: 'abandoned' } });
    expect(byId.get(taken.runId)).toMatchObject({ status: 'succeeded' });

    // Nothing left to do, so the backup after that says nothing about repairs.
    const quiet = await vaultra(['backup', databaseUrl(pg, small), '--to', storeUrl(store), '--job', 'nightly', '--no-progress']);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).toBe('');
  });

  it('a run that fails cleanly (pg_dump killed) leaves no empty run folder behind', async () => {
    const store = join(root, 'failed-store');
    const started = startVaultra(['backup', databaseUrl(pg, big), '--to', storeUrl(store), '--job', 'broken', '--no-progress'], { ...process.env, NO_COLOR: '1', ...env });
    let dump: ProcessInfo | undefined;
    await waitFor(
      async () => {
        dump = descendantsOf(started.pid).find(isRunningDump);
        return dump !== undefined && (await tempFiles(store)).length > 0;
      },
      60_000,
      'pg_dump to write into the store',
    );
    process.kill(dump!.pid, 'SIGKILL');
    const result = await started.result;
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/^vaultra: error: pg_dump .*killed by SIGKILL/);
    expect(await filesUnder(join(store, 'broken')), 'objects of the failed run').toEqual([]);
    expect(await emptyFolders(store), 'empty folders of the failed run').toEqual([]);
    expect(await readdir(store)).toEqual(['.vaultra']);
  });
});

/**
 * How MongoDB backups and restores fail, through the built CLI against the run's server and
 * the real tools: a missing tool, mongodump or mongorestore killed mid-stream, wrong
 * credentials, an unreachable server, a database that does not exist. Each ends with one
 * `vaultra: error:` line, its exit code, a failed run in the catalog, no backup listed, no
 * process or credentials file left behind; a failed restore removes what it had created.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatIdentityFile, generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { runFolder } from '../../core/domain/object-layout.js';
import type { RunRecord } from '../../core/domain/run.js';
import { runVaultra, vaultraBin, type VaultraResult } from '../support/cli.js';
import { killTree, spawnTracked, waitForExit, which } from '../support/exec.js';
import { dropMongoDatabase, loadBulk, loadVariedFixture, mongoCollections, mongoUrl, uniqueMongoDatabase } from '../support/mongo-fixtures.js';
import { MONGO_ADMIN_USER } from '../support/mongo-server.js';
import { freePort } from '../support/postgres-server.js';
import { descendantsOf, readProcess, sleep, stillRunning, type ProcessInfo } from '../support/processes.js';
import { requireMongo, requireTools } from '../support/requirements.js';

const MiB = 1024 * 1024;

/** Bytes a process has read or written so far (/proc/<pid>/io). */
function ioBytes(pid: number, field: 'rchar' | 'wchar'): number {
  try {
    const text = readFileSync(`/proc/${pid}/io`, 'utf8');
    return Number(new RegExp(`${field}:\\s*(\\d+)`).exec(text)?.[1] ?? 0);
  } catch {
    return 0;
  }
}

describe('mongodb failure paths', () => {
  const mongo = requireMongo();
  const tools = requireTools('mongodump', 'mongorestore', 'zstd');
  if (!mongo || !tools) return;

  const small = uniqueMongoDatabase('fp_small');
  const big = uniqueMongoDatabase('fp_big');
  const databases = new Set([small, big]);
  const key = generateX25519Identity();
  let root = '';
  let store = '';
  let privateTmp = '';
  let env: NodeJS.ProcessEnv = {};
  let baselineRunId = '';
  const password = decodeURIComponent(/\/\/[^:/]*:([^@]*)@/.exec(mongo.url)?.[1] ?? '');

  const storeUrl = () => pathToFileURL(store).href;
  const vaultra = (args: readonly string[], extra: NodeJS.ProcessEnv = {}) => runVaultra(args, { env: { ...env, ...extra } });

  async function runs(all: boolean): Promise<RunRecord[]> {
    const result = await vaultra(['list', ...(all ? ['--all'] : []), '--json', '--from', storeUrl()]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RunRecord[];
  }

  /** Exit code, one error line (the run record's message), a failed run, no new backup listed, nothing left in the store or the private temp folder. */
  async function expectCleanFailure(result: VaultraResult, before: readonly RunRecord[], exitCode: number, message: RegExp, run: { kind: string; errorKind: string }): Promise<RunRecord> {
    expect(result.code, `stderr: ${result.stderr}`).toBe(exitCode);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, 'stderr must be exactly one line').toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: \S/);
    expect(lines[0]).toMatch(message);
    if (password) expect(result.stderr + result.stdout).not.toContain(password);
    const created = (await runs(true)).filter((r) => !before.some((b) => b.runId === r.runId && b.job === r.job));
    expect(created).toHaveLength(1);
    const record = created[0]!;
    expect(record).toMatchObject({ kind: run.kind, status: 'failed', error: { kind: run.errorKind } });
    expect(lines[0]).toBe(`vaultra: error: ${record.error!.message}`);
    expect((await runs(false)).map((r) => r.runId)).toEqual([baselineRunId]);
    if (record.kind === 'backup') expect(await readdir(join(store, runFolder(record.job, record.runId))).catch(() => [])).toEqual([]);
    expect(await readdir(privateTmp), 'no credentials file or temp folder left behind').toEqual([]);
    return record;
  }

  /** `vaultra …` as a child we can watch, and the tool it starts once that tool has moved `minBytes`. */
  async function startAndCatch(args: readonly string[], tool: 'mongodump' | 'mongorestore', minBytes: number) {
    const child = spawnTracked(process.execPath, [vaultraBin, ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const result = waitForExit(child).then(({ code, signal }) => ({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), stdoutBytes: Buffer.concat(out), timedOut: false }));
    const seen = new Map<number, ProcessInfo>();
    let found: ProcessInfo | undefined;
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && child.exitCode === null) {
      for (const p of descendantsOf(child.pid!)) seen.set(p.pid, p);
      found = [...seen.values()].find((p) => p.comm === tool && p.argv.includes('--archive') && stillRunning(p));
      if (found && ioBytes(found.pid, tool === 'mongodump' ? 'wchar' : 'rchar') > minBytes) break;
      await sleep(10);
    }
    if (!found || child.exitCode !== null) {
      killTree(child, 'SIGKILL');
      const r = await result;
      throw new Error(`${tool} was never seen mid-stream (vaultra exited ${r.code}): ${r.stderr}`);
    }
    return { child, tool: found, seen, result };
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-mongo-fail-'));
    store = join(root, 'store');
    privateTmp = join(root, 'tmp');
    await mkdir(privateTmp);
    const identity = join(root, 'key.txt');
    await writeFile(identity, formatIdentityFile(key.identity), { mode: 0o600 });
    // TMPDIR: where the tools' credentials files go, so the tests can see they are removed.
    env = { XDG_CONFIG_HOME: join(root, 'config'), VAULTRA_STORAGE: undefined, VAULTRA_CATALOG: undefined, VAULTRA_IDENTITY: identity, TMPDIR: privateTmp };
    await Promise.all([loadVariedFixture(mongo, small), loadBulk(mongo, big, 'rows', 15_000, 2_000)]);
    const baseline = await vaultra(['backup', mongoUrl(mongo, small), '--to', storeUrl(), '--job', 'baseline', '--json']);
    expect(baseline.code, baseline.stderr).toBe(0);
    baselineRunId = (JSON.parse(baseline.stdout) as { runId: string }).runId;
  });

  afterAll(async () => {
    for (const db of databases) await dropMongoDatabase(mongo, db).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('mongodump missing: exit 7, names mongodump and how to install it', async () => {
    const before = await runs(true);
    const bin = join(root, 'bin-no-mongodump');
    await mkdir(bin);
    await symlink(which('zstd')!, join(bin, 'zstd'));
    const result = await vaultra(['backup', mongoUrl(mongo, small), '--to', storeUrl(), '--job', 'no-tool'], { PATH: bin });
    await expectCleanFailure(result, before, 7, /mongodump not found on PATH: install the MongoDB Database Tools/, { kind: 'backup', errorKind: 'tool-missing' });
  });

  it('mongodump killed mid-stream: exit 1, says it was killed, nothing stored, its credentials file removed, no process left', async () => {
    const before = await runs(true);
    const { tool, seen, result } = await startAndCatch(['backup', mongoUrl(mongo, big), '--to', storeUrl(), '--job', 'killed', '--json'], 'mongodump', MiB);
    // Credentials never reach argv: the connection is in a --config file.
    expect(tool.argv).toContain('--config');
    if (password) expect(tool.argv.join(' ')).not.toContain(password);
    process.kill(tool.pid, 'SIGKILL');
    const failed = await expectCleanFailure(await result, before, 1, /mongodump of .* failed \(killed by SIGKILL\)/, { kind: 'backup', errorKind: 'dump' });
    expect(failed.job).toBe('killed');
    expect([...seen.values()].filter(stillRunning).map((p) => `${p.comm} ${p.argv.join(' ')}`)).toEqual([]);
  });

  it('wrong credentials: exit 1, one line saying authentication failed', async (ctx) => {
    if (!password) ctx.skip('the server runs without authentication');
    const before = await runs(true);
    const user = /\/\/([^:/]*):/.exec(mongo.url)?.[1] ?? MONGO_ADMIN_USER;
    const wrong = mongoUrl(mongo, small).replace(/\/\/[^@]*@/, `//${user}:not-the-password@`);
    const result = await vaultra(['backup', wrong, '--to', storeUrl(), '--job', 'bad-password']);
    await expectCleanFailure(result, before, 1, /cannot read MongoDB .*: authentication failed for user \S+ \(authSource \S+\)/, { kind: 'backup', errorKind: 'dump' });
    expect(result.stderr).not.toContain('not-the-password');
  });

  it('unreachable server: exit 1, one line saying the server cannot be reached', async () => {
    const before = await runs(true);
    const port = await freePort();
    const result = await vaultra(['backup', `mongodb://127.0.0.1:${port}/${small}?serverSelectionTimeoutMS=1500`, '--to', storeUrl(), '--job', 'unreachable']);
    await expectCleanFailure(result, before, 1, new RegExp(`cannot read MongoDB 127\\.0\\.0\\.1:${port}/${small}: cannot reach the server at 127\\.0\\.0\\.1:${port}`), { kind: 'backup', errorKind: 'dump' });
  });

  it('a database that does not exist: exit 1, says it holds no collections', async () => {
    const before = await runs(true);
    const result = await vaultra(['backup', mongoUrl(mongo, 'vaultra_no_such_db'), '--to', storeUrl(), '--job', 'no-db']);
    await expectCleanFailure(result, before, 1, /database vaultra_no_such_db holds no collections/, { kind: 'backup', errorKind: 'dump' });
  });

  it('mongorestore killed mid-stream: exit 1, and the database it was creating is gone', async () => {
    const taken = await vaultra(['backup', mongoUrl(mongo, big), '--to', storeUrl(), '--job', 'big', '--json']);
    expect(taken.code, taken.stderr).toBe(0);
    const runId = (JSON.parse(taken.stdout) as { runId: string }).runId;
    const target = uniqueMongoDatabase('fp_target');
    databases.add(target);
    const before = await runs(true);
    const { tool, seen, result } = await startAndCatch(['restore', runId, '--from', storeUrl(), '--target', mongoUrl(mongo, target)], 'mongorestore', 4 * MiB);
    if (password) expect(tool.argv.join(' ')).not.toContain(password);
    expect(readProcess(tool.pid)).toBeDefined();
    process.kill(tool.pid, 'SIGKILL');
    const done = await result;
    // The backup stays listed: only the restore failed.
    const listedBefore = before.filter((r) => r.kind === 'backup' && r.status === 'succeeded').map((r) => r.runId);
    expect(listedBefore).toContain(runId);
    expect(done.code, done.stderr).toBe(1);
    const lines = done.stderr.trimEnd().split('\n');
    expect(lines, done.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: mongorestore into .* failed \(killed by SIGKILL\); mongorestore is not transactional: what it created is removed$/);
    const records = (await runs(true)).filter((r) => !before.some((b) => b.runId === r.runId && b.job === r.job));
    expect(records).toEqual([expect.objectContaining({ kind: 'restore', status: 'failed', error: expect.objectContaining({ kind: 'restore' }) })]);
    expect(await mongoCollections(mongo, target)).toEqual([]);
    expect([...seen.values()].filter(stillRunning)).toEqual([]);
    expect(await readdir(privateTmp)).toEqual([]);
  });
});

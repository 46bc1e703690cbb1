/**
 * How directory backups, verifies and restores fail: one clear line, the documented exit
 * code, a failed run record, no backup listed, nothing left in the store, and a restore target
 * exactly as it was. Through the built CLI with real GNU tar, and at the engine level for
 * archives tar itself would accept (cut at a member boundary) or that try to write outside the
 * target.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryEngine } from '../../core/adapters/engines/directory/directory-engine.js';
import { runFolder } from '../../core/domain/object-layout.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import type { RunRecord } from '../../core/domain/run.js';
import { ConfigError, IntegrityError, RestoreFailedError } from '../../core/errors.js';
import { runVaultra, vaultraBin, type VaultraResult } from '../support/cli.js';
import { killTree, spawnTracked, waitForExit, which, run } from '../support/exec.js';
import { descendantsOf, sleep, stillRunning, type ProcessInfo } from '../support/processes.js';
import { requireTools } from '../support/requirements.js';
import { entriesOf, isRoot, snapshotTree, treeDifferences, ustarArchive } from '../support/dir-fixtures.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

const MiB = 1024 * 1024;

describe('directory failure paths', () => {
  const tools = requireTools('tar', 'zstd');
  if (!tools) return;

  let root = '';
  let ws: Workspace;
  let sourceDir = '';
  let baseline: { runId: string; hashes: Record<string, string> };
  const engine = new DirectoryEngine();

  const vaultra = (args: readonly string[], env: NodeJS.ProcessEnv = {}, prefix: string[] = []): Promise<VaultraResult> =>
    prefix.length ? run(prefix[0]!, [...prefix.slice(1), process.execPath, vaultraBin, ...args], { env: { ...process.env, NO_COLOR: '1', ...ws.env, ...env } }) : runVaultra(args, { env: { ...ws.env, ...env } });

  /** Every run the store's catalog holds (what `list --all` shows), read directly: the CLI's `list` runs once per failure below. */
  const allRuns = (): Promise<RunRecord[]> => new LocalCatalog(join(ws.store, '.vaultra', 'catalog')).list();
  const listedBackups = async (): Promise<RunRecord[]> => {
    const result = await vaultra(['list', '--json', '--from', ws.storeUrl]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RunRecord[];
  };

  const hashTree = async (dir: string): Promise<Record<string, string>> => {
    const out: Record<string, string> = {};
    for (const [name, entry] of Object.entries(await snapshotTree(dir, { skipRoot: true }))) if (entry.sha256) out[name] = entry.sha256;
    return out;
  };

  const backupOk = async (path: string, job: string): Promise<{ runId: string; data: string }> => {
    const result = await vaultra(['backup', `dir:${path}`, '--to', ws.storeUrl, '--job', job, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const { runId } = JSON.parse(result.stdout) as { runId: string };
    return { runId, data: join(ws.store, runFolder(job, runId), 'data.tar.zst.age') };
  };

  /** Exit code, one `vaultra: error:` line, a failed run (or none), no new backup listed, the baseline intact. */
  async function expectCleanFailure(result: VaultraResult, before: RunRecord[], exitCode: number, message: RegExp, expected: { kind: RunRecord['kind']; errorKind: string } | 'none'): Promise<RunRecord | undefined> {
    expect(result.code, `stderr: ${result.stderr}`).toBe(exitCode);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, 'stderr must be exactly one line').toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: \S/);
    expect(lines[0]).toMatch(message);
    const all = await allRuns();
    const created = all.filter((r) => !before.some((b) => b.runId === r.runId && b.job === r.job));
    const listed = await listedBackups();
    expect(listed.map((r) => r.runId).sort()).toEqual(before.filter((r) => r.kind === 'backup' && r.status === 'succeeded').map((r) => r.runId).sort());
    let recorded: RunRecord | undefined;
    if (expected === 'none') expect(created).toEqual([]);
    else {
      expect(created).toHaveLength(1);
      recorded = created[0]!;
      expect(recorded).toMatchObject({ kind: expected.kind, status: 'failed', error: { kind: expected.errorKind } });
      expect(lines[0]).toBe(`vaultra: error: ${recorded.error!.message}`);
      if (recorded.kind === 'backup') expect(await readdir(join(ws.store, runFolder(recorded.job, recorded.runId))).catch(() => [])).toEqual([]);
    }
    expect(await hashTree(join(ws.store, runFolder('baseline', baseline.runId)))).toEqual(baseline.hashes);
    return recorded;
  }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-dir-fail-'));
    ws = makeWorkspace(root, 'ws');
    sourceDir = join(root, 'source');
    await mkdir(join(sourceDir, 'sub'), { recursive: true });
    await writeFile(join(sourceDir, 'a.txt'), 'a');
    await writeFile(join(sourceDir, 'sub', 'b.bin'), Buffer.alloc(300_000, 7));
    const first = await backupOk(sourceDir, 'baseline');
    baseline = { runId: first.runId, hashes: await hashTree(join(ws.store, runFolder('baseline', first.runId))) };
  });

  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  describe('backups that fail', () => {
    it('tar missing from PATH: exit 7, names tar and how to install it', async () => {
      const before = await allRuns();
      const bin = await mkdtemp(join(root, 'path-'));
      await symlink(which('zstd')!, join(bin, 'zstd'));
      const result = await vaultra(['backup', `dir:${sourceDir}`, '--to', ws.storeUrl, '--job', 'no-tar'], { PATH: bin });
      await expectCleanFailure(result, before, 7, /tar not found on PATH: install GNU tar/, { kind: 'backup', errorKind: 'tool-missing' });
    });

    it('tar killed mid-stream: exit 1, says tar was killed, nothing stored, no process left', async () => {
      const before = await allRuns();
      const big = join(root, 'big-source');
      await mkdir(big);
      // gzip -9 of random data runs at some 50 MB/s here: tar stays blocked on its pipe for a
      // second (zstd -19 would be slower still, but swallows the whole input into its buffers).
      await writeFile(join(big, 'random.bin'), randomBytes(48 * MiB));
      const args = ['backup', `dir:${big}`, '--to', ws.storeUrl, '--job', 'killed', '--compression', 'gzip', '--level', '9'];
      const child = spawnTracked(process.execPath, [vaultraBin, ...args], { env: { ...process.env, NO_COLOR: '1', ...ws.env } });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout?.on('data', (c: Buffer) => out.push(c));
      child.stderr?.on('data', (c: Buffer) => err.push(c));
      const seen = new Map<number, ProcessInfo>();
      let tar: ProcessInfo | undefined;
      for (const deadline = Date.now() + 20_000; Date.now() < deadline && child.exitCode === null && !tar; await sleep(10)) {
        for (const p of descendantsOf(child.pid!)) seen.set(p.pid, p);
        tar = [...seen.values()].find((p) => p.comm === 'tar' && p.argv.includes('--create') && stillRunning(p));
      }
      if (!tar) killTree(child, 'SIGKILL');
      expect(tar, 'tar was never seen running').toBeDefined();
      process.kill(tar!.pid, 'SIGKILL');
      const status = await waitForExit(child);
      const result = { code: status.code, signal: status.signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), stdoutBytes: Buffer.concat(out), timedOut: false };
      await expectCleanFailure(result, before, 1, /tar of .*big-source failed \(killed by SIGKILL\)/, { kind: 'backup', errorKind: 'dump' });
      for (const p of descendantsOf(child.pid!)) seen.set(p.pid, p);
      expect([...seen.values()].filter(stillRunning).map((p) => p.comm)).toEqual([]);
    });

    it('an unreadable file: exit 1, names the file and the reason', async () => {
      const before = await allRuns();
      const src = join(root, 'unreadable');
      await mkdir(src);
      await writeFile(join(src, 'fine.txt'), 'fine');
      await writeFile(join(src, 'secret.txt'), 'secret');
      await chmod(join(src, 'secret.txt'), 0o000);
      // Root reads anything: drop the capabilities that let it (the run is otherwise root's).
      const prefix = isRoot ? [which('setpriv')!, '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-dac_override,-dac_read_search'] : [];
      expect(prefix.every(Boolean), 'setpriv (util-linux) is needed to test this as root').toBe(true);
      const result = await vaultra(['backup', `dir:${src}`, '--to', ws.storeUrl, '--job', 'unreadable'], {}, prefix);
      await expectCleanFailure(result, before, 1, /tar of .*unreadable failed \(exit 2: \.\/secret\.txt: Cannot open: Permission denied\)/, { kind: 'backup', errorKind: 'dump' });
    });

    it('a source that does not exist: exit 5, failed run; a file: exit 2; a malformed URL: exit 2, no run', async () => {
      let before = await allRuns();
      const missing = join(root, 'missing-dir');
      const absent = await vaultra(['backup', `dir:${missing}`, '--to', ws.storeUrl]);
      const run = await expectCleanFailure(absent, before, 5, /directory .*missing-dir does not exist/, { kind: 'backup', errorKind: 'not-found' });
      expect(run?.job).toBe('missing-dir');
      expect(existsSync(missing)).toBe(false);

      before = await allRuns();
      const file = await vaultra(['backup', `dir:${join(sourceDir, 'a.txt')}`, '--to', ws.storeUrl, '--job', 'a-file']);
      await expectCleanFailure(file, before, 2, /a\.txt is not a directory/, { kind: 'backup', errorKind: 'config' });

      before = await allRuns();
      const malformed = await vaultra(['backup', 'dir:', '--to', ws.storeUrl]);
      await expectCleanFailure(malformed, before, 2, /malformed directory URL dir:: expected dir:<path/, 'none');
    });
  });

  describe('a damaged stored object', () => {
    it.each([
      ['one flipped byte', async (data: string) => {
        const bytes = await readFile(data);
        bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
        await writeFile(data, bytes);
      }],
      ['a truncated object', async (data: string) => truncate(data, Math.floor((await readFile(data)).length / 2))],
    ])('%s: verify, dry-run and restore exit 3; the targets are as they were', async (_what, damage) => {
      const victim = await backupOk(sourceDir, `damaged-${_what.replace(/\W+/g, '-')}`);
      const original = await readFile(victim.data);
      await damage(victim.data);
      try {
        let before = await allRuns();
        const verified = await vaultra(['verify', victim.runId, '--from', ws.storeUrl]);
        await expectCleanFailure(verified, before, 3, /SHA-256|size|truncated|altered|damaged/i, { kind: 'verify', errorKind: 'integrity' });

        const targets = join(root, `targets-${victim.runId}`);
        await mkdir(join(targets, 'empty'), { recursive: true });
        await mkdir(join(targets, 'full', 'sub'), { recursive: true });
        await writeFile(join(targets, 'full', 'sub', 'b.bin'), 'the target version');
        const snapshot = async () => ({ entries: await entriesOf(targets), empty: await snapshotTree(join(targets, 'empty')), full: await snapshotTree(join(targets, 'full')) });
        const state = await snapshot();

        before = await allRuns();
        const dry = await vaultra(['restore', victim.runId, '--from', ws.storeUrl, '--target', `dir:${join(targets, 'empty')}`, '--dry-run']);
        expect(dry.code, dry.stderr).toBe(3);

        for (const [target, extra] of [[join(targets, 'absent'), []], [join(targets, 'empty'), []], [join(targets, 'full'), ['--force']]] as const) {
          before = await allRuns();
          const restored = await vaultra(['restore', victim.runId, '--from', ws.storeUrl, '--target', `dir:${target}`, ...extra]);
          await expectCleanFailure(restored, before, 3, /SHA-256|size|truncated|altered|damaged/i, { kind: 'restore', errorKind: 'integrity' });
          const now = await snapshot();
          expect(now.entries, 'no temp folder or new target left beside the targets').toEqual(state.entries);
          expect(treeDifferences(state.empty, now.empty)).toEqual({});
          expect(treeDifferences(state.full, now.full)).toEqual({});
        }
      } finally {
        await writeFile(victim.data, original);
      }
    });
  });

  describe('archives GNU tar alone would let through, at the engine level', () => {
    /** A real archive of `sourceDir` made by the engine itself. */
    async function archive(): Promise<Buffer> {
      const dump = await engine.dump(engine.parse(`dir:${sourceDir}`));
      const chunks: Buffer[] = [];
      for await (const chunk of dump.stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    }

    /** The header offsets of the archive's members, from `tar --list --block-number`. */
    async function memberOffsets(tarBytes: Buffer): Promise<number[]> {
      const listed = await run('tar', ['--list', '--block-number', '--file=-'], { input: tarBytes, env: { ...process.env, LC_ALL: 'C' } });
      return [...listed.stdout.matchAll(/^block (\d+): \.\/\S/gm)].map((m) => Number(m[1]) * 512);
    }

    async function validate(bytes: Buffer, contents?: Parameters<DirectoryEngine['openValidation']>[0]): Promise<string> {
      const sink = await engine.openValidation(contents);
      try {
        await pipeline(Readable.from([bytes]), sink.stream);
      } catch (error) {
        await sink.abort();
        throw error;
      }
      return sink.result();
    }

    /** Feeds a restore sink as the use case does: abort on a failed stream, else commit. */
    async function restoreBytes(bytes: Buffer, target: string, options: Parameters<DirectoryEngine['openRestore']>[1] = {}): Promise<void> {
      const sink = await engine.openRestore(engine.parse(`dir:${target}`), options);
      try {
        await pipeline(Readable.from([bytes]), sink.stream);
      } catch (error) {
        await sink.abort();
        throw error;
      }
      await sink.commit();
    }

    it('the engine own archive validates and restores', async () => {
      const bytes = await archive();
      expect(await validate(bytes, { contents: [{ kind: 'file', name: 'a.txt' }, { kind: 'directory', name: 'sub' }] })).toMatch(/^tar listing ok: 4 member\(s\), end-of-archive marker present, all 2 top-level entries/);
      const target = join(root, 'engine-ok');
      await restoreBytes(bytes, target);
      expect(await hashTree(target)).toEqual(await hashTree(sourceDir));
    });

    it('a top-level file deleted between describe and tar: the details name it, and validation given them passes', async () => {
      const dir = await mkdtemp(join(root, 'vanish-'));
      await writeFile(join(dir, 'stays.txt'), 'stays');
      await writeFile(join(dir, 'app.lock'), 'lock');
      const described = await engine.describe(engine.parse(`dir:${dir}`));
      expect(described.contents.map((c) => c.name)).toEqual(['app.lock', 'stays.txt']);
      await rm(join(dir, 'app.lock'));
      const dump = await engine.dump(engine.parse(`dir:${dir}`));
      const chunks: Buffer[] = [];
      for await (const chunk of dump.stream) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      expect(dump.details).toEqual({ vanishedDuringBackup: '["app.lock"]' });
      await expect(validate(bytes, { contents: described.contents })).rejects.toThrow(/lacks 1 top-level entry the manifest lists: app\.lock/);
      expect(await validate(bytes, { contents: described.contents, details: dump.details })).toMatch(/, 1 of 2 top-level entries of the manifest present \(1 deleted while the backup ran\)$/);
    });

    it('cut at a member boundary (tar itself exits 0): validation and restore fail as truncated; the target never appears', async () => {
      const bytes = await archive();
      const offsets = await memberOffsets(bytes);
      const cut = bytes.subarray(0, offsets.at(-1)!);
      const tarItself = await run('tar', ['--list', '--file=-'], { input: cut });
      expect(tarItself.code, 'GNU tar accepts the cut archive: the engine must not rely on it').toBe(0);

      await expect(validate(cut)).rejects.toThrow(IntegrityError);
      await expect(validate(cut)).rejects.toThrow(/truncated: it stops after \d+ member\(s\), before its end-of-archive marker/);
      const target = join(root, 'cut-target');
      await expect(restoreBytes(cut, target)).rejects.toThrow(/truncated/);
      expect(existsSync(target)).toBe(false);
      expect((await readdir(root)).filter((n) => n.includes('vaultra-'))).toEqual([]);
    });

    it('cut inside a member: validation and restore fail; a manifest entry missing from the archive fails validation', async () => {
      const bytes = await archive();
      const cut = bytes.subarray(0, (await memberOffsets(bytes)).at(-1)! + 512 + 1000);
      await expect(validate(cut)).rejects.toThrow(/tar cannot read the archive \(exit 2: Unexpected EOF in archive/);
      const target = join(root, 'cut-inside');
      await expect(restoreBytes(cut, target)).rejects.toThrow(RestoreFailedError);
      expect(existsSync(target)).toBe(false);
      await expect(validate(bytes, { contents: [{ kind: 'file', name: 'a.txt' }, { kind: 'file', name: 'gone.txt' }] })).rejects.toThrow(/the archive lacks 1 top-level entry the manifest lists: gone\.txt/);
    });

    it.each([
      ['an absolute member name', [{ name: './', type: 'directory' }, { name: '/tmp/vaultra-escape-abs.txt', content: 'x' }]],
      ['a member name with ..', [{ name: './', type: 'directory' }, { name: './../vaultra-escape-dotdot.txt', content: 'x' }]],
      ['a hard link to an absolute path', [{ name: './', type: 'directory' }, { name: './hl', type: 'hardlink', linkName: '/etc/hostname' }]],
      ['a file written through a symbolic link that points outside', [{ name: './', type: 'directory' }, { name: './esc', type: 'symlink', linkName: '../outside' }, { name: './esc/pwned.txt', content: 'x' }]],
    ] as const)('%s: the restore refuses it, nothing is written in or outside the target', async (_what, members) => {
      const bytes = ustarArchive(members);
      const area = await mkdtemp(join(root, 'crafted-'));
      await mkdir(join(area, 'outside'));
      const target = join(area, 'target');
      await expect(restoreBytes(bytes, target)).rejects.toThrow(/outside|Cannot open|Cannot hard link|Member name contains/);
      expect(await entriesOf(area)).toEqual(['outside']);
      expect(await entriesOf(join(area, 'outside'))).toEqual([]);
      expect(existsSync('/tmp/vaultra-escape-abs.txt') || existsSync(join(root, 'vaultra-escape-dotdot.txt'))).toBe(false);
    });

    it.each([
      ['an absolute member name', [{ name: '/etc/vaultra-abs', content: 'x' }]],
      ['a member name with ..', [{ name: './a/../../up', content: 'x' }]],
      ['a hard link target outside', [{ name: './hl', type: 'hardlink', linkName: '../../etc/passwd' }]],
    ] as const)('%s: validation (verify, dry-run) fails as not written by Vaultra', async (_what, members) => {
      await expect(validate(ustarArchive([{ name: './', type: 'directory' }, ...members]))).rejects.toThrow(/would land outside the restore target/);
    });

    it('rejects a target that is a file, and --paths that leave the backup', async () => {
      await expect(engine.openRestore(engine.parse(`dir:${join(sourceDir, 'a.txt')}`), {})).rejects.toThrow(ConfigError);
      await expect(engine.inspectTarget(engine.parse(`dir:${join(sourceDir, 'a.txt')}`))).rejects.toThrow(/exists and is not a directory/);
      await expect(engine.openRestore(engine.parse(`dir:${join(root, 'x')}`), { paths: ['../etc'] })).rejects.toThrow(/"\.\." is not allowed/);
      await expect(engine.openRestore(engine.parse(`dir:${join(root, 'x')}`), { paths: ['./'] })).rejects.toThrow(/name a file or folder inside the backup/);
      expect(existsSync(join(root, 'x'))).toBe(false);
    });
  });
});

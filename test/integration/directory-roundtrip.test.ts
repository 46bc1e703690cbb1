/**
 * Directory (volume) round trips through the built CLI (`dist/vaultra.mjs`) with real GNU tar:
 * backup → verify → restore, compared entry by entry (type, mode, owner, size, SHA-256, link
 * target, mtime to the nanosecond, hard-link grouping); restores into an absent path, an empty
 * folder and a mount point; --force and its refusal; dry runs that change nothing; --paths;
 * files changing while tar reads them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { requireTools, unmet } from '../support/requirements.js';
import { type BackupJson, type ManifestJson, type RestoreJson } from '../support/cli-json.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import {
  NON_UTF8_TOP_DISPLAY,
  ODD_TOP,
  createDirectoryFixture,
  entriesOf,
  isRoot,
  snapshotTree,
  treeDifferences,
  type DirectoryFixture,
  type TreeEntry,
} from '../support/dir-fixtures.js';

interface DirectoryManifest extends ManifestJson {
  source: { engine: string; database: string; serverVersion: string };
  dump: { tool: string; toolVersion: string; format: string; consistency: string; details?: Record<string, string> };
  contents: { kind: string; name: string; files?: number; bytes?: number }[];
}

const restoreHelp = runVaultra(['restore', '--help']);

describe('directory round trip through the CLI', () => {
  const tools = requireTools('tar', 'zstd', 'touch', 'mkfifo');
  if (!tools) return;

  let root = '';
  let fixture: DirectoryFixture;
  let source: Record<string, TreeEntry> = {};

  const workspace = (name: string): Workspace => makeWorkspace(root, name);
  const vaultra = (ws: Workspace, args: string[]): Promise<VaultraResult> => runVaultra(args, { env: ws.env });

  const backup = async (ws: Workspace, path: string, extra: string[] = []): Promise<BackupJson> => {
    const result = await vaultra(ws, ['backup', `dir:${path}`, '--to', ws.storeUrl, '--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as BackupJson;
  };
  // These round trips compare every entry with the source, setuid bits, FIFOs and owners
  // included: the archive as it is (directory-safe-restore.test.ts covers the safe default).
  const restore = (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<VaultraResult> =>
    vaultra(ws, ['restore', ref, '--from', ws.storeUrl, '--target', `dir:${target}`, '--preserve-special', ...extra]);
  const restoreOk = async (ws: Workspace, ref: string, target: string, extra: string[] = []): Promise<RestoreJson> => {
    const result = await restore(ws, ref, target, ['--json', ...extra]);
    expect(result.code, result.stderr).toBe(0);
    return JSON.parse(result.stdout) as RestoreJson;
  };
  const manifestOf = (taken: BackupJson): DirectoryManifest => JSON.parse(readFileSync(join(fileURLToPath(taken.location), 'manifest.json'), 'utf8')) as DirectoryManifest;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-dir-rt-'));
    // A file next to the tree that a symbolic link inside it points at: it must never be read.
    writeFileSync(join(root, 'outside-secret.txt'), 'outside the tree');
    fixture = await createDirectoryFixture(join(root, 'vol'));
    source = await snapshotTree(fixture.root);
  });

  afterAll(() => {
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('backs up, verifies and restores into a new path: every entry identical, parents created, nothing else left', async () => {
    const ws = workspace('full');
    const taken = await backup(ws, fixture.root);
    expect(taken).toMatchObject({ job: 'vol', status: 'succeeded', engine: 'directory' });
    expect(readdirSync(fileURLToPath(taken.location)).sort()).toEqual(['data.tar.zst.age', 'manifest.json', 'manifest.json.sig']);
    const manifest = manifestOf(taken);
    expect(manifest.source).toEqual({ engine: 'directory', database: 'vol', serverVersion: expect.stringMatching(/^filesystem \S+$/) });
    expect(manifest.dump).toMatchObject({ tool: 'tar', toolVersion: expect.stringMatching(/^\d+\.\d+/), format: 'tar-posix', consistency: expect.stringMatching(/no point-in-time snapshot/) });
    expect(manifest.dump.details).toBeUndefined();
    expect(manifest.contents.map((c) => c.name)).toEqual(fixture.topLevel);
    expect(manifest.contents).toEqual(
      expect.arrayContaining([
        { kind: 'directory', name: 'config', files: 2, bytes: expect.any(Number) },
        { kind: 'directory', name: 'links', files: 0, bytes: 0 },
        { kind: 'directory', name: 'empty', files: 0, bytes: 0 },
        { kind: 'file', name: ODD_TOP, files: 1, bytes: 18 },
        { kind: 'file', name: NON_UTF8_TOP_DISPLAY, files: 1, bytes: 23 },
      ]),
    );
    // The sparse file counts with its apparent size; a hard-linked file counts once.
    const big = manifest.contents.find((c) => c.name === 'big')!;
    expect(big.bytes).toBe(32 * 1024 * 1024 + 2 * 1024 * 1024);
    // The archive is compact: the sparse file's holes are not stored.
    expect(taken.bytesRaw).toBeLessThan(4 * 1024 * 1024);

    const verified = await vaultra(ws, ['verify', taken.runId, '--from', ws.storeUrl, '--json']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout).structure).toMatch(new RegExp(`^tar listing ok: \\d+ member\\(s\\), end-of-archive marker present, all ${fixture.topLevel.length} top-level entries of the manifest present$`));

    const target = join(ws.dir, 'restored', 'deeper', 'vol');
    const restored = await restoreOk(ws, taken.runId, target);
    expect(restored).toMatchObject({ engine: 'directory', dryRun: false, status: 'restored', replaced: [], bytesRaw: taken.bytesRaw });
    expect(treeDifferences(source, await snapshotTree(target))).toEqual({});
    expect(readdirSync(join(ws.dir, 'restored', 'deeper'))).toEqual(['vol']);
    // Holes stayed holes.
    const sparse = (await snapshotTree(join(target, 'big'), { allocated: true }))['sparse.img']!;
    expect(sparse.allocated).toBeLessThan(1024 * 1024);
    // The source is as it was (tar never follows the links out of the tree).
    expect(treeDifferences(source, await snapshotTree(fixture.root))).toEqual({});
  });

  it('restores into an existing empty folder, with --compression none (tar output relayed through Node)', async () => {
    const ws = workspace('empty-target');
    const taken = await backup(ws, fixture.root, ['--compression', 'none']);
    expect(manifestOf(taken).objects.map((o) => o.name)).toEqual(['data.tar.age']);
    const target = join(ws.dir, 'target');
    mkdirSync(target, { mode: 0o700 });
    const restored = await restoreOk(ws, taken.runId, target);
    expect(restored.replaced).toEqual([]);
    // The empty folder was replaced in one rename: its mode and times are the backup's.
    expect(treeDifferences(source, await snapshotTree(target))).toEqual({});
    expect(readdirSync(ws.dir).filter((name) => name.includes('vaultra-'))).toEqual([]);
  });

  it('a fresh volume root holding only an empty lost+found counts as empty', async () => {
    const ws = workspace('lost-found');
    const small = join(ws.dir, 'small');
    mkdirSync(join(small, 'sub'), { recursive: true });
    writeFileSync(join(small, 'sub', 'f.txt'), 'f');
    const taken = await backup(ws, small);
    const target = join(ws.dir, 'fresh-volume');
    mkdirSync(join(target, 'lost+found'), { recursive: true, mode: 0o700 });
    const restored = await restoreOk(ws, taken.runId, target);
    expect(restored.replaced).toEqual([]);
    expect(await entriesOf(target)).toEqual(['lost+found', 'sub']);
    expect(readFileSync(join(target, 'sub', 'f.txt'), 'utf8')).toBe('f');
  });

  it('backs up a mount point and restores into a tmpfs mount and a bind mount (entries moved in; the mounts stay)', async (ctx) => {
    if (!isRoot) return ctx.skip('mounting needs root');
    const ws = workspace('mounts');
    const [from, to, bindSource, bound] = ['from-mount', 'to-mount', 'bind-source', 'bind-mount'].map((name) => join(ws.dir, name)) as [string, string, string, string];
    for (const dir of [from, to, bindSource, bound]) mkdirSync(dir);
    const mounted: string[] = [];
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0750', 'tmpfs', from], { stdio: 'ignore' });
      mounted.push(from);
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,mode=0777', 'tmpfs', to], { stdio: 'ignore' });
      mounted.push(to);
      // A bind mount on the same filesystem: what a container sees of its volume. Same device
      // number as its parent, yet nothing can be renamed onto it or across it.
      execFileSync('mount', ['--bind', bindSource, bound], { stdio: 'ignore' });
      mounted.push(bound);
    } catch {
      for (const dir of mounted.reverse()) execFileSync('umount', [dir], { stdio: 'ignore' });
      return ctx.skip('mount is not permitted here');
    }
    try {
      mkdirSync(join(from, 'uploads', '2024'), { recursive: true });
      writeFileSync(join(from, 'uploads', '2024', 'a.bin'), randomBytes(100_000));
      writeFileSync(join(from, 'index.html'), '<h1>hi</h1>');
      const expected = await snapshotTree(from);
      const taken = await backup(ws, from);
      expect(manifestOf(taken).source).toMatchObject({ database: 'from-mount', serverVersion: 'filesystem tmpfs' });
      // Utimes reaches microseconds, not nanoseconds: a mount root's mtime is compared to the microsecond.
      const micro = (entry: TreeEntry | undefined) => entry && { ...entry, mtimeNs: entry.mtimeNs.slice(0, -3) };
      for (const target of [to, bound]) {
        await restoreOk(ws, taken.runId, target);
        const actual = await snapshotTree(target);
        expect(micro(actual['.'])).toEqual(micro(expected['.']));
        expect(treeDifferences({ ...expected, '.': actual['.']! }, actual)).toEqual({});
        expect(readFileSync('/proc/self/mountinfo', 'utf8')).toContain(` ${target} `);
      }
      expect(readdirSync(ws.dir).filter((name) => name.includes('vaultra-'))).toEqual([]);
    } finally {
      for (const dir of mounted.reverse()) execFileSync('umount', [dir], { stdio: 'ignore' });
    }
  });

  it('refuses a non-empty target without --force (exit 6, target untouched); --force replaces what the backup holds and keeps the rest', async () => {
    const ws = workspace('force');
    const taken = await backup(ws, fixture.root);
    const target = join(ws.dir, 'existing');
    mkdirSync(join(target, 'config'), { recursive: true });
    writeFileSync(join(target, 'config', 'local-only.yaml'), 'mine');
    writeFileSync(join(target, 'keep-me.txt'), 'not in the backup');
    const before = await snapshotTree(target);

    const refused = await restore(ws, taken.runId, target);
    expect(refused.code, refused.stderr).toBe(6);
    const lines = refused.stderr.trim().split('\n');
    expect(lines, refused.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^vaultra: error: restore target .*existing is not empty \(2 entries: config, keep-me\.txt\): .*--force/);
    expect(treeDifferences(before, await snapshotTree(target))).toEqual({});
    expect(readdirSync(ws.dir).filter((name) => name.includes('vaultra-'))).toEqual([]);

    const forced = await restoreOk(ws, taken.runId, target, ['--force']);
    expect(forced.replaced).toEqual(['config']);
    const after = await snapshotTree(target);
    expect(after['keep-me.txt']).toEqual(before['keep-me.txt']);
    // config/ was replaced as a whole: its local-only file went with it.
    expect(after['config/local-only.yaml']).toBeUndefined();
    const { ['keep-me.txt']: _kept, ...restoredPart } = after;
    const expected = { ...source, '.': restoredPart['.']! };
    expect(treeDifferences(expected, restoredPart)).toEqual({});
    expect(readdirSync(ws.dir).filter((name) => name.includes('vaultra-'))).toEqual([]);
  });

  it('--dry-run reads and checks the backup, reports what it would replace, and changes nothing', async () => {
    const ws = workspace('dry-run');
    const taken = await backup(ws, fixture.root);
    const target = join(ws.dir, 'existing');
    mkdirSync(join(target, 'data'), { recursive: true });
    writeFileSync(join(target, 'data', 'x'), 'x');
    writeFileSync(join(target, 'other'), 'other');
    const before = await snapshotTree(target);
    const siblingsBefore = readdirSync(ws.dir).sort();

    const dry = await restoreOk(ws, taken.runId, target, ['--dry-run']);
    expect(dry).toMatchObject({ dryRun: true, status: 'checked', replaced: ['data'], bytesRaw: taken.bytesRaw });
    expect((dry as RestoreJson & { structure: string }).structure).toMatch(/^tar listing ok: /);
    expect(treeDifferences(before, await snapshotTree(target))).toEqual({});
    expect(readdirSync(ws.dir).sort()).toEqual(siblingsBefore);

    const absent = join(ws.dir, 'not-there', 'vol');
    mkdirSync(join(ws.dir, 'not-there'));
    const dryAbsent = await restoreOk(ws, taken.runId, absent, ['--dry-run']);
    expect(dryAbsent).toMatchObject({ dryRun: true, replaced: [] });
    expect(existsSync(absent)).toBe(false);
    expect(readdirSync(join(ws.dir, 'not-there'))).toEqual([]);
  });

  describe('--paths', async () => {
    const help = await restoreHelp;
    if (!help.stdout.includes('--paths')) {
      unmet('vaultra restore --paths', 'the CLI has no --paths option yet (restore-command.ts must pass `paths` to runRestore)');
      return;
    }

    it('restores exactly the selected paths, with the folders above them', async () => {
      const ws = workspace('paths');
      const taken = await backup(ws, fixture.root);
      const target = join(ws.dir, 'partial');
      await restoreOk(ws, taken.runId, target, ['--paths', 'config/app.yaml,data/,odd/with space']);
      const selected = ['config/app.yaml', 'data', 'odd/with space'];
      const wanted = (key: string) => key === '.' || selected.some((p) => key === p || key.startsWith(`${p}/`) || p.startsWith(`${key}/`));
      const expected = Object.fromEntries(Object.entries(source).filter(([key]) => wanted(key)));
      expect(treeDifferences(expected, await snapshotTree(target))).toEqual({});

      const missing = await restore(ws, taken.runId, join(ws.dir, 'never'), ['--paths', 'config/app.yaml,config/nope.yaml']);
      expect(missing.code, missing.stderr).toBe(5);
      expect(missing.stderr.trim()).toMatch(/^vaultra: error: not in this backup: config\/nope\.yaml /);
      expect(existsSync(join(ws.dir, 'never'))).toBe(false);
    });
  });

  it('a file written while tar reads it: the backup succeeds, the manifest names the file; a socket is left out and named', async () => {
    const ws = workspace('changing');
    const live = join(ws.dir, 'live');
    mkdirSync(live);
    // Big enough that tar is inside it for tens of milliseconds even at zstd's pace, however
    // much of its input zstd buffers.
    writeFileSync(join(live, 'app.log'), randomBytes(48 * 1024 * 1024));
    writeFileSync(join(live, 'steady.txt'), 'steady');
    const server: Server = await new Promise((resolve) => {
      const s = createServer().listen(join(live, 'app.sock'), () => resolve(s));
    });
    // The writer is a process of its own, appending without pause: a timer in this process may
    // not run at all while tar reads, on a loaded machine.
    const writer = spawn('sh', ['-c', 'while :; do echo another line >> app.log; done'], { cwd: live, stdio: 'ignore' });
    let taken: BackupJson;
    let stderr: string;
    try {
      const result = await vaultra(ws, ['backup', `dir:${live}`, '--to', ws.storeUrl, '--json']);
      expect(result.code, result.stderr).toBe(0);
      taken = JSON.parse(result.stdout) as BackupJson;
      stderr = result.stderr;
    } finally {
      writer.kill('SIGKILL');
      await new Promise((resolve) => server.close(resolve));
    }
    const manifest = manifestOf(taken);
    expect(manifest.dump.details).toEqual({
      changedWhileRead: expect.stringMatching(/^1 file\(s\) changed while tar read them, their copies may be torn: \.\/app\.log$/),
      skipped: '1 entry tar cannot archive: ./app.sock (socket)',
    });
    expect(manifest.contents.map((c) => c.name)).toEqual(['app.log', 'steady.txt']);
    // The operator hears it too, on stderr, even with --json on stdout.
    expect(stderr.trim().split('\n').filter((line) => line.includes('warning'))).toEqual([
      expect.stringMatching(/^vaultra: warning: 1 file\(s\) changed while tar read them/),
      'vaultra: warning: 1 entry tar cannot archive: ./app.sock (socket)',
    ]);
    const verified = await vaultra(ws, ['verify', taken.runId, '--from', ws.storeUrl]);
    expect(verified.code, verified.stderr).toBe(0);
    const target = join(ws.dir, 'restored');
    await restoreOk(ws, taken.runId, target);
    expect(await entriesOf(target)).toEqual(['app.log', 'steady.txt']);
    expect(readFileSync(join(target, 'steady.txt'), 'utf8')).toBe('steady');
  });
});

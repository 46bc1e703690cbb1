/**
 * Safe directory restores (issue 12): whoever can write to the bucket can shape what a
 * directory backup holds. Restored as root, a backup must not bring back setuid/setgid bits,
 * device nodes, FIFOs, world-writable modes, file capabilities or foreign owners unless the
 * user asks for the archive as it is (`--preserve-special`).
 *
 * Two ways in: a forged archive (built byte by byte, as an attacker with the public recipient
 * would) fed straight to the engine's restore sink, and a real backup of such a tree through
 * the built CLI, restored with and without the flag.
 */
import { lstat, mkdir, mkdtemp, readFile, rm, writeFile, chmod, chown } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryEngine } from '../../core/adapters/engines/directory/directory-engine.js';
import type { DirectoryRestoreOptions } from '../../core/adapters/engines/directory/directory-restore.js';
import { runVaultra } from '../support/cli.js';
import { run, runOk } from '../support/exec.js';
import { requireTools, unmet } from '../support/requirements.js';
import { isRoot, snapshotTree, treeDifferences, ustarArchive, type TreeEntry, type UstarMember } from '../support/dir-fixtures.js';
import { makeWorkspace } from '../support/workspace.js';

const FOREIGN = 4242;

/** What an attacker would put in a volume backup. */
const FORGED: readonly UstarMember[] = [
  { name: './', type: 'directory', mode: 0o777 },
  { name: './bin/', type: 'directory', mode: 0o755 },
  { name: './bin/rootshell', content: '#!/bin/sh\nexec /bin/sh -p\n', mode: 0o4755, uid: 0, gid: 0 },
  { name: './bin/groupshell', content: 'setgid', mode: 0o2755, uid: 0, gid: 0 },
  { name: './dev/', type: 'directory', mode: 0o755 },
  // The null device: harmless if it survived, but a 0666 node all the same.
  { name: './dev/null-node', type: 'char', mode: 0o666, device: [1, 3] },
  { name: './dev/loop-node', type: 'block', mode: 0o660, device: [7, 200] },
  { name: './queue.fifo', type: 'fifo', mode: 0o644 },
  { name: './drop/', type: 'directory', mode: 0o777 },
  { name: './drop/writable.txt', content: 'anyone may write me', mode: 0o666 },
  { name: './theirs.txt', content: 'owned by a stranger', uid: FOREIGN, gid: FOREIGN },
  { name: './plain.txt', content: 'plain data', mode: 0o640 },
];

async function modeOf(path: string): Promise<number> {
  return (await lstat(path)).mode & 0o7777;
}

describe('safe directory restore of a forged archive (engine restore sink)', () => {
  const tools = requireTools('tar');
  if (!tools) return;
  if (!isRoot) {
    unmet('root', 'only root can create device nodes and give files away, which is what this guards against');
    return;
  }

  const engine = new DirectoryEngine();
  let root = '';

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-safe-restore-'));
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  async function restoreBytes(bytes: Buffer, target: string, options: DirectoryRestoreOptions = {}): Promise<readonly string[]> {
    const sink = await engine.openRestore(engine.parse(`dir:${target}`), options);
    try {
      await pipeline(Readable.from([bytes]), sink.stream);
    } catch (error) {
      await sink.abort();
      throw error;
    }
    await sink.commit();
    return sink.notes ?? [];
  }

  it('by default: no setuid/setgid bit, no device node or FIFO, no world-write bit, no foreign owner; the rest restored; the notes say what was left out', async () => {
    const target = join(root, 'default');
    const notes = await restoreBytes(ustarArchive(FORGED), target);

    const tree = await snapshotTree(target);
    expect(Object.keys(tree).sort()).toEqual(['.', 'bin', 'bin/groupshell', 'bin/rootshell', 'dev', 'drop', 'drop/writable.txt', 'plain.txt', 'theirs.txt']);
    for (const [name, entry] of Object.entries(tree)) {
      expect(['file', 'directory'], name).toContain(entry.type);
      expect(Number.parseInt(entry.mode, 8) & 0o6002, `${name} mode ${entry.mode}`).toBe(0);
      expect([entry.uid, entry.gid], name).toEqual([0, 0]);
    }
    expect(await modeOf(target)).toBe(0o775);
    expect(await modeOf(join(target, 'bin', 'rootshell'))).toBe(0o755);
    expect(await modeOf(join(target, 'bin', 'groupshell'))).toBe(0o755);
    expect(await modeOf(join(target, 'drop'))).toBe(0o775);
    expect(await modeOf(join(target, 'drop', 'writable.txt'))).toBe(0o664);
    expect(await modeOf(join(target, 'plain.txt'))).toBe(0o640);
    expect(await readFile(join(target, 'plain.txt'), 'utf8')).toBe('plain data');
    expect(await readFile(join(target, 'theirs.txt'), 'utf8')).toBe('owned by a stranger');
    // The folder a special file was removed from keeps its archived mtime.
    expect((await lstat(join(target, 'dev'))).mtimeMs).toBe(1_700_000_000_000);

    expect(notes).toEqual([
      'device nodes, FIFOs and sockets left out (3): dev/loop-node (block device), dev/null-node (character device), queue.fifo (FIFO); pass --preserve-special to restore them as archived',
      'setuid/setgid bits cleared (2): bin/groupshell, bin/rootshell; pass --preserve-special to restore them as archived',
      'world-write permission removed (3): ./, drop/, drop/writable.txt; pass --preserve-special to restore them as archived',
    ]);
    expect((await run('ls', ['-a', root])).stdout.split('\n').filter((name) => name.includes('vaultra-'))).toEqual([]);
  });

  it('--preserve-special restores the archive as it is: bits, nodes, FIFO, modes and owners', async () => {
    const target = join(root, 'preserved');
    const notes = await restoreBytes(ustarArchive(FORGED), target, { preserveSpecial: true });
    expect(notes).toEqual([]);
    expect(await modeOf(target)).toBe(0o777);
    expect(await modeOf(join(target, 'bin', 'rootshell'))).toBe(0o4755);
    expect(await modeOf(join(target, 'bin', 'groupshell'))).toBe(0o2755);
    const node = await lstat(join(target, 'dev', 'null-node'));
    expect(node.isCharacterDevice()).toBe(true);
    expect(node.mode & 0o7777).toBe(0o666);
    expect((await lstat(join(target, 'dev', 'loop-node'))).isBlockDevice()).toBe(true);
    expect((await lstat(join(target, 'queue.fifo'))).isFIFO()).toBe(true);
    expect(await modeOf(join(target, 'drop', 'writable.txt'))).toBe(0o666);
    const theirs = await lstat(join(target, 'theirs.txt'));
    expect([theirs.uid, theirs.gid]).toEqual([FOREIGN, FOREIGN]);
  });

  it('--preserve-special --no-owner keeps nodes and modes but clears set-id bits: the files would now be root\'s', async () => {
    const target = join(root, 'preserved-no-owner');
    const notes = await restoreBytes(ustarArchive(FORGED), target, { preserveSpecial: true, noOwner: true });
    expect(await modeOf(join(target, 'bin', 'rootshell'))).toBe(0o755);
    expect((await lstat(join(target, 'dev', 'null-node'))).isCharacterDevice()).toBe(true);
    expect(await modeOf(join(target, 'drop'))).toBe(0o777);
    expect((await lstat(join(target, 'theirs.txt'))).uid).toBe(0);
    expect(notes).toEqual(['setuid/setgid bits cleared (2): bin/groupshell, bin/rootshell; with --no-owner they would belong to root']);
  });

  it('a selective restore (--paths) is made safe the same way', async () => {
    const target = join(root, 'selected');
    const notes = await restoreBytes(ustarArchive(FORGED), target, { paths: ['bin', 'queue.fifo'] });
    expect(await modeOf(join(target, 'bin', 'rootshell'))).toBe(0o755);
    expect(existsSync(join(target, 'queue.fifo'))).toBe(false);
    expect(notes.join('\n')).toMatch(/queue\.fifo \(FIFO\)/);
  });
});

describe('safe directory restore through the CLI (a real backup of a hostile tree)', () => {
  const tools = requireTools('tar', 'zstd', 'mkfifo', 'mknod', 'setcap', 'getcap');
  if (!tools) return;
  if (!isRoot) {
    unmet('root', 'only root can create device nodes, set file capabilities and give files away');
    return;
  }

  let root = '';
  let source = '';
  let expected: Record<string, TreeEntry> = {};
  const ws = () => makeWorkspace(root, 'ws');

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-safe-cli-'));
    source = join(root, 'volume');
    await mkdir(join(source, 'bin'), { recursive: true });
    await writeFile(join(source, 'bin', 'suid'), 'not really a binary');
    await chmod(join(source, 'bin', 'suid'), 0o4755);
    await writeFile(join(source, 'bin', 'pinger'), 'capable');
    await runOk('setcap', ['cap_net_raw+ep', join(source, 'bin', 'pinger')]);
    await runOk('mknod', ['-m', '0666', join(source, 'null-node'), 'c', '1', '3']);
    await runOk('mkfifo', [join(source, 'queue.fifo')]);
    await mkdir(join(source, 'drop'));
    await chmod(join(source, 'drop'), 0o1777);
    await writeFile(join(source, 'app-data.txt'), 'owned by the app');
    await chown(join(source, 'app-data.txt'), FOREIGN, FOREIGN);
    expected = await snapshotTree(source);
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('restores without the dangerous parts by default, says so on stderr and in --json; --preserve-special restores everything', async () => {
    const w = ws();
    const taken = await runVaultra(['backup', `dir:${source}`, '--to', w.storeUrl, '--no-encryption', '--json'], { env: w.env });
    expect(taken.code, taken.stderr).toBe(0);
    const runId = (JSON.parse(taken.stdout) as { runId: string }).runId;

    const safeTarget = join(w.dir, 'safe');
    const safe = await runVaultra(['restore', runId, '--from', w.storeUrl, '--target', `dir:${safeTarget}`, '--json'], { env: w.env });
    expect(safe.code, safe.stderr).toBe(0);
    const warnings = safe.stderr.trim().split('\n');
    expect(warnings).toEqual([
      'vaultra: warning: device nodes, FIFOs and sockets left out (2): null-node (character device), queue.fifo (FIFO); pass --preserve-special to restore them as archived',
      'vaultra: warning: setuid/setgid bits cleared (1): bin/suid; pass --preserve-special to restore them as archived',
      'vaultra: warning: world-write permission removed (1): drop/; pass --preserve-special to restore them as archived',
    ]);
    expect((JSON.parse(safe.stdout) as { notes: string[] }).notes).toHaveLength(3);
    const restored = await snapshotTree(safeTarget);
    expect(restored['null-node']).toBeUndefined();
    expect(restored['queue.fifo']).toBeUndefined();
    expect(restored['bin/suid']!.mode).toBe('0755');
    expect(restored['drop']!.mode).toBe('1775');
    expect([restored['app-data.txt']!.uid, restored['app-data.txt']!.gid]).toEqual([0, 0]);
    expect((await run('getcap', [join(safeTarget, 'bin', 'pinger')])).stdout.trim()).toBe('');
    expect(restored['app-data.txt']!.sha256).toBe(expected['app-data.txt']!.sha256);

    const fullTarget = join(w.dir, 'full');
    const full = await runVaultra(['restore', runId, '--from', w.storeUrl, '--target', `dir:${fullTarget}`, '--preserve-special'], { env: w.env });
    expect(full.code, full.stderr).toBe(0);
    expect(full.stderr).not.toContain('warning');
    const all = await snapshotTree(fullTarget);
    expect(treeDifferences({ ...expected, '.': all['.']! }, all)).toEqual({});
    expect(all['null-node']).toBeDefined();
    expect((await run('getcap', [join(fullTarget, 'bin', 'pinger')])).stdout).toContain('cap_net_raw=ep');

    const help = await runVaultra(['restore', '--help']);
    expect(help.stdout).toMatch(/--preserve-special\s+directories: restore the archive as it is/);
  });
});

/**
 * Directory restores by a user without root's powers (as `nobody` through `setpriv` when the
 * suite runs as root): folders restored read-only (0555) must still be moved into place and
 * cleaned up after a failure, and a target whose parent the user cannot write gets its temp
 * folder inside itself.
 */
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, vaultraBin, type VaultraResult } from '../support/cli.js';
import { run, runOk, which } from '../support/exec.js';
import { requireTools } from '../support/requirements.js';
import { isRoot, snapshotTree, treeDifferences, type TreeEntry } from '../support/dir-fixtures.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

const NOBODY = 65534;

describe('directory restore without root powers', () => {
  const tools = requireTools('tar', 'zstd', ...(isRoot ? ['setpriv'] : []));
  if (!tools) return;

  let root = '';
  let ws: Workspace;
  let source = '';
  let runId = '';

  /** `vaultra …` as nobody (when we are root) or as ourselves. */
  const asUser = (args: string[]): Promise<VaultraResult> => {
    if (!isRoot) return runVaultra(args, { env: ws.env });
    const env = { ...process.env, NO_COLOR: '1', HOME: ws.dir, ...ws.env };
    return run(which('setpriv')!, [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, vaultraBin, ...args], { env });
  };

  /** What a restore by this user must reproduce: everything but the owner (a user cannot give files away). */
  const withoutOwner = (tree: Record<string, TreeEntry>) => Object.fromEntries(Object.entries(tree).map(([name, { uid: _uid, gid: _gid, ...rest }]) => [name, rest]));

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'vaultra-dir-user-'));
    await chmod(root, 0o755);
    ws = makeWorkspace(root, 'ws');
    source = join(root, 'source');
    await mkdir(join(source, 'read-only-dir', 'nested'), { recursive: true });
    await writeFile(join(source, 'read-only-dir', 'nested', 'inside.txt'), 'inside');
    await chmod(join(source, 'read-only-dir', 'nested'), 0o555);
    await chmod(join(source, 'read-only-dir'), 0o555);
    await mkdir(join(source, 'sub'));
    await writeFile(join(source, 'sub', 'a.txt'), 'a');
    await writeFile(join(source, 'top.txt'), 'top');
    await chmod(source, 0o555);
    const taken = await runVaultra(['backup', `dir:${source}`, '--to', ws.storeUrl, '--no-encryption', '--json'], { env: ws.env });
    expect(taken.code, taken.stderr).toBe(0);
    runId = (JSON.parse(taken.stdout) as { runId: string }).runId;
    if (isRoot) await runOk('chown', ['-R', `${NOBODY}:${NOBODY}`, ws.dir]);
  });

  afterAll(async () => {
    if (root) await runOk('chmod', ['-R', 'u+rwx', root]).catch(() => undefined);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('restores read-only folders into a target whose parent it cannot write, replaces them with --force, and cleans up a failed selection', async () => {
    const area = join(root, 'area');
    await mkdir(area, { mode: 0o755 });
    const target = join(area, 'target');
    await mkdir(target);
    if (isRoot) await chown(target, NOBODY, NOBODY);
    else await chmod(area, 0o555);
    const expected = withoutOwner(await snapshotTree(source));

    const first = await asUser(['restore', runId, '--from', ws.storeUrl, '--target', `dir:${target}`, '--json']);
    expect(first.code, first.stderr).toBe(0);
    const restored = withoutOwner(await snapshotTree(target));
    // The root's mtime is set with utimes (microseconds) when entries are moved into an existing folder.
    expect(restored['.']!.mtimeNs.slice(0, -3)).toBe(expected['.']!.mtimeNs.slice(0, -3));
    expect(treeDifferences({ ...expected, '.': restored['.']! }, restored)).toEqual({});
    expect(await readdir(area)).toEqual(['target']);

    // The restored root is 0555 like the source's: open it up so the user may replace entries.
    await chmod(target, 0o755);
    const forced = await asUser(['restore', runId, '--from', ws.storeUrl, '--target', `dir:${target}`, '--force', '--json']);
    expect(forced.code, forced.stderr).toBe(0);
    expect((JSON.parse(forced.stdout) as { replaced: string[] }).replaced).toEqual(['read-only-dir', 'sub', 'top.txt']);
    const again = withoutOwner(await snapshotTree(target));
    expect(treeDifferences({ ...expected, '.': again['.']! }, again)).toEqual({});

    // tar extracts the read-only folder, then fails on the missing path: the temp folder inside
    // the target, read-only folder and all, must go.
    await chmod(target, 0o755);
    const before = await snapshotTree(target);
    const micro = (tree: Record<string, TreeEntry>) => ({ ...tree, '.': { ...tree['.']!, mtimeNs: tree['.']!.mtimeNs.slice(0, -3) } });
    const failed = await asUser(['restore', runId, '--from', ws.storeUrl, '--target', `dir:${target}`, '--force', '--paths', 'read-only-dir,sub/missing.txt']);
    expect(failed.code, failed.stderr).toBe(5);
    expect(failed.stderr).toMatch(/not in this backup: sub\/missing\.txt/);
    // The temp folder was inside the target: its mtime is put back, to the microsecond.
    expect(treeDifferences(micro(before), micro(await snapshotTree(target)))).toEqual({});
    expect(await readdir(target)).toEqual(['read-only-dir', 'sub', 'top.txt']);
  });
});

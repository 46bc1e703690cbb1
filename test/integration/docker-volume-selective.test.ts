/**
 * Selective restores into Docker volumes (`restore --paths … --target volume:<name>`) through
 * the built CLI and a real Docker engine, with `dir:`'s rules: exactly the selected paths (and
 * the folders above them) come back, content-equal; an existing volume gains them without
 * losing anything; a selected path the volume holds is a conflict unless `--force`; a path the
 * backup lacks is named and changes nothing; a dry run says what it would replace and writes
 * nothing, not even an absent volume.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { docker, inVolume, removeDockerThings, requireDockerVolumes, volumeListing } from '../support/docker-volumes.js';

const FILL_SCRIPT = `set -e
mkdir -p /v/config /v/data/sub /v/logs
echo 'listen: 5432' > /v/config/app.yaml
echo 'level: debug' > /v/config/log.yaml
head -c 3000000 /dev/urandom > /v/data/big.bin
echo nested > /v/data/sub/file.txt
echo 'old log' > /v/logs/1.log
echo top > /v/top.txt
chmod 750 /v/data`;

describe('selective restores into Docker volumes (--paths)', () => {
  const setup = requireDockerVolumes();
  if (!setup) return;
  const { helperImage } = setup;
  const tag = randomBytes(4).toString('hex');
  const name = (what: string) => `vaultra-test-${tag}-${what}`;
  const source = name('source');
  const volumes: string[] = [source];
  let root: string;
  let ws: Workspace;
  const vaultra = (args: string[]) => runVaultra([...args, '--no-progress'], { env: { ...ws.env, VAULTRA_VOLUME_HELPER_IMAGE: helperImage }, timeoutMs: 300_000 });
  const restore = (target: string, ...more: string[]) => vaultra(['restore', 'latest', '--from', ws.storeUrl, '--target', `volume:${target}`, '--preserve-special', ...more]);
  /** The lines of a volume listing (see volumeListing) under the given paths. */
  const under = (listing: string, paths: string[]) =>
    listing
      .split('\n')
      .filter((line) => paths.some((path) => line.includes(` ./${path} `) || line.includes(` ./${path}/`) || line.endsWith(` ./${path}`)))
      .join('\n');
  const freshVolume = async (what: string, script: string) => {
    const volume = name(what);
    volumes.push(volume);
    await docker('volume', 'create', volume);
    await inVolume(helperImage, volume, script);
    return volume;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-volume-sel-'));
    ws = makeWorkspace(root, 'ws');
    await docker('volume', 'create', source);
    await inVolume(helperImage, source, FILL_SCRIPT);
    const backup = await vaultra(['backup', `volume:${source}`, '--to', ws.storeUrl]);
    expect(backup.code, backup.stderr).toBe(0);
  }, 180_000);

  afterAll(async () => {
    await removeDockerThings([], volumes);
    rmSync(root, { recursive: true, force: true });
  });

  it('restores only the selected paths (and the folders above them) into an absent volume, content-equal', async () => {
    // Prepare
    const target = name('fresh');
    volumes.push(target);
    // Act
    const result = await restore(target, '--paths', 'config/app.yaml,data/sub', '--json');
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'restored', replaced: [] });
    const listing = await volumeListing(helperImage, target);
    const sourceListing = await volumeListing(helperImage, source);
    expect(await inVolume(helperImage, target, 'cd /v && find . -mindepth 1 | sort', { readOnly: true })).toBe(['./config', './config/app.yaml', './data', './data/sub', './data/sub/file.txt'].join('\n'));
    expect(under(listing, ['config/app.yaml', 'data/sub'])).toBe(under(sourceListing, ['config/app.yaml', 'data/sub']));
    // The folder above a selected path keeps its archived mode.
    expect(listing).toMatch(/^d 750 0:0 .* \.\/data -> $/m);
  });

  it('adds the selected paths to a volume holding other data; a path it holds is a conflict unless --force', async () => {
    // Prepare
    const target = await freshVolume('busy', 'mkdir -p /v/config && echo mine > /v/config/local.yaml && echo keep > /v/keep');
    // Act
    const first = await restore(target, '--paths', 'config/app.yaml,logs');
    const again = await restore(target, '--paths', 'config/app.yaml,top.txt');
    const unchanged = await inVolume(helperImage, target, 'cd /v && find . -mindepth 1 | sort', { readOnly: true });
    await inVolume(helperImage, target, 'echo stale > /v/config/app.yaml');
    const forced = await restore(target, '--paths', 'config/app.yaml', '--force', '--json');
    // Assess
    expect(first.code, first.stderr).toBe(0);
    expect(again.code).toBe(6);
    expect(again.stderr).toMatch(/restore target volume:\S+ already holds config\/app\.yaml: restore into another volume, or pass --force to replace it/);
    expect(unchanged).toBe(['./config', './config/app.yaml', './config/local.yaml', './keep', './logs', './logs/1.log'].join('\n'));
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout).replaced).toEqual(['config/app.yaml']);
    expect(await inVolume(helperImage, target, 'cat /v/config/app.yaml /v/config/local.yaml /v/keep && ls -A /v', { readOnly: true })).toBe('listen: 5432\nmine\nkeep\nconfig\nkeep\nlogs');
  });

  it('refuses a file where the backup has a folder above a selected path, even with --force', async () => {
    const target = await freshVolume('file-in-way', 'echo not-a-folder > /v/data');
    const result = await restore(target, '--paths', 'data/sub', '--force');
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/has data as a file, where the backup has a folder holding data\/sub: move it away first/);
    expect(await inVolume(helperImage, target, 'ls -A /v && cat /v/data', { readOnly: true })).toBe('data\nnot-a-folder');
  });

  it('names a selected path the backup lacks and leaves the volume as it was, no workspace behind', async () => {
    const target = await freshVolume('missing', 'echo keep > /v/keep');
    const result = await restore(target, '--paths', 'data/nosuch');
    expect(result.code).toBe(5);
    expect(result.stderr).toMatch(/not in this backup: data\/nosuch .*nothing was restored/);
    expect(await inVolume(helperImage, target, 'ls -A /v', { readOnly: true })).toBe('keep');
  });

  it('a dry run says what a selection would replace and writes nothing; into an absent volume it creates none', async () => {
    // Prepare
    const target = await freshVolume('dry', 'mkdir -p /v/config && echo mine > /v/config/app.yaml');
    const absent = name('dry-absent');
    // Act
    const dry = await restore(target, '--paths', 'config/app.yaml', '--dry-run', '--json');
    const human = await restore(absent, '--paths', 'config', '--dry-run');
    // Assess
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, status: 'checked', replaced: ['config'] });
    expect(await inVolume(helperImage, target, 'cat /v/config/app.yaml && ls -A /v', { readOnly: true })).toBe('mine\nconfig');
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^dry run: backup \S+ checks out; nothing was written/);
    expect(human.stdout).toMatch(/would restore\s+config \(1 object\(s\)/);
    expect(await docker('volume', 'ls', '-q', '--filter', `name=${absent}`)).toBe('');
  });
});

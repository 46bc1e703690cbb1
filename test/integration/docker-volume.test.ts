/**
 * Docker volumes (`volume:<name>`) through the built CLI and a real Docker engine (set up by
 * scripts/setup-docker.sh: host network only, local base images): a volume with real files
 * round-trips volume → local folder store → another volume, content-equal (compared through a
 * helper container listing with checksums); restores refuse a non-empty volume; `vaultra
 * volumes` names the containers using a volume; `--stop-containers` stops the running ones and
 * starts exactly those again, after a success, a failing backup (a helper whose tar fails
 * mid-stream) and an interrupted one (SIGINT), while a stopped container stays stopped.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, vaultraBin } from '../support/cli.js';
import { run } from '../support/exec.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { buildHelperWithTar, containerState, docker, inVolume, removeDockerThings, requireDockerVolumes, SERVICE_COMMAND, volumeListing } from '../support/docker-volumes.js';

/** A volume with what a volume holds: nested folders, modes, an application uid, symlinks (one dangling), a hard link, an empty folder, odd names, a 24 MB file. */
const FILL_SCRIPT = `set -e
mkdir -p /v/app/conf /v/empty-dir /v/data
echo 'listen: 5432' > /v/app/conf/app.yaml
chmod 600 /v/app/conf/app.yaml
chown -R 999:999 /v/app
ln -s conf/app.yaml /v/app/current
ln -s /nowhere /v/dangling
head -c 24000000 /dev/urandom > /v/data/large.bin
ln /v/data/large.bin /v/data/hardlink.bin
printf 'x' > '/v/data/name with spaces'
printf 'y' > '/v/data/-leading-dash'
chmod 750 /v/data`;

describe('Docker volume backups through the CLI', () => {
  const setup = requireDockerVolumes();
  if (!setup) return;
  const { helperImage } = setup;
  const tag = randomBytes(4).toString('hex');
  const name = (what: string) => `vaultra-test-${tag}-${what}`;
  const volumes: string[] = [];
  const containers: string[] = [];
  let root: string;
  let ws: Workspace;
  const vaultra = (args: string[], env: NodeJS.ProcessEnv = {}) => runVaultra([...args, ...(args[0] === 'volumes' ? [] : ['--no-progress'])], { env: { ...ws.env, VAULTRA_VOLUME_HELPER_IMAGE: helperImage, ...env }, timeoutMs: 300_000 });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-volume-'));
    ws = makeWorkspace(root, 'ws');
  });

  afterAll(async () => {
    await removeDockerThings(containers, volumes);
    rmSync(root, { recursive: true, force: true });
  });

  describe('round trip', () => {
    const source = name('source');
    const copy = name('copy');
    const plain = name('plain');
    volumes.push(source, copy, plain);

    beforeAll(async () => {
      await docker('volume', 'create', source);
      await inVolume(helperImage, source, FILL_SCRIPT);
    }, 120_000);

    it('backs a volume up and restores it into another volume, content-equal; a non-empty volume is refused', async () => {
      // Prepare
      const before = await volumeListing(helperImage, source);
      // Act
      const backup = await vaultra(['backup', `volume:${source}`, '--to', ws.storeUrl, '--json']);
      const restore = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--target', `volume:${copy}`, '--preserve-special', '--json']);
      const again = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--target', `volume:${copy}`]);
      const verify = await vaultra(['verify', 'latest', '--from', ws.storeUrl, '--json']);
      // Assess
      expect(backup.code, backup.stderr).toBe(0);
      expect(JSON.parse(backup.stdout)).toMatchObject({ status: 'succeeded', engine: 'volume' });
      expect(restore.code, restore.stderr).toBe(0);
      expect(await volumeListing(helperImage, copy)).toBe(before);
      expect(before).toContain('data/large.bin');
      expect(before).toMatch(/^f 600 999:999 13 .* \.\/app\/conf\/app\.yaml -> $/m);
      expect(again.code).toBe(6);
      expect(again.stderr).toMatch(/restore target volume:\S+ is not empty .*pass --force/);
      expect(await volumeListing(helperImage, copy)).toBe(before);
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stdout).toContain('end-of-archive marker present');
    });

    it('restores files as root\'s without --preserve-special, contents equal, and replaces with --force', async () => {
      // Act
      const first = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--target', `volume:${plain}`]);
      await inVolume(helperImage, plain, 'echo stale > /v/app/conf/app.yaml && echo keep > /v/extra');
      const forced = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--target', `volume:${plain}`, '--force', '--json']);
      // Assess
      expect(first.code, first.stderr).toBe(0);
      expect(forced.code, forced.stderr).toBe(0);
      expect(JSON.parse(forced.stdout).replaced).toEqual(expect.arrayContaining(['app', 'data']));
      const listing = await inVolume(helperImage, plain, 'cd /v && stat -c "%U:%G %n" app/conf/app.yaml && cat extra && find . -type f ! -name extra -exec sha256sum {} + | sort', { readOnly: true });
      const sums = (await volumeListing(helperImage, source)).split('\n').filter((line) => /^[0-9a-f]{64} /.test(line));
      expect(listing).toContain('root:root app/conf/app.yaml');
      expect(listing).toContain('keep');
      for (const sum of sums) expect(listing).toContain(sum);
    });
  });

  describe('--stop-containers', () => {
    const volume = name('svc');
    const running = name('running');
    const stopped = name('stopped');
    const failingImage = `vaultra-test/tar-fails:${tag}`;
    const stallingImage = `vaultra-test/tar-stalls:${tag}`;
    volumes.push(volume);
    containers.push(running, stopped);

    /** A helper image whose `tar` (first on PATH) writes some bytes, then fails or hangs. */
    const helperWithTar = (image: string, script: string) => buildHelperWithTar(helperImage, image, script);

    beforeAll(async () => {
      await docker('volume', 'create', volume);
      await inVolume(helperImage, volume, 'echo data > /v/file');
      await docker('run', '-d', '--name', running, '--network', 'none', '-v', `${volume}:/data`, helperImage, ...SERVICE_COMMAND);
      await docker('run', '-d', '--name', stopped, '--network', 'none', '-v', `${volume}:/data`, helperImage, ...SERVICE_COMMAND);
      await docker('stop', stopped);
      await helperWithTar(failingImage, 'head -c 1000000 /dev/zero; echo "tar: injected failure" >&2; exit 2');
      await helperWithTar(stallingImage, 'head -c 100000 /dev/zero; exec sleep 120');
    }, 240_000);

    afterAll(async () => {
      await run('docker', ['rmi', '-f', failingImage, stallingImage]);
    });

    it('vaultra volumes lists the volume with both containers and their states', async () => {
      const listed = await vaultra(['volumes', '--json']);
      expect(listed.code, listed.stderr).toBe(0);
      const entry = (JSON.parse(listed.stdout) as { name: string; driver: string; containers: { name: string; state: string }[] }[]).find((v) => v.name === volume);
      expect(entry?.driver).toBe('local');
      expect(entry?.containers.map((c) => [c.name, c.state]).sort()).toEqual([
        [running, 'running'],
        [stopped, 'exited'],
      ]);
    });

    it('stops the running container for the backup and starts it again; the stopped one stays stopped', async () => {
      // Prepare
      const before = await containerState(running);
      // Act
      const backup = await vaultra(['backup', `volume:${volume}`, '--to', ws.storeUrl, '--stop-containers']);
      // Assess
      expect(backup.code, backup.stderr).toBe(0);
      expect(backup.stderr).toContain(`stopped ${running} (using volume ${volume})`);
      expect(backup.stderr).toContain(`started ${running} again`);
      const after = await containerState(running);
      expect(after.status).toBe('running');
      expect(after.startedAt).not.toBe(before.startedAt);
      expect((await containerState(stopped)).status).toBe('exited');
    });

    it('stops it for a restore that replaces the volume (--force), and starts it again', async () => {
      const before = await containerState(running);
      const restore = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', volume, '--target', `volume:${volume}`, '--force', '--stop-containers']);
      expect(restore.code, restore.stderr).toBe(0);
      expect(restore.stderr).toContain(`stopped ${running} (using volume ${volume})`);
      const after = await containerState(running);
      expect(after.status).toBe('running');
      expect(after.startedAt).not.toBe(before.startedAt);
      expect((await containerState(stopped)).status).toBe('exited');
      expect(await inVolume(helperImage, volume, 'cat /v/file', { readOnly: true })).toBe('data');
    });

    it('starts it again when the backup fails mid-stream (a helper whose tar fails)', async () => {
      const before = await containerState(running);
      const backup = await vaultra(['backup', `volume:${volume}`, '--to', ws.storeUrl, '--stop-containers'], { VAULTRA_VOLUME_HELPER_IMAGE: failingImage });
      expect(backup.code).toBe(1);
      expect(backup.stderr).toContain('injected failure');
      const after = await containerState(running);
      expect(after.status).toBe('running');
      expect(after.startedAt).not.toBe(before.startedAt);
      expect((await containerState(stopped)).status).toBe('exited');
    });

    it('leaves the target as it was when the restore fails (a helper whose tar fails): no workspace left, a volume it created removed', async () => {
      const fresh = name('fresh');
      volumes.push(fresh);
      const env = { VAULTRA_VOLUME_HELPER_IMAGE: failingImage };
      const into = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', volume, '--target', `volume:${volume}`, '--force'], env);
      const intoFresh = await vaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', volume, '--target', `volume:${fresh}`], env);
      expect(into.code).toBe(1);
      expect(into.stderr).toContain('the volume is unchanged');
      expect(await inVolume(helperImage, volume, 'ls -A /v', { readOnly: true })).toBe('file');
      expect(intoFresh.code).toBe(1);
      expect(await docker('volume', 'ls', '-q', '--filter', `name=${fresh}`)).toBe('');
    });

    it('starts it again when the backup is interrupted (SIGINT), leaves no helper container behind, and never hands the helper a secret', async () => {
      const before = await containerState(running);
      const canary = `canary-volume-${randomBytes(8).toString('hex')}`;
      const child = spawn(process.execPath, [vaultraBin, 'backup', `volume:${volume}`, '--to', ws.storeUrl, '--stop-containers', '--passphrase-env', 'VOLUME_TEST_PASSPHRASE', '--no-progress'], {
        env: { ...process.env, ...ws.env, VAULTRA_VOLUME_HELPER_IMAGE: stallingImage, VOLUME_TEST_PASSPHRASE: canary } as NodeJS.ProcessEnv,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => {
        child.stderr.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes('stopped')) resolve();
        });
      });
      // The stalled helper is running by now, or about to: interrupt mid-backup.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect((await containerState(running)).status).toBe('exited');
      // The helper's whole configuration (command, environment, labels) as the engine keeps it.
      const helpers = await docker('ps', '-q', '--filter', 'label=vaultra.helper', '--filter', `volume=${volume}`);
      expect(helpers).not.toBe('');
      expect(await docker('inspect', '--format', '{{json .Config}} {{json .HostConfig}}', ...helpers.split('\n'))).not.toContain(canary);
      child.kill('SIGINT');
      expect(await exited, stderr).toBe(130);
      expect(stderr).toContain(`started ${running} again`);
      expect(stderr).not.toContain(canary);
      const after = await containerState(running);
      expect(after.status).toBe('running');
      expect(after.startedAt).not.toBe(before.startedAt);
      expect((await containerState(stopped)).status).toBe('exited');
      expect(await docker('ps', '-aq', '--filter', 'label=vaultra.helper', '--filter', `volume=${volume}`)).toBe('');
    });
  });
});

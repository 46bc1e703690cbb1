/**
 * Docker volume runs that break half-way, through the built CLI and a real Docker engine: the
 * helper container killed mid-stream (`docker kill`) fails the backup, lists no backup, starts
 * the stopped container again and leaves no helper; a restore into a volume that is
 * interrupted (SIGINT) or whose helper is killed leaves the volume exactly as it was — no
 * workspace folder, no half-placed entry — and its container running again.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { startVaultra } from '../support/cli-child.js';
import { run } from '../support/exec.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import {
  buildHelperWithTar,
  containerState,
  docker,
  inVolume,
  removeDockerThings,
  requireDockerVolumes,
  runningHelper,
  SERVICE_COMMAND,
  volumeListing,
} from '../support/docker-volumes.js';

describe('Docker volume runs that break half-way', () => {
  const setup = requireDockerVolumes();
  if (!setup) return;
  const { helperImage } = setup;
  const tag = randomBytes(4).toString('hex');
  const name = (what: string) => `vaultra-test-${tag}-${what}`;
  const source = name('source');
  const target = name('target');
  const sourceService = name('source-svc');
  const targetService = name('target-svc');
  /** A `tar` that writes 1 MB (a backup's first bytes) and then hangs without reading its input. */
  const stallingImage = `vaultra-test/tar-stalls:${tag}`;
  let root: string;
  let ws: Workspace;
  const env = (image: string) => ({ ...process.env, ...ws.env, NO_COLOR: '1', VAULTRA_VOLUME_HELPER_IMAGE: image }) as NodeJS.ProcessEnv;
  const leftHelpers = (volume: string) => docker('ps', '-aq', '--filter', 'label=vaultra.helper', '--filter', `volume=${volume}`);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-volume-faults-'));
    ws = makeWorkspace(root, 'ws');
    await docker('volume', 'create', source);
    await inVolume(helperImage, source, 'mkdir -p /v/data && head -c 8000000 /dev/urandom > /v/data/blob && echo hello > /v/greeting');
    await docker('volume', 'create', target);
    await inVolume(helperImage, target, 'mkdir -p /v/app && echo "theirs" > /v/app/state && echo keep > /v/greeting');
    for (const [container, volume] of [[sourceService, source], [targetService, target]] as const) {
      await docker('run', '-d', '--name', container, '--network', 'none', '-v', `${volume}:/data`, helperImage, ...SERVICE_COMMAND);
    }
    await buildHelperWithTar(helperImage, stallingImage, 'head -c 1000000 /dev/zero; exec sleep 120');
    const good = await runVaultra(['backup', `volume:${source}`, '--job', 'good', '--to', ws.storeUrl, '--no-progress'], { env: env(helperImage), timeoutMs: 300_000 });
    expect(good.code, good.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await removeDockerThings([sourceService, targetService], [source, target]);
    await run('docker', ['rmi', '-f', stallingImage]);
    rmSync(root, { recursive: true, force: true });
  });

  it('the helper killed mid-stream fails the backup: nothing listed or restorable, the container started again, no helper left', async () => {
    // Prepare
    const before = await containerState(sourceService);
    const started = startVaultra(['backup', `volume:${source}`, '--job', 'killed', '--to', ws.storeUrl, '--stop-containers', '--no-progress'], env(stallingImage));
    const helper = await runningHelper(source, '--create');
    // Act: the first megabyte is through the pipeline by now, or on its way.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await docker('kill', helper);
    const result = await started.result;
    // Assess
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/tar of volume \S+ failed \(the helper container was killed\)/);
    expect(result.stderr).toContain(`started ${sourceService} again`);
    const listed = await runVaultra(['list', '--from', ws.storeUrl, '--job', 'killed', '--json'], { env: ws.env });
    const recorded = await runVaultra(['list', '--from', ws.storeUrl, '--job', 'killed', '--all', '--json'], { env: ws.env });
    expect(JSON.parse(listed.stdout)).toEqual([]);
    expect((JSON.parse(recorded.stdout) as { kind: string; status: string }[]).map((r) => `${r.kind} ${r.status}`)).toEqual(['backup failed']);
    // No object of the run is left in the store either: neither a manifest nor part of the data.
    expect(readdirSync(ws.store, { recursive: true }).map(String).filter((file) => file.startsWith('killed/'))).toEqual([]);
    const restore = await runVaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', 'killed', '--target', `volume:${name('never')}`, '--no-progress'], { env: ws.env });
    expect(restore.code).toBe(5);
    const after = await containerState(sourceService);
    expect(after.status).toBe('running');
    expect(after.startedAt).not.toBe(before.startedAt);
    expect(await leftHelpers(source)).toBe('');
  });

  for (const how of ['SIGINT', 'docker kill'] as const) {
    it(`a restore into a volume stopped by ${how} mid-stream leaves the volume as it was and its container running again`, async () => {
      // Prepare
      const listing = await volumeListing(helperImage, target);
      const before = await containerState(targetService);
      const started = startVaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', 'good', '--target', `volume:${target}`, '--force', '--stop-containers', '--no-progress'], env(stallingImage));
      const helper = await runningHelper(target, '.vaultra-restore-');
      // Act
      await new Promise((resolve) => setTimeout(resolve, 1000));
      if (how === 'SIGINT') process.kill(started.pid, 'SIGINT');
      else await docker('kill', helper);
      const result = await started.result;
      // Assess
      expect(result.code, result.stderr).toBe(how === 'SIGINT' ? 130 : 1);
      if (how === 'docker kill') expect(result.stderr).toMatch(/the volume is unchanged/);
      expect(result.stderr).toContain(`started ${targetService} again`);
      // Every entry, hidden ones included (a workspace would be .vaultra-restore-…), with modes, owners, times and sums.
      expect(await volumeListing(helperImage, target)).toBe(listing);
      const after = await containerState(targetService);
      expect(after.status).toBe('running');
      expect(after.startedAt).not.toBe(before.startedAt);
      expect(await leftHelpers(target)).toBe('');
    });
  }
});

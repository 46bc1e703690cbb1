/**
 * `vaultra doctor`'s Docker engine checks, through the built CLI against a real Docker engine:
 * with `--docker`, or because the config file has a `volume:` job, it reports the socket, the
 * API version and the helper image (on the engine, running GNU tar, GNU find and bash), each
 * with a fix line when it fails — an engine that does not answer, an image it lacks and cannot
 * pull, an image without GNU tar — and exits 1 then; without either, it does not ask Docker.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { run } from '../support/exec.js';
import { buildHelperWithTar, requireDockerVolumes } from '../support/docker-volumes.js';

interface DoctorJson {
  ok: boolean;
  docker?: { checkedFor: string; ready: boolean; checks: { name: string; status: string; detail: string; fix?: string }[] };
}

describe('vaultra doctor: the Docker engine', () => {
  const setup = requireDockerVolumes();
  if (!setup) return;
  const { helperImage } = setup;
  const tag = randomBytes(4).toString('hex');
  const bsdtarImage = `vaultra-test/bsdtar:${tag}`;
  let root: string;
  const doctor = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const result = await runVaultra(['doctor', ...args], { env: { VAULTRA_VOLUME_HELPER_IMAGE: helperImage, ...env }, cwd: root });
    return { ...result, report: args.includes('--json') ? (JSON.parse(result.stdout) as DoctorJson) : undefined };
  };
  const config = (name: string, source: string) => {
    const path = join(root, name);
    writeFileSync(path, `version: 1\nenvironments:\n  site:\n    cloud: local\n    jobs:\n      uploads: { source: "${source}", schedule: { cron: "0 3 * * *" } }\n`);
    return path;
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-doctor-docker-'));
    // A stand-in for an image whose tar is not GNU tar (Alpine's busybox, bsdtar).
    await buildHelperWithTar(helperImage, bsdtarImage, 'echo "bsdtar 3.7.2 - libarchive 3.7.2"');
  }, 180_000);

  afterAll(async () => {
    await run('docker', ['rmi', '-f', bsdtarImage]);
    rmSync(root, { recursive: true, force: true });
  });

  it('--docker: the engine answers, speaks API 1.41 or later, and the helper image runs GNU tar, find and bash', async () => {
    // Act
    const { code, stderr, report } = await doctor(['--docker', '--json']);
    const human = await doctor(['--docker']);
    // Assess
    expect(code, stderr).toBe(0);
    expect(report!.ok).toBe(true);
    expect(report!.docker).toMatchObject({ checkedFor: 'asked', ready: true });
    expect(report!.docker!.checks.map((check) => [check.name, check.status])).toEqual([
      ['engine', 'ok'],
      ['API version', 'ok'],
      ['helper image', 'ok'],
    ]);
    expect(report!.docker!.checks[0]!.detail).toMatch(/^Docker \S+ at \/var\/run\/docker\.sock$/);
    expect(report!.docker!.checks[2]!.detail).toMatch(new RegExp(`^${helperImage.replace(/[.:/]/g, '\\$&')}: GNU tar 1\\.\\d+, GNU find \\d`));
    expect(human.stdout).toMatch(/\nDocker engine \(asked\): ready\n {2}ok {3}engine {8}Docker /);
  });

  it('a helper image the engine lacks and cannot pull, or one without GNU tar, fails with what to do', async () => {
    // Act
    const absent = await doctor(['--docker', '--json'], { VAULTRA_VOLUME_HELPER_IMAGE: `vaultra-test/absent:${tag}` });
    const bsdtar = await doctor(['--docker'], { VAULTRA_VOLUME_HELPER_IMAGE: bsdtarImage });
    // Assess
    expect(absent.code).toBe(1);
    expect(absent.report!.ok).toBe(false);
    const image = absent.report!.docker!.checks.find((check) => check.name === 'helper image')!;
    expect(image).toMatchObject({ status: 'fail', detail: expect.stringMatching(new RegExp(`^vaultra-test/absent:${tag} is not on the engine and cannot be pulled: .+`)) });
    expect(image.fix).toMatch(/^docker pull vaultra-test\/absent:\S+ where its registry is reachable \(or docker load it\), or set VAULTRA_VOLUME_HELPER_IMAGE to an image/);
    expect(bsdtar.code).toBe(1);
    expect(bsdtar.stdout).toContain(`FAIL helper image  ${bsdtarImage} lacks GNU tar (tar --version: bsdtar 3.7.2 - libarchive 3.7.2)`);
    expect(bsdtar.stdout).toMatch(/\n {5,}→ set VAULTRA_VOLUME_HELPER_IMAGE to an image the engine has with GNU tar, findutils and bash/);
    expect(bsdtar.stdout).toMatch(/not ready: Docker engine\n$/);
  });

  it('an engine that does not answer at DOCKER_HOST fails the first check, with the fix', async () => {
    const socket = join(root, 'no-engine.sock');
    const result = await doctor(['--docker'], { DOCKER_HOST: `unix://${socket}` });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`Docker engine (asked): NOT READY\n  FAIL engine  no Docker engine answers at ${socket} (ENOENT)\n               → start dockerd (systemctl start docker), or set DOCKER_HOST=unix://<its socket>\n`);
  });

  it('checks the engine by itself when the config file has a volume: job, and not otherwise', async () => {
    // Act
    const withVolume = await doctor(['--json', '--config', config('volumes.yaml', 'volume:uploads')]);
    const without = await doctor(['--json', '--config', config('plain.yaml', 'sqlite:./app.db')]);
    const down = await doctor(['--json', '--config', config('volumes.yaml', 'volume:uploads')], { DOCKER_HOST: `unix://${join(root, 'no-engine.sock')}` });
    // Assess
    expect(withVolume.code, withVolume.stderr).toBe(0);
    expect(withVolume.report!.docker).toMatchObject({ checkedFor: 'volume jobs site.uploads', ready: true });
    expect(without.report).not.toHaveProperty('docker');
    expect(down.code).toBe(1);
    expect(down.report!.docker).toMatchObject({ ready: false, checks: [{ name: 'engine', status: 'fail' }] });
  });
});

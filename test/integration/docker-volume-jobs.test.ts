/**
 * `stopContainers` from where scheduled and config-driven runs come, through the built CLI and
 * a real Docker engine: a local environment's volume job (`vaultra run <job>`) and a launched
 * runner's spec (`vaultra backup --spec`) stop the running containers that use the volume and
 * start exactly those again, also when the backup fails; `config validate` names a job that
 * asks for it on another engine; the flag is refused beside `--spec` and on other sources.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra } from '../support/cli.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { buildHelperWithTar, containerState, docker, inVolume, removeDockerThings, requireDockerVolumes, SERVICE_COMMAND } from '../support/docker-volumes.js';
import { run } from '../support/exec.js';
import { filesUnder } from '../support/file-tree.js';

const RECIPIENT = 'age1hhvqq975ywqmud8ln78jqt5n8vsycmmthrwzgvc4s7znxgunlucs5yqh40';

describe('stopContainers in config jobs and specs', () => {
  const setup = requireDockerVolumes();
  if (!setup) return;
  const { helperImage } = setup;
  const tag = randomBytes(4).toString('hex');
  const name = (what: string) => `vaultra-test-${tag}-${what}`;
  const volume = name('uploads');
  const running = name('web');
  const stopped = name('cron');
  const failingImage = `vaultra-test/tar-fails:${tag}`;
  let root: string;
  let ws: Workspace;
  let config: string;
  const vaultra = (args: string[], env: NodeJS.ProcessEnv = {}) => runVaultra(args, { env: { ...ws.env, VAULTRA_VOLUME_HELPER_IMAGE: helperImage, ...env }, timeoutMs: 300_000 });
  const spec = (job: string, source: string) => JSON.stringify({ job, source, destinations: [ws.storeUrl], encryption: { mode: 'recipients', recipients: [RECIPIENT] }, stopContainers: true });

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-volume-jobs-'));
    ws = makeWorkspace(root, 'ws');
    config = join(root, 'vaultra.config.yaml');
    writeFileSync(
      config,
      `version: 1
environments:
  site:
    cloud: local
    storage: { url: "${ws.storeUrl}" }
    defaults:
      encryption: { kms: false, recipients: [${RECIPIENT}] }
      schedule: { cron: "0 3 * * *" }
    jobs:
      uploads: { source: "volume:${volume}", stopContainers: true }
`,
    );
    await docker('volume', 'create', volume);
    await inVolume(helperImage, volume, 'echo data > /v/file');
    await docker('run', '-d', '--name', running, '--network', 'none', '-v', `${volume}:/data`, helperImage, ...SERVICE_COMMAND);
    await docker('run', '-d', '--name', stopped, '--network', 'none', '-v', `${volume}:/data`, helperImage, ...SERVICE_COMMAND);
    await docker('stop', stopped);
    await buildHelperWithTar(helperImage, failingImage, 'head -c 1000000 /dev/zero; echo "tar: injected failure" >&2; exit 2');
  }, 240_000);

  afterAll(async () => {
    await removeDockerThings([running, stopped], [volume]);
    await run('docker', ['rmi', '-f', failingImage]);
    rmSync(root, { recursive: true, force: true });
  });

  it('vaultra run <job> stops the running container for a stopContainers job and starts it again; the stopped one stays stopped', async () => {
    // Prepare
    const before = await containerState(running);
    // Act
    const result = await vaultra(['run', 'uploads', '--config', config, '--json', '--no-progress']);
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ job: 'uploads', status: 'succeeded', engine: 'volume' });
    expect(result.stderr).toContain(`stopped ${running} (using volume ${volume})`);
    expect(result.stderr).toContain(`started ${running} again`);
    const after = await containerState(running);
    expect(after.status).toBe('running');
    expect(after.startedAt).not.toBe(before.startedAt);
    expect((await containerState(stopped)).status).toBe('exited');
  });

  it('a spec with stopContainers (as a launcher passes it) does the same, and starts the container again when the backup fails', async () => {
    // Prepare
    const before = await containerState(running);
    // Act
    const ok = await vaultra(['backup', '--spec', spec('from-spec', `volume:${volume}`), '--no-progress']);
    const failed = await vaultra(['backup', '--spec', spec('from-spec', `volume:${volume}`), '--no-progress'], { VAULTRA_VOLUME_HELPER_IMAGE: failingImage });
    // Assess
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain(`stopped ${running} (using volume ${volume})`);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('injected failure');
    expect(failed.stderr).toContain(`started ${running} again`);
    const after = await containerState(running);
    expect(after.status).toBe('running');
    expect(after.startedAt).not.toBe(before.startedAt);
    expect((await containerState(stopped)).status).toBe('exited');
  });

  it('a spec encrypting with a passphrase keeps it out of every output and every stored byte', async () => {
    // Prepare
    const canary = `canary-volume-spec-${randomBytes(8).toString('hex')}`;
    const withPassphrase = JSON.stringify({ job: 'canary', source: `volume:${volume}`, destinations: [ws.storeUrl], encryption: { mode: 'passphrase', passphraseEnv: 'VOLUME_SPEC_PASSPHRASE' }, stopContainers: true });
    // Act
    const result = await vaultra(['backup', '--spec', withPassphrase, '--json', '--no-progress'], { VOLUME_SPEC_PASSPHRASE: canary, VAULTRA_SCRYPT_WORK_FACTOR: '10' });
    // Assess
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(canary);
    const stored = await Promise.all((await filesUnder(ws.store)).map((file) => readFile(join(ws.store, file))));
    expect(stored.length, 'the store holds the backup and its catalog').toBeGreaterThan(2);
    expect(stored.some((bytes) => bytes.includes(canary))).toBe(false);
  });

  it('refuses stopContainers on another engine (spec, flag) and beside --spec, before stopping anything', async () => {
    // Prepare
    const before = await containerState(running);
    // Act
    const fromSpec = await vaultra(['backup', '--spec', spec('files', `dir:${root}`), '--no-progress']);
    const fromFlag = await vaultra(['backup', `dir:${root}`, '--stop-containers', '--to', ws.storeUrl, '--no-progress']);
    const beside = await vaultra(['backup', '--spec', spec('files', `volume:${volume}`), '--stop-containers']);
    // Assess
    for (const refused of [fromSpec, fromFlag]) {
      expect(refused.code).toBe(2);
      expect(refused.stderr.trim()).toMatch(/^vaultra: error: --stop-containers \(stopContainers in a spec or job\) applies to Docker volumes only, not to a directory source or target: use it with volume:<name>, or remove it$/m);
    }
    expect(beside.code).toBe(2);
    expect(beside.stderr).toContain('--spec describes the whole run: remove --stop-containers, or put it in the spec');
    expect(await containerState(running)).toEqual(before);
  });

  it('config validate names a job that asks for it on a source that is not a volume', async () => {
    // Prepare
    const broken = join(root, 'broken.yaml');
    writeFileSync(
      broken,
      `version: 1
environments:
  site:
    cloud: local
    storage: { url: "${ws.storeUrl}" }
    jobs:
      files: { source: "dir:/srv/files", stopContainers: true, schedule: { cron: "0 3 * * *" }, encryption: { kms: false, recipients: [${RECIPIENT}] } }
`,
    );
    // Act
    const result = await vaultra(['config', 'validate', '--config', broken]);
    const run = await vaultra(['run', 'files', '--config', broken]);
    // Assess
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('environments.site.jobs.files.stopContainers');
    expect(result.stdout).toContain('a directory source has no containers to stop: stopContainers is for volume:<name> jobs (remove it from this job)');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('environments.site.jobs.files.stopContainers: a directory source has no containers to stop');
  });
});

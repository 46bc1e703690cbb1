/**
 * Docker volumes for the `volume:` engine's tests: a Docker engine set up by
 * scripts/setup-docker.sh (bridge off, host network only, local base images), volumes and
 * containers made and inspected with the `docker` CLI, and a content listing of a volume taken
 * through a helper container (so the comparison never depends on this machine's view of the
 * Docker host's files).
 */
import { spawnSync } from 'node:child_process';
import { run, tail } from './exec.js';
import { repoRoot } from './cli.js';
import { requireDocker } from './runner-container.js';
import { unmet } from './requirements.js';

/** A cold setup-docker.sh: apt, debootstrap, Node from npm, a build image. */
const SETUP_TIMEOUT_MS = 30 * 60_000;

/**
 * Sets the Docker engine up (as root: scripts/setup-docker.sh, idempotent and quick once done)
 * and returns the local base image helpers run from, or `undefined` after registering the skip
 * (locally) or failure (CI=true).
 */
export function requireDockerVolumes(): { readonly helperImage: string } | undefined {
  if (process.getuid?.() !== 0) return unmet('a Docker engine (root, to run scripts/setup-docker.sh)', 'not running as root');
  const setup = spawnSync('bash', ['scripts/setup-docker.sh'], { cwd: repoRoot, encoding: 'utf8', timeout: SETUP_TIMEOUT_MS });
  if (setup.status !== 0) return unmet('a Docker engine (scripts/setup-docker.sh)', `setup-docker.sh exited ${setup.status ?? setup.signal}: ${tail(setup.stderr)}`);
  if (!requireDocker()) return undefined;
  const images = /^base images: (\S+)/m.exec(setup.stdout)?.[1];
  if (!images) return unmet('a Docker base image', `setup-docker.sh printed no base image: ${tail(setup.stdout)}`);
  return { helperImage: images };
}

/** `docker …`, failing the test on a non-zero exit; stdout trimmed. */
export async function docker(...args: string[]): Promise<string> {
  const result = await run('docker', args, { timeoutMs: 120_000 });
  if (result.code !== 0) throw new Error(`docker ${args[0]} exited ${result.code ?? result.signal}: ${tail(result.stderr)}`);
  return result.stdout.trim();
}

/** Runs a shell script in a throwaway container (no network) with the volume at /v. */
export function inVolume(image: string, volume: string, script: string, options: { readOnly?: boolean } = {}): Promise<string> {
  return docker('run', '--rm', '--network', 'none', '-v', `${volume}:/v${options.readOnly ? ':ro' : ''}`, image, 'bash', '-c', script);
}

/**
 * What a volume holds, as text two equal volumes share: every entry's type, mode, numeric
 * owner, size, mtime (to the second: tar keeps more, Docker's overlay may not) and link target,
 * and every regular file's sha256. The root folder's own line is left out (its mtime moves
 * when anything is created in it).
 */
export function volumeListing(image: string, volume: string): Promise<string> {
  return inVolume(image, volume, 'cd /v && find . -mindepth 1 -printf "%y %m %U:%G %s %TY-%Tm-%Td_%TT %p -> %l\\n" | sed "s/\\.[0-9]* / /" | sort && find . -type f -exec sha256sum {} + | sort', { readOnly: true });
}

/** A long-running container that stops at once on SIGTERM (PID 1 ignores an unhandled one, which would cost Docker's 10 s stop timeout). */
export const SERVICE_COMMAND = ['bash', '-c', 'trap "exit 0" TERM; while sleep 0.2; do :; done'];

/** Builds `image` from `base` with `script` as its `tar` (first on PATH): a helper that fails, stalls or lies on demand. */
export async function buildHelperWithTar(base: string, image: string, script: string): Promise<void> {
  // base64: the script reaches the image byte for byte, whatever quotes it holds.
  const encoded = Buffer.from(`#!/bin/sh\n${script}\n`).toString('base64');
  const dockerfile = `FROM ${base}\nRUN echo ${encoded} | base64 -d > /usr/local/bin/tar && chmod 755 /usr/local/bin/tar\n`;
  const built = await run('docker', ['build', '--network', 'host', '-q', '-t', image, '-'], { input: dockerfile, env: { ...process.env, DOCKER_BUILDKIT: '0' }, timeoutMs: 120_000 });
  if (built.code !== 0) throw new Error(`docker build ${image}: ${tail(built.stderr)}`);
}

/**
 * Waits until a helper container whose command holds `marker` runs on `volume`, and returns its
 * id: the moment to interrupt a run mid-stream.
 */
export async function runningHelper(volume: string, marker: string, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const listed = await run('docker', ['ps', '--no-trunc', '--filter', 'label=vaultra.helper', '--filter', `volume=${volume}`, '--format', '{{.ID}} {{.Command}}']);
    const line = listed.stdout.split('\n').find((entry) => entry.includes(marker));
    if (line) return line.split(' ')[0]!;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no helper container running "${marker}" on volume ${volume} within ${timeoutMs} ms`);
}

/** `running`, `exited`… and when the container last started (changes when it is restarted). */
export async function containerState(name: string): Promise<{ status: string; startedAt: string }> {
  const [status, startedAt] = (await docker('inspect', '--format', '{{.State.Status}} {{.State.StartedAt}}', name)).split(' ');
  return { status: status!, startedAt: startedAt! };
}

/** Removes containers, volumes and any helper container a failed run left on them, ignoring those already gone. */
export async function removeDockerThings(containers: readonly string[], volumes: readonly string[]): Promise<void> {
  const helpers = await Promise.all(volumes.map(async (volume) => (await run('docker', ['ps', '-aq', '--filter', 'label=vaultra.helper', '--filter', `volume=${volume}`])).stdout.split('\n').filter(Boolean)));
  const all = [...containers, ...helpers.flat()];
  if (all.length > 0) await run('docker', ['rm', '-f', ...all]);
  if (volumes.length > 0) await run('docker', ['volume', 'rm', '-f', ...volumes]);
}

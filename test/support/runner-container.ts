/**
 * The runner image as the Fargate task runs it (infra/aws/runner-task.ts): the image's own
 * entrypoint, user 10001, a read-only root filesystem with writable volumes only where the image
 * declares them (`VOLUME /tmp /home/vaultra`; Docker fills each from the image, owner included, as
 * Fargate does), and an init process (the task's `initProcessEnabled`). The network is the host's
 * (the only one these machines allow), so the container reaches the test servers on 127.0.0.1.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync } from 'node:fs';
import { run, tail, type RunResult } from './exec.js';
import { repoRoot } from './cli.js';
import { unmet } from './requirements.js';

/** The runner's uid and gid in runner/Dockerfile. */
export const RUNNER_UID = 10001;

/** Where a test's workspace folder appears inside the container. */
export const CONTAINER_WORKSPACE = '/workspace';

/** A cold build on a 2-core machine: base images, npm ci, node-gyp, Go builds, apt. */
const BUILD_TIMEOUT_MS = 45 * 60_000;

/** Whether a Docker daemon answers, or `undefined` after registering the skip (locally) or failure (CI). */
export function requireDocker(): true | undefined {
  const info = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 });
  if (info.status === 0) return true;
  const reason = info.error ? `no docker command (${info.error.message})` : `no Docker daemon answers: ${tail(info.stderr)}`;
  return unmet('a Docker engine (start one with: sudo bash scripts/setup-docker.sh)', reason);
}

/**
 * The runner image's tag: `VAULTRA_RUNNER_IMAGE` when set (a prebuilt image), else what
 * scripts/build-runner-image.sh prints last (from Docker's layer cache when nothing changed).
 */
export async function runnerImage(): Promise<string> {
  const prebuilt = process.env.VAULTRA_RUNNER_IMAGE;
  if (prebuilt) return prebuilt;
  const built = await run('bash', ['scripts/build-runner-image.sh'], { cwd: repoRoot, timeoutMs: BUILD_TIMEOUT_MS });
  if (built.code !== 0) throw new Error(`scripts/build-runner-image.sh exited ${built.code ?? built.signal}: ${tail(built.stderr)}`);
  const tag = built.stdout.trim().split('\n').at(-1);
  if (!tag) throw new Error('scripts/build-runner-image.sh printed no image tag');
  return tag;
}

/** Makes a host folder writable by the runner's uid, which owns what the container writes there. */
export function shareWithRunner(dir: string): void {
  if (process.getuid?.() === 0) chownSync(dir, RUNNER_UID, RUNNER_UID);
  else chmodSync(dir, 0o777);
}

export interface RunnerRunOptions {
  /** A host folder mounted read-write at {@link CONTAINER_WORKSPACE}. */
  readonly workspace: string;
  /** Plain settings, passed as `-e NAME=value`. */
  readonly env?: Readonly<Record<string, string>>;
  /** Secrets: passed as `-e NAME` with the value in the docker client's environment, never in argv. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** @default 300_000 */
  readonly timeoutMs?: number;
}

/** The `docker run` arguments for one run of the image's entrypoint with `args`. */
export function runnerRunArgs(image: string, args: readonly string[], options: RunnerRunOptions): string[] {
  const env = Object.entries(options.env ?? {}).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
  const secrets = Object.keys(options.secrets ?? {}).flatMap((name) => ['-e', name]);
  return [
    'run', '--rm', '--init', '--network', 'host',
    '--user', `${RUNNER_UID}:${RUNNER_UID}`,
    '--read-only',
    '-v', `${options.workspace}:${CONTAINER_WORKSPACE}`,
    ...env, ...secrets,
    image, ...args,
  ];
}

/** Runs the image's entrypoint (`vaultra`) with `args`, as the Fargate task would. Never rejects on a non-zero exit. */
export function runInRunner(image: string, args: readonly string[], options: RunnerRunOptions): Promise<RunResult> {
  return run('docker', runnerRunArgs(image, args, options), {
    env: { ...process.env, ...options.secrets },
    timeoutMs: options.timeoutMs ?? 300_000,
  });
}

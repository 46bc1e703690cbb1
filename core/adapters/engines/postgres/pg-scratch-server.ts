import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { AbortedError, RestoreFailedError, ToolMissingError } from '../../../errors.js';
import { runTool, spawnTool, type ToolProcess } from '../../process/child-process.js';
import { exitIfStopped, pollWhileRunning, setupFailure, startInFolder, type ThrowawayServer } from '../throwaway-server.js';
import { chownTree, serverUser } from './pg-server-user.js';
import { versionedBinDirs } from './pg-tools.js';

/** The role a throwaway server is made with: its only account, trusted on its private socket. */
export const SCRATCH_ROLE = 'vaultra_drill';

const SERVER_HINT = 'install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql), or drill into a server you name with --scratch postgres://…';
const START_TIMEOUT_MS = 60_000;

/** A running throwaway PostgreSQL: a fresh cluster in a temp folder, reachable only on a socket in that folder. */
export interface ScratchServer extends ThrowawayServer {
  /** The folder holding the socket (`host=` of a connection). */
  readonly socketDir: string;
  readonly port: number;
}

/**
 * Starts a throwaway cluster from the newest server binaries installed: `initdb` (no fsync, the
 * data is thrown away) and `postgres` listening on no TCP port, only on a Unix socket in its own
 * 0700 temp folder, with trust authentication for its one role. As root the cluster belongs to,
 * and runs as, the `postgres` user (PostgreSQL refuses root). The folder is removed however the start ends.
 */
export async function startScratchServer(signal?: AbortSignal): Promise<ScratchServer> {
  const bin = serverBinDir();
  const user = serverUser();
  const base = await mkdtemp(join(user ? '/tmp' : tmpdir(), 'vaultra-drill-pg-'));
  const dataDir = join(base, 'data');
  return startInFolder(base, async (keep) => {
    if (user) await chownTree(base, user);
    // As root, the tools run as the cluster's owner straight from here (no runuser in between), so
    // a forced stop's SIGKILL (killRunningTools) reaches the postmaster itself.
    const runAs = user ? { runAs: { uid: user.uid, gid: user.gid } } : {};
    const fail = setupFailure('PostgreSQL');
    const initArgs = ['-D', dataDir, '-U', SCRATCH_ROLE, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'];
    await runTool(join(bin, 'initdb'), initArgs, { env: { LANG: 'C', LC_ALL: 'C', TZ: 'UTC' }, cwd: base, ...runAs, onFailure: fail('initialise'), signal, installHint: SERVER_HINT });
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const settings = { listen_addresses: '', unix_socket_directories: base, port: String(port), fsync: 'off', full_page_writes: 'off', synchronous_commit: 'off', logging_collector: 'off', lc_messages: 'C', timezone: 'UTC' };
    const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
    const server = keep(await spawnTool(join(bin, 'postgres'), args, { env: { LANG: 'C', LC_ALL: 'C', TZ: 'UTC' }, cwd: base, ...runAs, stdout: 'ignore', stopSignal: 'SIGINT', installHint: SERVER_HINT }));
    await waitUntilReady(server, dataDir, signal);
    const version = (await readVersion(bin)) ?? 'unknown';
    return { version, socketDir: base, port };
  });
}

/**
 * Waits until the postmaster says it is ready in `postmaster.pid` (its status line, PostgreSQL
 * 10 and later), polling every 50 ms: the server's stderr stays with `spawnTool`, which drains it
 * (a reader that stopped reading would block the server on its next log line).
 */
async function waitUntilReady(server: ToolProcess, dataDir: string, signal?: AbortSignal): Promise<void> {
  const isReady = async () => (await readFile(join(dataDir, 'postmaster.pid'), 'utf8').catch(() => '')).split('\n')[7]?.trim() === 'ready' || undefined;
  if (await pollWhileRunning(server, isReady, { intervalMs: 50, timeoutMs: START_TIMEOUT_MS, signal })) return;
  if (signal?.aborted) throw new AbortedError("interrupted while the drill's throwaway PostgreSQL started");
  const exit = await exitIfStopped(server);
  const fatal = exit?.stderrTail.split('\n').findLast((line) => /FATAL|PANIC/.test(line)) ?? exit?.stderrTail.split('\n').findLast(Boolean) ?? `not ready after ${START_TIMEOUT_MS / 1000} s`;
  throw new RestoreFailedError(`the drill's throwaway PostgreSQL did not start: ${fatal.replace(/^.*?(FATAL|PANIC):\s*/, '')}`, exit?.stderrTail ?? '');
}

async function readVersion(bin: string): Promise<string | undefined> {
  const out = await runTool(join(bin, 'postgres'), ['--version'], { onFailure: () => new Error('postgres --version failed') }).catch(() => '');
  return /(\d+(?:\.\d+)*)/.exec(out)?.[1];
}

/** The folder with `initdb` and `postgres`: the newest versioned one (Debian, PGDG RPMs, Homebrew: `versionedBinDirs`), a source build's, else PATH's. */
function serverBinDir(): string {
  const candidates = [...versionedBinDirs().map(({ dir }) => dir), '/usr/local/pgsql/bin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  const found = candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')));
  if (!found) throw new ToolMissingError('initdb', SERVER_HINT);
  return found;
}

import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { RestoreFailedError } from '../../../errors.js';
import { spawnTool } from '../../process/child-process.js';
import { chownTree, type ServerUser } from './pg-server-user.js';
import { versionedBinDirs } from './pg-tools.js';

export interface RecoveryResult {
  /** The commit time of the last transaction replayed, from the server's log. */
  readonly reachedAt?: Date;
}

/**
 * Starts a throwaway PostgreSQL on a data directory set up for recovery, waits until it has
 * recovered and promoted itself ("ready to accept connections"), and stops it (fast shutdown).
 * It listens on no TCP port, only on a socket in a private temp folder, never archives (the
 * copy must not push WAL into the source's archive) and logs in English and UTC to stderr,
 * which is read line by line: the log says where recovery stopped. No connection is needed, so
 * no password: the restored cluster keeps the source's accounts and pg_hba.conf.
 */
export async function runRecoveryServer(dir: string, user: ServerUser | undefined, options: { readonly target: string; readonly signal?: AbortSignal }): Promise<RecoveryResult> {
  const major = (await readFile(join(dir, 'PG_VERSION'), 'utf8')).trim();
  const postgres = serverBinary(major);
  // Run as another user (runuser: Linux only), the server must reach its socket folder: /tmp is
  // where every user can, while the runner's own TMPDIR may be private (0700).
  const sockets = await mkdtemp(join(user ? '/tmp' : tmpdir(), 'vaultra-recovery-'));
  if (user) await chownTree(sockets, user);
  const settings = {
    listen_addresses: '',
    unix_socket_directories: sockets,
    port: String(20000 + Math.floor(Math.random() * 30000)),
    archive_mode: 'off',
    logging_collector: 'off',
    log_destination: 'stderr',
    lc_messages: 'C',
    log_timezone: 'UTC',
    timezone: 'UTC',
    hot_standby: 'off',
  };
  const args = ['-D', dir, ...Object.entries(settings).flatMap(([name, value]) => ['-c', `${name}=${value}`])];
  const [command, argv] = user ? [runuserPath(), ['-u', user.name, '--', postgres, ...args]] : [postgres, args];
  const server = await spawnTool(command, argv, { env: { LANG: 'C', LC_ALL: 'C', TZ: 'UTC' }, stdout: 'ignore', installHint: `install the PostgreSQL ${major} server (Debian/Ubuntu: apt-get install postgresql-${major})` });
  const stop = () => stopPostmaster(dir, server.child.pid);
  options.signal?.addEventListener('abort', stop, { once: true });
  let reachedAt: Date | undefined;
  let failure: string | undefined;
  let ready = false;
  const lastLines: string[] = [];
  try {
    for await (const line of createInterface({ input: server.child.stderr!, crlfDelay: Infinity })) {
      lastLines.push(line);
      if (lastLines.length > 5) lastLines.shift();
      const last = /last completed transaction was at log time (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\+00/.exec(line);
      if (last) reachedAt = new Date(`${last[1]!.replace(' ', 'T').slice(0, 23)}Z`);
      if (/\b(FATAL|PANIC):/.test(line)) failure ??= line.replace(/^.*?\b(FATAL|PANIC):\s*/, '');
      if (/database system is ready to accept connections/.test(line) && !ready) {
        ready = true;
        stop();
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    await server.exited;
    await rm(sockets, { recursive: true, force: true });
  }
  if (options.signal?.aborted) throw new RestoreFailedError('recovery interrupted: the data directory is half-recovered; restore the base again', '');
  if (!ready) {
    const short = failure && /recovery ended before configured recovery target was reached/.test(failure)
      ? `the archived WAL ends before ${options.target}: push the logs up to then (vaultra logs push), or restore to an earlier time`
      : `the recovery server stopped: ${failure ?? lastLines.at(-1) ?? 'without saying why'}`;
    throw new RestoreFailedError(`recovery of ${dir} failed: ${short}`, lastLines.join('\n'));
  }
  return reachedAt ? { reachedAt } : {};
}

/** The server binary of the data directory's major version (Debian, RHEL/PGDG, Homebrew, source builds), else `postgres` on PATH. */
function serverBinary(major: string): string {
  const versioned = versionedBinDirs().filter((bin) => bin.major === Number(major)).map(({ dir }) => join(dir, 'postgres'));
  return [...versioned, '/usr/local/pgsql/bin/postgres'].find((path) => existsSync(path)) ?? 'postgres';
}

function runuserPath(): string {
  return ['/usr/sbin/runuser', '/sbin/runuser', '/usr/bin/runuser'].find((path) => existsSync(path)) ?? 'runuser';
}

/**
 * Fast shutdown (SIGINT) of the postmaster named in `postmaster.pid` — not the `runuser` in front
 * of it — or, before that file exists, of the process we started.
 */
function stopPostmaster(dir: string, started: number | undefined): void {
  let pid = started;
  try {
    const first = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (Number.isInteger(first) && first > 0) pid = first;
  } catch {
    // not written yet: signal what we started
  }
  try {
    if (pid) process.kill(pid, 'SIGINT');
  } catch {
    // already gone
  }
}

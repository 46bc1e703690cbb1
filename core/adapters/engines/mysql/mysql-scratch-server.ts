import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RestoreFailedError, ToolMissingError } from '../../../errors.js';
import { runTool, spawnTool, type ToolProcess } from '../../process/child-process.js';
import { findServerBinary, pollWhileRunning, setupFailure, startInFolder, type ThrowawayServer } from '../throwaway-server.js';

const SERVER_HINT = 'install the MariaDB server (Debian/Ubuntu: apt-get install mariadb-server)';
const START_TIMEOUT_MS = 60_000;

/** A running throwaway MariaDB: a fresh data directory in a temp folder, reachable only on a socket there. */
export interface MysqlScratchServer extends ThrowawayServer {
  readonly socket: string;
  /** The database account the drill connects as: `root`, authenticated by the socket as this OS user. */
  readonly user: string;
}

/**
 * Starts a throwaway MariaDB from the installed server: `mariadb-install-db` into a private temp
 * folder, `mariadbd` with networking off (only its socket), durability off (the data is thrown
 * away) and root authenticated by the socket as this process's OS user. As root the server runs
 * as the `mysql` user, as mariadbd requires. The folder is removed however the start ends.
 */
export async function startMysqlScratchServer(signal?: AbortSignal): Promise<MysqlScratchServer> {
  const mariadbd = findBinary(['mariadbd', 'mysqld'], ['/usr/sbin', '/usr/local/sbin', '/usr/libexec']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db'], ['/usr/bin', '/usr/local/bin']);
  const client = findBinary(['mariadb', 'mysql'], ['/usr/bin', '/usr/local/bin']);
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const owner = root ? mysqlUser() : undefined;
  const base = await mkdtemp(join(root ? '/tmp' : tmpdir(), 'vaultra-drill-mysql-'));
  const dataDir = join(base, 'data');
  const socket = join(base, 'mysqld.sock');
  return startInFolder(base, async (keep) => {
    if (owner) await chown(base, owner.uid, owner.gid);
    const userArgs = owner ? ['--user=mysql'] : [];
    const osUser = root ? 'root' : (process.env.USER ?? 'root');
    const fail = setupFailure('MariaDB');
    await runTool(installDb, ['--no-defaults', `--datadir=${dataDir}`, ...userArgs, `--auth-root-socket-user=${osUser}`, '--skip-test-db', '--skip-name-resolve'], { cwd: base, onFailure: fail('initialise'), signal, installHint: SERVER_HINT });
    const args = [
      '--no-defaults',
      `--datadir=${dataDir}`,
      ...userArgs,
      `--socket=${socket}`,
      '--skip-networking',
      `--pid-file=${join(base, 'mysqld.pid')}`,
      `--log-error=${join(base, 'error.log')}`,
      // Its temporary tables in its own folder, not the shared /tmp a cleaner may sweep mid-query.
      `--tmpdir=${base}`,
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--innodb-buffer-pool-size=64M',
      '--performance-schema=OFF',
      '--character-set-server=utf8mb4',
      '--default-time-zone=+00:00',
      '--max-allowed-packet=64M',
    ];
    const server = keep(await spawnTool(mariadbd, args, { cwd: base, stdout: 'ignore', installHint: SERVER_HINT }));
    const version = await waitUntilReady(client, socket, server, join(base, 'error.log'), signal);
    return { version, socket, user: 'root' };
  });
}

/** Asks the server for its version every 100 ms until it answers; rejects with its error log's last line if it stops first. */
async function waitUntilReady(client: string, socket: string, server: ToolProcess, errorLog: string, signal?: AbortSignal): Promise<string> {
  // A refused query and an empty answer both mean: not ready yet.
  const probe = () => runTool(client, ['--no-defaults', `--socket=${socket}`, '--user=root', '--batch', '--skip-column-names', '-e', 'SELECT VERSION()'], { onFailure: () => new Error('not ready'), signal }).then((out) => out || undefined, () => undefined);
  const version = await pollWhileRunning(server, probe, { intervalMs: 100, timeoutMs: START_TIMEOUT_MS, signal });
  if (version !== undefined) return version.trim();
  const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
  const last = log.split('\n').findLast((line) => /ERROR|Aborting/.test(line)) ?? log.split('\n').findLast(Boolean) ?? 'it stopped without a word';
  throw new RestoreFailedError(`the drill's throwaway MariaDB did not start: ${last.trim()}`, log.slice(-4096));
}

function findBinary(names: readonly string[], folders: readonly string[]): string {
  const binary = findServerBinary(names, folders);
  if (!binary) throw new ToolMissingError(names[0]!, SERVER_HINT);
  return binary;
}

function mysqlUser(): { uid: number; gid: number } | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === 'mysql') return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

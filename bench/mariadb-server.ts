/**
 * A throwaway MariaDB server for the benchmark (a short cousin of test/support's, which bench/
 * may not import): `mariadb-install-db` into `<parent>/mariadb`, `mariadbd` on its own socket
 * and a random free port on 127.0.0.1, durability off (as in the test harness: this measures
 * CPU and pipes, not the disk), the binary log on (so dumps take the GTID path Vaultra takes
 * on a production server), and a buffer pool large enough for the generated databases.
 *
 * As root the server runs as the `mysql` system user. Setup goes through the socket with
 * unix_socket authentication, then creates an admin account with a generated password; the
 * benchmark only ever uses that account, over TCP, with the password in a 0600 option file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { capture, freePort, idOf, sleep } from './support.js';

export interface MariadbServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly dataDir: string;
  readonly errorLog: string;
  /** `VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1-log`. */
  readonly serverVersion: string;
  /** `[client]` option file with the admin account (0600): first argument of every client tool. */
  readonly optionFile: string;
  readonly stopCommand: string;
  /** SIGTERM (a clean shutdown), SIGKILL after 30 s. Idempotent. */
  stop(): Promise<void>;
  /** Leave it running when this process exits (`--keep`). */
  keep(): void;
}

const USER = 'bench';

export async function startMariadbServer(parentDir: string): Promise<MariadbServer> {
  const mariadbd = ['mariadbd', 'mysqld'].flatMap((name) => [which(name), ...['/usr/sbin', '/usr/libexec'].map((dir) => join(dir, name))]).find((p) => p && existsSync(p));
  if (!mariadbd) throw new Error('mariadbd not found (on PATH or in /usr/sbin): run scripts/setup-system.sh');
  const installDb = which('mariadb-install-db') ?? which('mysql_install_db');
  if (!installDb) throw new Error('mariadb-install-db not found on PATH: run scripts/setup-system.sh');
  const client = which('mariadb') ?? which('mysql');
  if (!client) throw new Error('the mariadb client is not on PATH: run scripts/setup-system.sh');

  const isRoot = process.getuid?.() === 0;
  const ids = isRoot ? idOf('mysql') : undefined;
  if (isRoot && !ids) throw new Error('running as root and there is no mysql system user (install mariadb-server)');
  const userArgs = isRoot ? ['--user=mysql'] : [];
  const socketUser = isRoot ? 'root' : userInfo().username;

  const baseDir = join(parentDir, 'mariadb');
  const dataDir = join(baseDir, 'data');
  const socket = join(baseDir, 'mariadb.sock');
  const pidFile = join(baseDir, 'mariadbd.pid');
  const errorLog = join(baseDir, 'error.log');
  mkdirSync(baseDir, { mode: 0o700 });
  if (ids) chownSync(baseDir, ids.uid, ids.gid);

  await capture(installDb, ['--no-defaults', `--datadir=${dataDir}`, ...userArgs, `--auth-root-socket-user=${socketUser}`, '--skip-test-db', '--skip-name-resolve'], {
    cwd: baseDir,
    what: 'mariadb-install-db',
  });

  let child: ChildProcess | undefined;
  let port = 0;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    child = spawn(
      mariadbd,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        ...userArgs,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${pidFile}`,
        `--log-error=${errorLog}`,
        '--skip-name-resolve',
        '--innodb-flush-log-at-trx-commit=0',
        '--innodb-doublewrite=0',
        '--sync-binlog=0',
        '--innodb-buffer-pool-size=1G',
        '--innodb-log-file-size=512M',
        // Between timed commands the benchmark waits for the buffer pool to be written back: fast.
        '--innodb-io-capacity=20000',
        '--innodb-io-capacity-max=40000',
        `--log-bin=${join(dataDir, 'binlog')}`,
        '--server-id=1',
        '--binlog-format=ROW',
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_general_ci',
        '--default-time-zone=+00:00',
        '--max-allowed-packet=64M',
        '--performance-schema=OFF',
      ],
      { cwd: baseDir, stdio: 'ignore', detached: true },
    );
    child.unref();
    const ready = await waitForReady(child, client, socket, socketUser);
    if (ready === 'ready') break;
    child.kill('SIGKILL');
    const logText = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
    if (attempt < 3 && /already in use|Can't start server: Bind/i.test(logText)) continue;
    throw new Error(`mariadbd did not start (${ready}): ${logText.trim().split('\n').slice(-3).join(' | ') || 'no error log'}`);
  }

  const password = `bench-${randomBytes(12).toString('hex')}`;
  const admin = `'${USER}'@'%'`;
  const started = child;
  const serverVersion = await capture(client, ['--no-defaults', `--socket=${socket}`, `--user=${socketUser}`, '--batch', '--skip-column-names'], {
    input: `DROP USER IF EXISTS ''@'localhost', ''@'${hostname()}';
CREATE USER ${admin} IDENTIFIED BY '${password}';
GRANT ALL PRIVILEGES ON *.* TO ${admin} WITH GRANT OPTION;
SELECT VERSION();`,
    what: 'creating the admin account',
  }).catch((error: unknown) => {
    started.kill('SIGKILL');
    throw error;
  });

  const host = '127.0.0.1';
  const optionFile = join(parentDir, 'mariadb-client.cnf');
  writeFileSync(optionFile, `[client]\nuser=${USER}\npassword="${password}"\nhost=${host}\nport=${port}\n`, { mode: 0o600 });
  const pid = Number(readFileSync(pidFile, 'utf8').trim()) || child.pid!;
  const running = child;
  let stopped = false;
  // If the benchmark dies without stopping it, the server must not outlive it.
  const killNow = () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  };
  process.once('exit', killNow);
  return {
    host,
    port,
    user: USER,
    password,
    dataDir,
    errorLog,
    serverVersion,
    optionFile,
    stopCommand: `kill ${pid}`,
    keep: () => process.off('exit', killNow),
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', killNow);
      const exited = new Promise<void>((resolve) => (running.exitCode !== null || running.signalCode !== null ? resolve() : running.once('exit', () => resolve())));
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        return;
      }
      const timer = setTimeout(() => {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }, 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function which(tool: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v '${tool}'`], { encoding: 'utf8' }).stdout.trim();
  return found || undefined;
}

async function waitForReady(child: ChildProcess, client: string, socket: string, user: string): Promise<'ready' | string> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return `exited ${child.exitCode ?? child.signalCode}`;
    if (existsSync(socket)) {
      const ping = spawnSync(client, ['--no-defaults', `--socket=${socket}`, `--user=${user}`, '--batch', '-e', 'SELECT 1'], { stdio: 'ignore', timeout: 5_000 });
      if (ping.status === 0) return 'ready';
    }
    await sleep(50);
  }
  return 'not ready after 60 s';
}

/**
 * A throwaway MariaDB server for tests: `mariadb-install-db` into a temp folder, `mariadbd` on
 * its own socket and a random free port on 127.0.0.1, with durability turned off (tests never
 * survive a crash anyway) and the binary log on, so dumps meet a server with a GTID position.
 *
 * As root the server runs as the `mysql` system user (`--user=mysql`), as any other user as
 * itself. Setup connects through the socket with unix_socket authentication, then creates an
 * admin account with a generated `canary-` password (the canary tests grep for it): tests and
 * Vaultra only ever use that account, over TCP.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { run, tail, which } from './exec.js';
import { freePort, PASSWORD_CANARY_PREFIX } from './postgres-server.js';

/** How to reach the test server; what global setup provides as `mariadb`. */
export interface MariadbConnection {
  /** `mariadb://user:password@127.0.0.1:port` (no database). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly socket: string;
  /** `VERSION()`, e.g. `10.11.19-MariaDB-0+deb12u1-log`. */
  readonly serverVersion: string;
}

export interface MariadbServer extends MariadbConnection {
  /** Temp folder holding the data directory, socket and logs; removed by `stop()`. */
  readonly baseDir: string;
  readonly errorLog: string;
  readonly pid: number;
  /** SIGTERM by PID (a clean shutdown), SIGKILL after 20 s, then remove the temp folder. Idempotent. */
  stop(): Promise<void>;
}

export const MARIADB_ADMIN_USER = 'vaultra_admin';

const START_TIMEOUT_MS = 30_000;

/** `mariadbd` (or `mysqld`): on PATH, or in the sbin folders Debian installs it to. */
function findServer(): string {
  for (const name of ['mariadbd', 'mysqld']) {
    const onPath = which(name) ?? ['/usr/sbin', '/usr/local/sbin', '/usr/libexec', '/usr/local/mysql/bin'].map((dir) => join(dir, name)).find((path) => existsSync(path));
    if (onPath) return onPath;
  }
  throw new Error('mariadbd not found (on PATH or in /usr/sbin); run scripts/setup-system.sh');
}

interface Owner {
  /** `--user=…` for mariadb-install-db and mariadbd when we are root, else nothing. */
  readonly userArgs: string[];
  /** The account unix_socket authentication maps this process to. */
  readonly socketUser: string;
  chown(path: string): void;
}

function serverOwner(): Owner {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot) return { userArgs: [], socketUser: userInfo().username, chown: () => undefined };
  const passwd = readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':'));
  const entry = passwd.find((fields) => fields[0] === 'mysql');
  if (!entry) throw new Error('running as root and there is no mysql system user (install mariadb-server)');
  const uid = Number(entry[2]);
  const gid = Number(entry[3]);
  return { userArgs: ['--user=mysql'], socketUser: 'root', chown: (path) => chownSync(path, uid, gid) };
}

export interface MariadbOptions {
  /** Start with the binary log (and GTIDs) on. @default true */
  readonly binaryLog?: boolean;
}

/**
 * Start a throwaway server. The caller must `await server.stop()`; a process-exit hook
 * SIGKILLs it if the caller never gets there. Rejects with a one-line reason.
 */
export async function startMariadb(options: MariadbOptions = {}): Promise<MariadbServer> {
  const mariadbd = findServer();
  const installDb = which('mariadb-install-db') ?? which('mysql_install_db');
  if (!installDb) throw new Error('mariadb-install-db not found on PATH; run scripts/setup-system.sh');
  const client = which('mariadb') ?? which('mysql');
  if (!client) throw new Error('the mariadb client not found on PATH; run scripts/setup-system.sh');
  const owner = serverOwner();

  // As root the server runs as `mysql`, which must be able to reach the folder: TMPDIR may be private.
  const base = owner.userArgs.length > 0 && (statSync(tmpdir()).mode & 0o001) === 0 ? '/tmp' : tmpdir();
  const baseDir = mkdtempSync(join(base, 'vaultra-mariadb-'));
  const dataDir = join(baseDir, 'data');
  const socket = join(baseDir, 'mariadb.sock');
  const pidFile = join(baseDir, 'mariadbd.pid');
  const errorLog = join(baseDir, 'error.log');
  const password = `${PASSWORD_CANARY_PREFIX}${randomBytes(12).toString('hex')}`;
  owner.chown(baseDir);

  let child: ChildProcess | undefined;
  let stopped = false;
  const killNow = () => {
    if (stopped) return;
    stopped = true;
    if (child?.pid && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(baseDir, { recursive: true, force: true });
  };
  process.once('exit', killNow);

  try {
    const installed = await run(
      installDb,
      [
        '--no-defaults',
        `--datadir=${dataDir}`,
        ...owner.userArgs,
        `--auth-root-socket-user=${owner.socketUser}`,
        '--skip-test-db',
        '--skip-name-resolve',
      ],
      { timeoutMs: 60_000, cwd: baseDir },
    );
    if (installed.code !== 0) throw new Error(`mariadb-install-db failed: ${lastMeaningfulLine(installed.stderr || installed.stdout)}`);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      child = spawn(
        mariadbd,
        [
          '--no-defaults',
          `--datadir=${dataDir}`,
          ...owner.userArgs,
          `--socket=${socket}`,
          `--port=${port}`,
          '--bind-address=127.0.0.1',
          `--pid-file=${pidFile}`,
          `--log-error=${errorLog}`,
          // Temporary tables in the server's own folder: a run saw one deleted from the shared /tmp
          // mid-query ("Error on delete of '/tmp/#sql-temptable-…'"), failing an unrelated test.
          `--tmpdir=${baseDir}`,
          '--skip-name-resolve',
          // Durability off: a test server never has to survive a crash.
          '--innodb-flush-log-at-trx-commit=0',
          '--innodb-doublewrite=0',
          '--sync-binlog=0',
          '--innodb-buffer-pool-size=128M',
          // The binary log (and with it MariaDB's GTIDs) on, so dumps record a GTID position.
          ...(options.binaryLog === false ? [] : [`--log-bin=${join(dataDir, 'binlog')}`, '--server-id=1', '--binlog-format=ROW']),
          '--character-set-server=utf8mb4',
          '--collation-server=utf8mb4_general_ci',
          '--default-time-zone=+00:00',
          '--max-allowed-packet=64M',
          '--max-connections=200',
          // Tests run restored events on demand; nothing else schedules any.
          '--event-scheduler=ON',
          '--performance-schema=OFF',
        ],
        { cwd: baseDir, stdio: 'ignore', detached: true },
      );
      child.unref();
      const ready = await waitForReady(child, client, socket, owner.socketUser);
      if (ready === 'ready') break;
      const log = existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '';
      if (attempt < 3 && /already in use|Can't start server: Bind/i.test(log)) continue; // lost the port race
      throw new Error(`mariadbd did not start (${ready}): ${lastMeaningfulLine(log) || 'no error log'}`);
    }

    // The admin account: the password travels on stdin, never in argv.
    const admin = `'${MARIADB_ADMIN_USER}'@'%'`;
    const setup = await run(client, ['--no-defaults', `--socket=${socket}`, `--user=${owner.socketUser}`, '--batch', '--skip-column-names'], {
      // No anonymous accounts: ''@'localhost' would shadow the admin account on the socket.
      input: `DROP USER IF EXISTS ''@'localhost', ''@'${hostname()}';
CREATE USER ${admin} IDENTIFIED BY '${password}';
GRANT ALL PRIVILEGES ON *.* TO ${admin} WITH GRANT OPTION;
SELECT VERSION();`,
      timeoutMs: 30_000,
    });
    if (setup.code !== 0) throw new Error(`cannot create the admin account: ${lastMeaningfulLine(setup.stderr)}`);
    const serverVersion = setup.stdout.trim();

    const host = '127.0.0.1';
    const pid = Number(readFileSync(pidFile, 'utf8').trim()) || child!.pid!;
    const server: MariadbServer = {
      url: `mariadb://${MARIADB_ADMIN_USER}:${encodeURIComponent(password)}@${host}:${port}`,
      host,
      port,
      user: MARIADB_ADMIN_USER,
      password,
      socket,
      serverVersion,
      baseDir,
      errorLog,
      pid,
      async stop() {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', killNow);
        await stopByPid(child!, pid);
        rmSync(baseDir, { recursive: true, force: true });
      },
    };
    return server;
  } catch (error) {
    process.removeListener('exit', killNow);
    killNow();
    throw error;
  }
}

/** Polls the socket until the server answers, it exits, or the start timeout passes. */
async function waitForReady(child: ChildProcess, client: string, socket: string, user: string): Promise<'ready' | string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return `exited ${child.exitCode ?? child.signalCode}`;
    if (existsSync(socket)) {
      const ping = spawnSync(client, ['--no-defaults', `--socket=${socket}`, `--user=${user}`, '--batch', '-e', 'SELECT 1'], { stdio: 'ignore', timeout: 5_000 });
      if (ping.status === 0) return 'ready';
    }
    await sleep(50);
  }
  return `not ready after ${START_TIMEOUT_MS / 1000} s`;
}

async function stopByPid(child: ChildProcess, pid: number): Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // not running
  }
  const timer = setTimeout(() => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }, 20_000);
  await exited;
  clearTimeout(timer);
}

/** The line of a server or tool log that says what went wrong. */
function lastMeaningfulLine(text: string): string {
  const lines = tail(text, 40).split('\n').map((l) => l.trim()).filter(Boolean);
  const telling = lines.filter((l) => /\[ERROR\]|error|fatal/i.test(l) && !/\bAborting\b/.test(l));
  return (telling.at(-1) ?? lines.at(-1) ?? '').slice(0, 300);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

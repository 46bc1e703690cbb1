/**
 * A throwaway PostgreSQL server for tests: fresh cluster in a temp folder, random free port
 * on 127.0.0.1, SCRAM password auth, `fsync=off`. `initdb` refuses to run as root, so as
 * root the cluster is created and run by the `postgres` system user (via `runuser`).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, runOk, tail, which } from './exec.js';
import { psqlQuery, type PgConnection } from './psql.js';

/** Every generated password starts with this, so tests can grep logs and argv for leaks. */
export const PASSWORD_CANARY_PREFIX = 'canary-';

export const ADMIN_USER = 'vaultra_admin';

export interface PostgresServer extends PgConnection {
  /** Cluster data folder (inside {@link PostgresServer.baseDir}). */
  readonly dataDir: string;
  /** Temp folder holding the cluster, its socket, log and password file; removed by `stop()`. */
  readonly baseDir: string;
  /** Server log file, handy when a test fails. */
  readonly logFile: string;
  /** PID of the postmaster. */
  readonly pid: number;
  /** `pg_ctl stop -m fast`, SIGKILL by PID if that fails, then remove the temp folder. Idempotent. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** How long `pg_ctl start -w` may wait for the server. @default 60 */
  readonly startTimeoutSec?: number;
  /**
   * Point-in-time recovery tests: `wal_level = replica`, WAL senders and replication slots, no
   * extra WAL kept (`wal_keep_size = 0`), and a `host replication` line in pg_hba.conf for the
   * admin user (initdb's defaults have them on PostgreSQL 15; said explicitly so a test does not
   * depend on them). @default false
   */
  readonly replication?: boolean;
  /** `initdb --wal-segsize` in MB (a power of 2): small segments keep WAL tests fast. @default 16 */
  readonly walSegmentSizeMb?: number;
}

/**
 * The folder with `initdb`, `pg_ctl` and `postgres`: `pg_config --bindir` when that folder
 * has them, else the highest `/usr/lib/postgresql/<major>/bin`. Throws a one-line reason.
 */
export function findPostgresBinDir(): string {
  const pgConfig = which('pg_config');
  if (pgConfig) {
    const result = spawnSync(pgConfig, ['--bindir'], { encoding: 'utf8', timeout: 10_000 });
    const dir = result.status === 0 ? result.stdout.trim() : '';
    if (dir && hasServerBinaries(dir)) return dir;
  }
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((name) => /^\d+(\.\d+)?$/.test(name))
      .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
    for (const major of majors) {
      const dir = join(root, major, 'bin');
      if (hasServerBinaries(dir)) return dir;
    }
  }
  const initdb = which('initdb');
  if (initdb) {
    const dir = initdb.slice(0, initdb.lastIndexOf('/'));
    if (hasServerBinaries(dir)) return dir;
  }
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl, postgres) not found; run scripts/setup-system.sh');
}

function hasServerBinaries(dir: string): boolean {
  return ['initdb', 'pg_ctl', 'postgres'].every((tool) => existsSync(join(dir, tool)));
}

/** A TCP port that was free on 127.0.0.1 a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not read the bound port'))));
    });
  });
}

interface RunAs {
  /** True when the cluster runs as another user than this process (we are root). */
  readonly switchesUser: boolean;
  /** Command and argv prefix that runs a program as the cluster owner. */
  wrap(command: string, args: readonly string[]): [string, string[]];
  /** Hand a path over to the cluster owner. */
  chown(path: string): void;
}

function idOf(user: string, flag: '-u' | '-g'): number | undefined {
  try {
    // name:password:uid:gid:...
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const fields = line.split(':');
      if (fields[0] === user) return Number(fields[flag === '-u' ? 2 : 3]);
    }
  } catch {
    // fall through to id(1), which also sees NSS users
  }
  const result = spawnSync('id', [flag, user], { encoding: 'utf8', timeout: 10_000 });
  return result.status === 0 ? Number(result.stdout.trim()) : undefined;
}

function clusterOwner(): RunAs {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    return { switchesUser: false, wrap: (command, args) => [command, [...args]], chown: () => undefined };
  }
  const runuser = which('runuser') ?? ['/usr/sbin/runuser', '/sbin/runuser'].find((p) => existsSync(p));
  if (!runuser) throw new Error('running as root and runuser is not installed (initdb refuses root)');
  const user = idOf('postgres', '-u') !== undefined ? 'postgres' : 'nobody';
  const uid = idOf(user, '-u');
  const gid = idOf(user, '-g');
  if (uid === undefined || gid === undefined) throw new Error('running as root and neither a postgres nor a nobody user exists');
  return {
    switchesUser: true,
    wrap: (command, args) => [runuser, ['-u', user, '--', command, ...args]],
    chown: (path) => chownSync(path, uid, gid),
  };
}

function confString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Environment for initdb / pg_ctl: no inherited PG* settings, English messages. */
function serverEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG') && !key.startsWith('LC_') && key !== 'LANG') env[key] = value;
  }
  return { ...env, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' };
}

/**
 * Start a throwaway server. The caller must `await server.stop()`; a process-exit hook
 * stops it (`-m immediate`) if the caller never gets there.
 *
 * @example
 * const server = await startPostgres();
 * try { ... server.url ... } finally { await server.stop(); }
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const binDir = findPostgresBinDir();
  const owner = clusterOwner();
  const env = serverEnv();

  let base = tmpdir();
  if (owner.switchesUser) {
    // The cluster owner must be able to reach the folder; TMPDIR may point somewhere private.
    const [cmd, args] = owner.wrap('test', ['-x', base, '-a', '-d', base]);
    if ((await run(cmd, args, { env, timeoutMs: 10_000 })).code !== 0) base = '/tmp';
  }
  const baseDir = mkdtempSync(join(base, 'vaultra-pg-'));
  const dataDir = join(baseDir, 'data');
  const socketDir = join(baseDir, 'sock');
  const logFile = join(baseDir, 'postgres.log');
  const pwFile = join(baseDir, 'pwfile');
  const password = `${PASSWORD_CANARY_PREFIX}${randomBytes(12).toString('hex')}`;

  const ctl = (args: readonly string[], timeoutMs: number) => {
    const [cmd, argv] = owner.wrap(join(binDir, 'pg_ctl'), args);
    return run(cmd, argv, { env, cwd: baseDir, timeoutMs });
  };

  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    const [cmd, argv] = owner.wrap(join(binDir, 'pg_ctl'), ['stop', '-D', dataDir, '-m', 'immediate', '-w', '-t', '10']);
    const result = spawnSync(cmd, argv, { env, cwd: '/', stdio: 'ignore', timeout: 15_000 });
    if (result.status !== 0) killPostmaster(dataDir);
    rmSync(baseDir, { recursive: true, force: true });
  };
  process.once('exit', stopSync);

  try {
    mkdirSync(socketDir, { mode: 0o700 });
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    for (const path of [baseDir, socketDir, pwFile]) owner.chown(path);

    const [initCmd, initArgs] = owner.wrap(join(binDir, 'initdb'), [
      '-D', dataDir,
      '-U', ADMIN_USER,
      `--pwfile=${pwFile}`,
      '-A', 'scram-sha-256',
      '-E', 'UTF8',
      '--locale=C',
      '--no-sync',
      '--no-instructions',
      ...(options.walSegmentSizeMb ? [`--wal-segsize=${options.walSegmentSizeMb}`] : []),
    ]);
    await runOk(initCmd, initArgs, { env, cwd: baseDir, timeoutMs: 120_000 });
    rmSync(pwFile, { force: true });
    if (options.replication) appendFileSync(join(dataDir, 'pg_hba.conf'), `\nhost replication ${ADMIN_USER} 127.0.0.1/32 scram-sha-256\n`);

    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      appendFileSync(
        join(dataDir, 'postgresql.conf'),
        [
          '',
          '# vaultra test harness',
          "listen_addresses = '127.0.0.1'",
          `port = ${port}`,
          `unix_socket_directories = ${confString(socketDir)}`,
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          "timezone = 'UTC'",
          "log_timezone = 'UTC'",
          "lc_messages = 'C'",
          // Small /dev/shm in containers breaks parallel query; the tests do not need it.
          'max_parallel_workers_per_gather = 0',
          ...(options.replication ? ["wal_level = 'replica'", 'max_wal_senders = 10', 'max_replication_slots = 10', 'wal_keep_size = 0'] : []),
          '',
        ].join('\n'),
      );
      const started = await ctl(['start', '-D', dataDir, '-l', logFile, '-w', '-t', String(options.startTimeoutSec ?? 60), '-s'], 120_000);
      if (started.code === 0) break;
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      if (attempt < 3 && /could not bind|already in use/i.test(log)) continue; // lost the port race
      throw new Error(`pg_ctl start failed: ${tail(started.stderr || started.stdout, 5)}\n${tail(log, 10)}`);
    }

    const pid = postmasterPid(dataDir);
    const host = '127.0.0.1';
    const url = `postgres://${ADMIN_USER}:${encodeURIComponent(password)}@${host}:${port}/postgres`;
    const connection = { url, host, port, user: ADMIN_USER, password, binDir, serverVersion: '' };
    const serverVersion = await psqlQuery(connection, 'postgres', 'SHOW server_version', { timeoutMs: 30_000 });

    const server: PostgresServer = {
      ...connection,
      serverVersion: serverVersion.split(' ')[0] ?? serverVersion,
      dataDir,
      baseDir,
      logFile,
      pid: pid ?? 0,
      async stop() {
        if (stopped) return;
        stopped = true;
        process.removeListener('exit', stopSync);
        const result = await ctl(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30', '-s'], 60_000);
        if (result.code !== 0) killPostmaster(dataDir);
        rmSync(baseDir, { recursive: true, force: true });
      },
    };
    return server;
  } catch (error) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw error;
  }
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const first = readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Last resort after a failed `pg_ctl stop`: SIGKILL the postmaster named in `postmaster.pid`.
 * (A cleanly stopped server has removed that file, so a recycled PID is never hit.)
 */
function killPostmaster(dataDir: string): void {
  const pid = postmasterPid(dataDir);
  if (!pid) return;
  try {
    // Only a process that is still a postgres: a stale file may name a recycled PID.
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) return;
  } catch {
    return; // not running
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // raced with its exit
  }
}

/** A server started on a data directory that already exists (a restored one); `stop()` leaves the directory. */
export interface ExistingDataServer extends PgConnection {
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL on `dataDir` (a restored data directory, already owned by the cluster
 * owner) on a fresh port and a private socket folder, logging in `logFile`; the accounts are the
 * restored cluster's, so the caller names one with its password.
 */
export async function startPostgresOn(dataDir: string, account: { readonly user: string; readonly password: string }): Promise<ExistingDataServer> {
  const binDir = findPostgresBinDir();
  const owner = clusterOwner();
  const env = serverEnv();
  const baseDir = mkdtempSync(join(owner.switchesUser ? '/tmp' : tmpdir(), 'vaultra-pg-on-'));
  const socketDir = join(baseDir, 'sock');
  mkdirSync(socketDir, { mode: 0o700 });
  for (const path of [baseDir, socketDir]) owner.chown(path);
  const logFile = join(baseDir, 'postgres.log');
  const port = await freePort();
  const ctl = (args: readonly string[], timeoutMs: number) => {
    const [cmd, argv] = owner.wrap(join(binDir, 'pg_ctl'), args);
    return run(cmd, argv, { env, cwd: baseDir, timeoutMs });
  };
  const settings = `-c port=${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${socketDir} -c archive_mode=off`;
  const started = await ctl(['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-s', '-o', settings], 90_000);
  if (started.code !== 0) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
    rmSync(baseDir, { recursive: true, force: true });
    throw new Error(`pg_ctl start on ${dataDir} failed: ${tail(started.stderr || started.stdout, 5)}\n${tail(log, 10)}`);
  }
  const host = '127.0.0.1';
  const url = `postgres://${account.user}:${encodeURIComponent(account.password)}@${host}:${port}/postgres`;
  let stopped = false;
  return {
    url, host, port, user: account.user, password: account.password, binDir, serverVersion: '',
    logFile,
    async stop() {
      if (stopped) return;
      stopped = true;
      const result = await ctl(['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30', '-s'], 60_000);
      if (result.code !== 0) killPostmaster(dataDir);
      rmSync(baseDir, { recursive: true, force: true });
    },
  };
}

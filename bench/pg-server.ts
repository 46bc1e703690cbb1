/**
 * A throwaway PostgreSQL server for the benchmark (a short cousin of test/support's, which
 * bench/ may not import): fresh cluster in `<parent>/pg`, random free port on 127.0.0.1, SCRAM
 * password auth. As root, `initdb` and the server run as the `postgres` user (via `runuser`).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, idOf } from './support.js';

export interface BenchServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly binDir: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** libpq environment for clients (psql, pg_dump, vaultra): no inherited PG* settings. */
  env(database?: string): NodeJS.ProcessEnv;
  /** The command that stops the server (printed with --keep). */
  readonly stopCommand: string;
  /** `pg_ctl stop -m fast`; idempotent. */
  stop(): void;
}

/** Same settings for both contenders; fsync off as in the test harness (this measures CPU and pipes, not the disk). */
const SETTINGS = [
  "listen_addresses = '127.0.0.1'",
  'fsync = off',
  'synchronous_commit = off',
  'full_page_writes = off',
  'max_wal_size = 4GB',
  "timezone = 'UTC'",
  "lc_messages = 'C'",
  'max_parallel_workers_per_gather = 0',
];

export async function startBenchServer(parentDir: string): Promise<BenchServer> {
  const binDir = postgresBinDir();
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot ? (idOf('postgres') ? 'postgres' : 'nobody') : undefined;
  const ids = owner ? idOf(owner) : undefined;
  const wrap = (tool: string, args: string[]): [string, string[]] => (owner ? ['runuser', ['-u', owner, '--', join(binDir, tool), ...args]] : [join(binDir, tool), args]);
  const serverEnv: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' };
  const sh = (tool: string, args: string[]) => {
    const [cmd, argv] = wrap(tool, args);
    const result = spawnSync(cmd, argv, { env: serverEnv, cwd: parentDir, encoding: 'utf8', timeout: 180_000 });
    if (result.status !== 0) throw new Error(`${tool} failed: ${(result.stderr || result.stdout || String(result.error)).trim().split('\n').slice(-5).join(' | ')}`);
  };

  const baseDir = join(parentDir, 'pg');
  const dataDir = join(baseDir, 'data');
  const logFile = join(baseDir, 'postgres.log');
  const pwFile = join(baseDir, 'pwfile');
  const password = `bench-${randomBytes(12).toString('hex')}`;
  mkdirSync(baseDir, { mode: 0o700 });
  writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
  if (ids) for (const path of [baseDir, pwFile]) chownSync(path, ids.uid, ids.gid);

  const user = 'bench';
  sh('initdb', ['-D', dataDir, '-U', user, `--pwfile=${pwFile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions']);
  const port = await freePort();
  appendFileSync(join(dataDir, 'postgresql.conf'), ['', '# vaultra bench', `port = ${port}`, `unix_socket_directories = '${baseDir}'`, ...SETTINGS, ''].join('\n'));
  sh('pg_ctl', ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60', '-s']);

  const [stopCmd, stopArgs] = wrap('pg_ctl', ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60', '-s']);
  let stopped = false;
  const host = '127.0.0.1';
  return {
    host,
    port,
    user,
    password,
    binDir,
    dataDir,
    logFile,
    stopCommand: [stopCmd, ...stopArgs].join(' '),
    env(database = 'postgres') {
      const env: NodeJS.ProcessEnv = {};
      for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('PG')) env[key] = value;
      return { ...env, PGHOST: host, PGPORT: String(port), PGUSER: user, PGPASSWORD: password, PGDATABASE: database, PGSSLMODE: 'disable' };
    },
    stop() {
      if (stopped) return;
      stopped = true;
      const result = spawnSync(stopCmd, stopArgs, { env: serverEnv, cwd: '/', stdio: 'ignore', timeout: 90_000 });
      if (result.status !== 0) killPostmaster(dataDir);
    },
  };
}

function postgresBinDir(): string {
  const has = (dir: string) => ['initdb', 'pg_ctl', 'postgres'].every((tool) => existsSync(join(dir, tool)));
  const root = '/usr/lib/postgresql';
  const majors = existsSync(root) ? readdirSync(root).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const major of majors) if (has(join(root, major, 'bin'))) return join(root, major, 'bin');
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (which && has(which.slice(0, which.lastIndexOf('/')))) return which.slice(0, which.lastIndexOf('/'));
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: run scripts/setup-system.sh');
}

function killPostmaster(dataDir: string): void {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('postgres')) process.kill(pid, 'SIGKILL');
  } catch {
    // not running
  }
}

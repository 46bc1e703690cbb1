/**
 * Talking to the test MariaDB server from tests through the real `mariadb` client (no npm
 * driver). The password travels in `MYSQL_PWD`, never in argv, so it cannot show up in `ps`.
 */
import { run, tail, which, type RunResult } from './exec.js';
import type { MariadbConnection } from './mariadb-server.js';

export interface MysqlExecOptions {
  /** @default 120_000 */
  readonly timeoutMs?: number;
  /** Keep `-- comments` in what is sent (trigger and routine bodies keep them). @default false */
  readonly keepComments?: boolean;
}

function client(): string {
  const path = which('mariadb') ?? which('mysql');
  if (!path) throw new Error('the mariadb client is not on PATH; run scripts/setup-system.sh');
  return path;
}

/** Environment for a MySQL client talking to `server`: MYSQL_PWD set, no other inherited MYSQL_* settings. */
export function mysqlEnv(server: MariadbConnection, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('MYSQL_')) env[key] = value;
  return { ...env, MYSQL_PWD: server.password, ...extra };
}

/**
 * A URL for `database` on the test server. With `password: false` the URL has none (the
 * password then comes from MYSQL_PWD, as a user might set it).
 */
export function mysqlUrl(server: MariadbConnection, database: string, options: { password?: boolean; scheme?: 'mysql' | 'mariadb' } = {}): string {
  const password = options.password === false ? '' : `:${encodeURIComponent(server.password)}`;
  return `${options.scheme ?? 'mariadb'}://${server.user}${password}@${server.host}:${server.port}/${encodeURIComponent(database)}`;
}

/** Run SQL (any number of statements, fed on stdin). Never rejects on SQL errors. */
export function mysqlExec(server: MariadbConnection, database: string | undefined, sql: string, options: MysqlExecOptions = {}): Promise<RunResult> {
  const args = ['--no-defaults', `--host=${server.host}`, `--port=${server.port}`, `--user=${server.user}`, '--batch', '--skip-column-names', '--default-character-set=utf8mb4'];
  if (options.keepComments) args.push('--comments');
  if (database) args.push(`--database=${database}`);
  return run(client(), args, { env: mysqlEnv(server), input: sql, timeoutMs: options.timeoutMs ?? 120_000 });
}

/**
 * Run SQL and return its batch output (tab-separated, tabs/newlines/backslashes escaped) without
 * the final newline. Rejects with the client's error when a statement fails.
 */
export async function mysqlQuery(server: MariadbConnection, database: string | undefined, sql: string, options: MysqlExecOptions = {}): Promise<string> {
  const result = await mysqlExec(server, database, sql, options);
  if (result.code !== 0) throw new Error(`mariadb on ${database ?? '(no database)'} exited ${result.code ?? result.signal}: ${tail(result.stderr || result.stdout)}`);
  return result.stdout.replace(/\n$/, '');
}

/** Rows of fields. */
export async function mysqlRows(server: MariadbConnection, database: string | undefined, sql: string): Promise<string[][]> {
  const out = await mysqlQuery(server, database, sql);
  return out === '' ? [] : out.split('\n').map((line) => line.split('\t'));
}

/** `` `weird``name` `` */
export function quoteName(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** A string literal (the test server runs without NO_BACKSLASH_ESCAPES). */
export function quoteString(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
}

/**
 * Talking to PostgreSQL from tests through the real `psql` client (no npm driver).
 * The password travels in `PGPASSWORD`, never in argv, so it cannot show up in `ps`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run, tail, which, type RunResult } from './exec.js';

/** How to reach a PostgreSQL server; what global setup provides as `pg`. */
export interface PgConnection {
  /** `postgres://user:password@host:port/postgres` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** Folder holding `psql`, `pg_dump`, `pg_restore`… of the server's major version. */
  readonly binDir: string;
  /** `server_version` as reported by the server, e.g. `15.14`. */
  readonly serverVersion: string;
}

export interface PsqlOptions {
  /** @default 120_000 */
  readonly timeoutMs?: number;
  /** Shown in `pg_stat_activity.application_name`. @default 'vaultra-test' */
  readonly appName?: string;
}

/** Separator between fields in {@link psqlRows} output (ASCII unit separator). */
export const FIELD_SEPARATOR = '\x1f';

/** A `postgres://` URL for another database on the same server. */
export function databaseUrl(pg: PgConnection, database: string): string {
  const url = new URL(pg.url);
  url.pathname = `/${encodeURIComponent(database)}`;
  return url.toString();
}

/**
 * Environment for a libpq client (psql, pg_dump, pg_restore, the Vaultra CLI) talking to `pg`.
 * Inherited `PG*` variables are dropped so a developer's own settings cannot leak in; time
 * zone and date style are pinned so text output is the same on every machine.
 */
export function pgEnv(pg: PgConnection, database = 'postgres', extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG')) env[key] = value;
  }
  return {
    ...env,
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.user,
    PGPASSWORD: pg.password,
    PGDATABASE: database,
    PGSSLMODE: 'disable',
    PGCONNECT_TIMEOUT: '10',
    PGTZ: 'UTC',
    PGDATESTYLE: 'ISO',
    PGCLIENTENCODING: 'UTF8',
    PGAPPNAME: 'vaultra-test',
    ...extra,
  };
}

/** Path of a PostgreSQL client tool, preferring the server's own major version. */
export function pgTool(pg: Pick<PgConnection, 'binDir'>, tool: string): string {
  const own = join(pg.binDir, tool);
  if (existsSync(own)) return own;
  const onPath = which(tool);
  if (!onPath) throw new Error(`${tool} not found in ${pg.binDir} nor on PATH`);
  return onPath;
}

/** Run SQL (any number of statements, fed on stdin) and return the raw result. Never rejects on SQL errors. */
export function psqlExec(pg: PgConnection, database: string, sql: string, options: PsqlOptions = {}): Promise<RunResult> {
  return run(
    pgTool(pg, 'psql'),
    ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-F', FIELD_SEPARATOR, '-f', '-'],
    {
      env: pgEnv(pg, database, { PGAPPNAME: options.appName ?? 'vaultra-test' }),
      input: sql,
      timeoutMs: options.timeoutMs ?? 120_000,
    },
  );
}

/**
 * Run SQL and return its unaligned, tuples-only output without the final newline.
 * Rejects with psql's stderr when any statement fails.
 *
 * @example
 * const n = Number(await psqlQuery(pg, db, 'SELECT count(*) FROM public.ticker'));
 */
export async function psqlQuery(pg: PgConnection, database: string, sql: string, options: PsqlOptions = {}): Promise<string> {
  const result = await psqlExec(pg, database, sql, options);
  if (result.code !== 0) {
    const why = result.timedOut ? 'timed out' : `exited ${result.code ?? result.signal}`;
    throw new Error(`psql on ${database} ${why}: ${tail(result.stderr || result.stdout)}`);
  }
  return result.stdout.replace(/\n$/, '');
}

/** Run a query and split its output into rows of fields. NULL and '' both come back as ''. */
export async function psqlRows(pg: PgConnection, database: string, sql: string, options: PsqlOptions = {}): Promise<string[][]> {
  const out = await psqlQuery(pg, database, sql, options);
  if (out === '') return [];
  return out.split('\n').map((line) => line.split(FIELD_SEPARATOR));
}

/** Quote an identifier for SQL (`"weird ""name"""`). */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quote a string literal for SQL (`'it''s'`). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

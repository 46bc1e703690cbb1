import { ConfigError } from '../../../errors.js';
import { registerSecret } from '../../../domain/redact.js';

/** A PostgreSQL connection as libpq environment variables: how credentials reach the tools. */
export interface PostgresConnection {
  readonly database: string;
  /** `PGHOST`, `PGPASSWORD`, … to add to a tool's environment. Never print this. */
  readonly env: Readonly<Record<string, string>>;
  /** host:port/database, safe to print and store. */
  readonly display: string;
}

/** libpq settings a connection URL's query string may carry, mapped to their environment variables. */
const QUERY_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  application_name: 'PGAPPNAME',
  options: 'PGOPTIONS',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
  host: 'PGHOST',
  port: 'PGPORT',
  user: 'PGUSER',
  dbname: 'PGDATABASE',
  passfile: 'PGPASSFILE',
};

/**
 * Parses `postgres://user:pass@host:port/db?sslmode=require` into libpq environment variables.
 * The password is registered for redaction the moment it is seen.
 */
export function parsePostgresUrl(url: string): PostgresConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('malformed PostgreSQL URL: expected postgres://user@host:port/database (the password in the URL or in PGPASSWORD)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`not a PostgreSQL URL (scheme ${parsed.protocol}): expected postgres://…`);
  }
  const password = decode(parsed.password);
  registerSecret(password);
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: '10' };
  if (parsed.hostname) env.PGHOST = decode(parsed.hostname).replace(/^\[(.*)\]$/, '$1');
  if (parsed.port) env.PGPORT = parsed.port;
  if (parsed.username) env.PGUSER = decode(parsed.username);
  if (password) env.PGPASSWORD = password;
  const database = decode(parsed.pathname.replace(/^\//, ''));
  if (database.includes('/')) throw new ConfigError(`malformed PostgreSQL URL: the path must be one database name`);
  if (database) env.PGDATABASE = database;
  for (const [key, value] of parsed.searchParams) {
    const name = QUERY_ENV[key];
    if (!name) throw new ConfigError(`unsupported PostgreSQL URL parameter "${key}" (supported: ${Object.keys(QUERY_ENV).join(', ')})`);
    env[name] = value;
  }
  const effectiveDatabase = env.PGDATABASE ?? env.PGUSER ?? 'postgres';
  const host = env.PGHOST ?? 'localhost';
  return {
    database: effectiveDatabase,
    env,
    display: `${host}${env.PGPORT ? `:${env.PGPORT}` : ''}/${effectiveDatabase}`,
  };
}

/** The same server, another database (for CREATE DATABASE from the maintenance database). */
export function withDatabase(connection: PostgresConnection, database: string): PostgresConnection {
  const host = connection.env.PGHOST ?? 'localhost';
  return {
    database,
    env: { ...connection.env, PGDATABASE: database },
    display: `${host}${connection.env.PGPORT ? `:${connection.env.PGPORT}` : ''}/${database}`,
  };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError('malformed PostgreSQL URL: bad percent-encoding');
  }
}

import { ConfigError } from '../../../errors.js';
import { registerSecret } from '../../../domain/redact.js';
import { emptyAuthorityPart } from '../url-parts.js';

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
    if (!/^postgres(?:ql)?:\/\//i.test(url)) throw new TypeError('no //');
    parsed = new URL(url);
  } catch {
    throw new ConfigError('malformed PostgreSQL URL: expected postgres://user@host:port/database (the password in the URL or in PGPASSWORD)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`not a PostgreSQL URL (scheme ${parsed.protocol}): expected postgres://…`);
  }
  const empty = emptyAuthorityPart(url);
  if (empty) throw new ConfigError(`malformed PostgreSQL URL: the ${empty === 'user' ? 'user name' : 'port'} is empty; leave out the "${empty === 'port' ? ':' : '@'}" or fill it in`);
  const password = decode(parsed.password);
  registerSecret(password);
  const env: Record<string, string> = { PGCONNECT_TIMEOUT: '10' };
  if (parsed.hostname) env.PGHOST = decode(parsed.hostname).replace(/^\[(.*)\]$/, '$1');
  if (parsed.port) env.PGPORT = parsed.port;
  if (parsed.username) env.PGUSER = decode(parsed.username);
  if (password) env.PGPASSWORD = password;
  const path = decode(parsed.pathname.replace(/^\//, ''));
  if (path.includes('/')) throw new ConfigError(`malformed PostgreSQL URL: the path must be one database name`);
  if (path) env.PGDATABASE = path;
  for (const [key, value] of parsed.searchParams) {
    const name = QUERY_ENV[key];
    if (!name) throw new ConfigError(`unsupported PostgreSQL URL parameter "${key}" (supported: ${Object.keys(QUERY_ENV).join(', ')})`);
    if (value === '') throw new ConfigError(`malformed PostgreSQL URL: parameter "${key}" has no value`);
    env[name] = value;
  }
  // Without a database, libpq connects to the one named after the user: fine when the URL
  // names the user (an RDS-managed secret carries no dbname), a guess when it does not (the OS
  // user of whatever machine runs the job). A backup must say what it reads: no guessing.
  const database = env.PGDATABASE ?? env.PGUSER;
  if (!database) {
    throw new ConfigError('malformed PostgreSQL URL: no database named: postgres://user@host:port/<database> (postgres:///<database> for the local socket)');
  }
  const host = env.PGHOST ?? 'localhost';
  return {
    database,
    env,
    display: `${host}${env.PGPORT ? `:${env.PGPORT}` : ''}/${database}`,
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

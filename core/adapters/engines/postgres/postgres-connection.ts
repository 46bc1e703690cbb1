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
  /**
   * The physical replication slot that keeps the server's WAL until Vaultra archived it
   * (point-in-time recovery): the URL's `slot` parameter, `vaultra_wal` by default. Not a libpq setting.
   */
  readonly replicationSlot: string;
  /** A `pgdata:<path>` target: a data directory to restore a physical backup into, no server. */
  readonly dataDirectory?: string;
}

/** The replication slot a source uses without a `slot` parameter. */
export const DEFAULT_REPLICATION_SLOT = 'vaultra_wal';

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
  let replicationSlot = DEFAULT_REPLICATION_SLOT;
  if (parsed.hostname) env.PGHOST = decode(parsed.hostname).replace(/^\[(.*)\]$/, '$1');
  if (parsed.port) env.PGPORT = parsed.port;
  if (parsed.username) env.PGUSER = decode(parsed.username);
  if (password) env.PGPASSWORD = password;
  const path = decode(parsed.pathname.replace(/^\//, ''));
  if (path.includes('/')) throw new ConfigError(`malformed PostgreSQL URL: the path must be one database name`);
  if (path) env.PGDATABASE = path;
  for (const [key, value] of parsed.searchParams) {
    if (key === 'slot') {
      // A slot name goes into SQL and pg_receivewal's argv: the server's own rule for slot names.
      if (!/^[a-z0-9_]{1,63}$/.test(value)) throw new ConfigError('malformed PostgreSQL URL: parameter "slot" must be 1-63 lower-case letters, digits or underscores');
      replicationSlot = value;
      continue;
    }
    const name = QUERY_ENV[key];
    if (!name) throw new ConfigError(`unsupported PostgreSQL URL parameter "${key}" (supported: ${[...Object.keys(QUERY_ENV), 'slot'].join(', ')})`);
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
    replicationSlot,
  };
}

/**
 * Parses `pgdata:/path/to/data` (a restore target for a physical backup: a data directory a
 * server is started on afterwards). The path must be absolute: a restore's target must not
 * depend on the folder Vaultra happens to run in.
 */
export function parsePgDataUrl(url: string): PostgresConnection {
  const path = url.replace(/^pgdata:(\/\/(?=\/))?/i, '');
  if (!path.startsWith('/')) throw new ConfigError('malformed data directory target: expected pgdata:/absolute/path (an empty or absent folder)');
  // The path goes into restore_command (a shell command in a quoted configuration string).
  if (/['%\n\r\0]/.test(path)) throw new ConfigError('data directory path must not contain quotes, % or line breaks: pick another folder');
  const dataDirectory = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return { database: '', env: {}, display: `pgdata:${dataDirectory}`, replicationSlot: DEFAULT_REPLICATION_SLOT, dataDirectory };
}

/** The same server, another database (for CREATE DATABASE from the maintenance database). */
export function withDatabase(connection: PostgresConnection, database: string): PostgresConnection {
  const host = connection.env.PGHOST ?? 'localhost';
  return {
    database,
    env: { ...connection.env, PGDATABASE: database },
    display: `${host}${connection.env.PGPORT ? `:${connection.env.PGPORT}` : ''}/${database}`,
    replicationSlot: connection.replicationSlot,
  };
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError('malformed PostgreSQL URL: bad percent-encoding');
  }
}

/**
 * The connection when it names a server; a one-line refusal for a `pgdata:` data directory,
 * which only a physical restore (and its replay) can use.
 */
export function requireServer(connection: PostgresConnection, what: string): PostgresConnection {
  if (connection.dataDirectory === undefined) return connection;
  return refuseDataDirectory(connection, what);
}

function refuseDataDirectory(connection: PostgresConnection, what: string): never {
  throw new ConfigError(`${connection.display} is a data directory, not a server: ${what} needs postgres://user@host:port/<database> (a data directory takes only the restore of a physical backup)`);
}

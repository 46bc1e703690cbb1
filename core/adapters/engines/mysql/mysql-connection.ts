import { ConfigError } from '../../../errors.js';
import { registerSecret } from '../../../domain/redact.js';
import { emptyAuthorityPart } from '../url-parts.js';

/** A MySQL/MariaDB connection parsed from `mysql://` or `mariadb://`. Never print it: it may hold a password. */
export interface MysqlConnection {
  readonly scheme: 'mysql' | 'mariadb';
  /** The database the URL names, if any. */
  readonly database?: string;
  readonly user?: string;
  readonly password?: string;
  readonly host?: string;
  readonly port?: number;
  /** Unix socket path (`?socket=`). */
  readonly socket?: string;
  /** TLS files (`?ssl-ca=`, `?ssl-cert=`, `?ssl-key=`), as the clients' options of the same names. */
  readonly tls: Readonly<Partial<Record<TlsOption, string>>>;
  /** `host:port/database` or `socket:/path/database`, safe to print and store. */
  readonly display: string;
}

type TlsOption = 'ssl-ca' | 'ssl-cert' | 'ssl-key';
const TLS_OPTIONS: readonly TlsOption[] = ['ssl-ca', 'ssl-cert', 'ssl-key'];
const SUPPORTED_PARAMETERS = ['socket', ...TLS_OPTIONS];

/**
 * Parses `mysql://user:pass@host:port/db` (or `mariadb://…`, `?socket=/run/mysqld/mysqld.sock`).
 * The password is registered for redaction the moment it is seen. As with the MySQL clients,
 * host `localhost` (or no host) means the server's Unix socket.
 */
export function parseMysqlUrl(url: string): MysqlConnection {
  let parsed: URL;
  try {
    if (!/^(?:mysql|mariadb):\/\//i.test(url)) throw new TypeError('no //');
    parsed = new URL(url);
  } catch {
    throw new ConfigError('malformed MySQL/MariaDB URL: expected mysql://user@host:port/database or mariadb://… (the password in the URL or in MYSQL_PWD)');
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'mysql' && scheme !== 'mariadb') throw new ConfigError(`not a MySQL/MariaDB URL (scheme ${parsed.protocol}): expected mysql://… or mariadb://…`);
  const empty = emptyAuthorityPart(url);
  if (empty) throw new ConfigError(`malformed MySQL/MariaDB URL: the ${empty === 'user' ? 'user name' : 'port'} is empty; leave out the "${empty === 'port' ? ':' : '@'}" or fill it in`);
  const password = decode(parsed.password);
  registerSecret(password);
  const database = decode(parsed.pathname.replace(/^\//, ''));
  if (database.includes('/')) throw new ConfigError('malformed MySQL/MariaDB URL: the path must be one database name');
  let socket: string | undefined;
  const tls: Partial<Record<TlsOption, string>> = {};
  for (const [key, value] of parsed.searchParams) {
    if (value === '' && (key === 'socket' || (TLS_OPTIONS as readonly string[]).includes(key))) throw new ConfigError(`malformed MySQL/MariaDB URL: parameter "${key}" has no value`);
    if (key === 'socket') socket = value;
    else if ((TLS_OPTIONS as readonly string[]).includes(key)) tls[key as TlsOption] = value;
    else throw new ConfigError(`unsupported MySQL/MariaDB URL parameter "${key}" (supported: ${SUPPORTED_PARAMETERS.join(', ')})`);
  }
  const host = parsed.hostname ? decode(parsed.hostname).replace(/^\[(.*)\]$/, '$1') : undefined;
  const port = parsed.port ? Number(parsed.port) : undefined;
  const where = socket ? `socket:${socket}` : `${host ?? 'localhost'}${port ? `:${port}` : ''}`;
  return {
    scheme,
    ...(database ? { database } : {}),
    ...(parsed.username ? { user: decode(parsed.username) } : {}),
    ...(password ? { password } : {}),
    ...(host ? { host } : {}),
    ...(port ? { port } : {}),
    ...(socket ? { socket } : {}),
    tls,
    display: `${where}/${database}`,
  };
}

/** The same server, another database (or none, for server-wide queries). */
export function withDatabase(connection: MysqlConnection, database: string | undefined): MysqlConnection {
  const { database: _old, ...rest } = connection;
  return { ...rest, ...(database ? { database } : {}), display: connection.display.replace(/\/[^/]*$/, `/${database ?? ''}`) };
}

/**
 * The `[client]` group of an option file holding this connection, credentials included.
 * Only options every MySQL and MariaDB client program understands go in `[client]` (an
 * unknown one there is a fatal error for the tools that read it). The database is not in it:
 * the dump tool takes it as an argument, the client as `--database`.
 */
export function clientOptionGroup(connection: MysqlConnection): string {
  const lines = ['[client]'];
  const add = (name: string, value: string | number | undefined) => {
    if (value !== undefined && value !== '') lines.push(`${name}=${typeof value === 'number' ? value : optionValue(value)}`);
  };
  add('user', connection.user);
  add('password', connection.password);
  if (connection.socket) {
    add('socket', connection.socket);
  } else {
    add('host', connection.host);
    add('port', connection.port);
  }
  for (const option of TLS_OPTIONS) add(option, connection.tls[option]);
  return `${lines.join('\n')}\n`;
}

/**
 * An option-file value, double-quoted with the escapes the MySQL/MariaDB option-file reader
 * undoes (`\\`, `\"`, `\n`, `\r`, `\t`): quoting keeps `#` (a comment otherwise) and
 * leading/trailing spaces as they are.
 */
export function optionValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError('malformed MySQL/MariaDB URL: bad percent-encoding');
  }
}

/** A connection that names a database: what a MySQL/MariaDB source or restore target must be. */
export interface MysqlTarget extends MysqlConnection {
  readonly database: string;
}

/** `parseMysqlUrl`, refusing a URL without a database: a dump or restore of a whole server is not supported. */
export function parseMysqlDatabaseUrl(url: string): MysqlTarget {
  const connection = parseMysqlUrl(url);
  if (!connection.database) throw new ConfigError(`the MySQL/MariaDB URL must name a database: ${connection.scheme}://user@host:port/<database>`);
  return connection as MysqlTarget;
}

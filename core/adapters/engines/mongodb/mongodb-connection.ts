import { ConfigError } from '../../../errors.js';
import { registerSecret } from '../../../domain/redact.js';

/**
 * A MongoDB connection string (`mongodb://user:pass@h1:27017,h2/db?authSource=admin` or
 * `mongodb+srv://…`), split so that the database can be handled apart from the connection:
 * the tools get the connection in a 0600 config file and the database as flags.
 */
export interface MongoConnection {
  readonly scheme: 'mongodb' | 'mongodb+srv';
  readonly username?: string;
  readonly password?: string;
  /** The host list as written (`h1:27017,h2`). */
  readonly hosts: string;
  /** The database the URL names (its path), if any. */
  readonly database?: string;
  /** Query options, in order, decoded. */
  readonly options: readonly (readonly [string, string])[];
  /** `hosts/database`, safe to print and store: never credentials. */
  readonly display: string;
}

/**
 * Parses a MongoDB URL. The password is registered for redaction the moment it is seen.
 * Throws {@link ConfigError} on a malformed URL (the message never repeats the URL: it may
 * hold a password).
 */
export function parseMongoUrl(url: string): MongoConnection {
  const match = /^(mongodb(?:\+srv)?):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(url.trim());
  if (!match) throw new ConfigError('malformed MongoDB URL: expected mongodb://user:password@host:port/database?options or mongodb+srv://…');
  const scheme = match[1]!.toLowerCase() as MongoConnection['scheme'];
  const authority = match[2]!;
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hosts = at >= 0 ? authority.slice(at + 1) : authority;
  if (!hosts) throw new ConfigError('malformed MongoDB URL: no host');
  if (userinfo !== undefined && /^(?::|$)/.test(userinfo)) throw new ConfigError('malformed MongoDB URL: the user name before "@" is empty; leave out the "@" or fill it in');
  if (hosts.split(',').some((host) => host === '' || host.endsWith(':'))) throw new ConfigError('malformed MongoDB URL: an empty host or port in the host list');
  if (scheme === 'mongodb+srv' && (hosts.includes(',') || /:\d+$/.test(hosts))) {
    throw new ConfigError('malformed MongoDB URL: mongodb+srv:// takes one host name without a port');
  }
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    username = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name');
    password = colon >= 0 ? decode(userinfo.slice(colon + 1), 'password') : undefined;
    registerSecret(password);
  }
  const database = match[3] ? decode(match[3], 'database name') : undefined;
  if (database !== undefined && /[/\\. "$]/.test(database)) throw new ConfigError(`malformed MongoDB URL: "${database}" is not a valid database name`);
  const options: [string, string][] = [];
  for (const pair of (match[4] ?? '').split('&')) {
    if (!pair) continue;
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) throw new ConfigError(`malformed MongoDB URL: option "${pair.slice(0, Math.min(40, eq > 0 ? eq : 40))}" has no value`);
    options.push([decode(pair.slice(0, eq), 'option name'), decode(pair.slice(eq + 1), 'option value')]);
  }
  // A Unix socket host is its percent-encoded path (`%2Ftmp%2Fmongod.sock`): shown as the path.
  const display = `${/^%2f/i.test(hosts) ? decode(hosts, 'socket path') : hosts}/${database ?? ''}`;
  return {
    scheme,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    hosts,
    ...(database ? { database } : {}),
    options,
    display,
  };
}

/**
 * The URL without its database path, for the tools (which take the database as flags) and
 * the driver. Secret: it carries the password. When the URL authenticates against the
 * database it names (no `authSource`), that stays so with an explicit `authSource`, as the
 * connection string spec defines.
 */
export function connectionUri(connection: MongoConnection): string {
  const userinfo =
    connection.username !== undefined
      ? `${encodeURIComponent(connection.username)}${connection.password !== undefined ? `:${encodeURIComponent(connection.password)}` : ''}@`
      : '';
  const options = [...connection.options];
  const hasAuthSource = options.some(([key]) => key.toLowerCase() === 'authsource');
  if (connection.username !== undefined && connection.database && !hasAuthSource) options.push(['authSource', connection.database]);
  const query = options.map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`).join('&');
  return `${connection.scheme}://${userinfo}${connection.hosts}/${query ? `?${query}` : ''}`;
}

/** The value of a URL option, matched case-insensitively as the spec says. */
export function optionOf(connection: MongoConnection, name: string): string | undefined {
  return connection.options.find(([key]) => key.toLowerCase() === name.toLowerCase())?.[1];
}

function decode(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigError(`malformed MongoDB URL: the ${what} is not valid percent-encoding`);
  }
}

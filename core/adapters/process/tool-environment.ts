/**
 * The environment a native tool starts with: an allow-list of what any tool may need from the
 * runner's own environment, the variables of the tool's family (libpq's `PG*` for the
 * PostgreSQL tools), and the tool's own variables (a connection's `PGPASSWORD`, `LC_ALL=C` for
 * tar). Nothing else: the runner's environment holds cloud credentials
 * (`AZURE_STORAGE_CONNECTION_STRING` with an account key, `AWS_SECRET_ACCESS_KEY`,
 * `GOOGLE_APPLICATION_CREDENTIALS`, a passphrase variable), and `zstd`, `sqlite3` or `tar` — or
 * whatever they start — have no use for them.
 */

/** What every tool may inherit: how to find programs, where temp files go, the user's home (`.pgpass`), locale and time zone, TLS trust roots. */
const ALLOWED = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'LANGUAGE', 'TZ', 'SSL_CERT_FILE', 'SSL_CERT_DIR']);
const ALLOWED_PREFIXES = ['LC_'];

/** Variable prefixes a family of tools reads from the user's environment. */
export const TOOL_FAMILY_VARIABLES = {
  /** libpq: PGHOST, PGSSLMODE, PGSSLROOTCERT, PGPASSFILE, PGSERVICEFILE, … (the user's own connection settings). */
  postgres: ['PG'],
  /** The MySQL/MariaDB clients: MYSQL_PWD (a password the URL leaves out), MYSQL_HOME, MYSQL_TEST_LOGIN_FILE, MARIADB_HOME, … */
  mysql: ['MYSQL_', 'MARIADB_'],
} as const satisfies Record<string, readonly string[]>;

/**
 * The environment for a tool: the allowed variables of `from`, those of `from` starting with one
 * of `inheritPrefixes`, then `own` over them (an `undefined` value removes a variable).
 */
export function toolEnvironment(own: NodeJS.ProcessEnv = {}, inheritPrefixes: readonly string[] = [], from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(from)) {
    if (value === undefined) continue;
    if (ALLOWED.has(name) || ALLOWED_PREFIXES.some((prefix) => name.startsWith(prefix)) || inheritPrefixes.some((prefix) => name.startsWith(prefix))) env[name] = value;
  }
  for (const [name, value] of Object.entries(own)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

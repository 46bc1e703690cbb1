import type { EngineId } from '../../ports/database-engine.js';
import { ConfigError } from '../../errors.js';
import { withoutCredentials } from '../../domain/redact.js';
import { directoryPath } from './directory/directory-paths.js';
import { engineIdForUrl } from './engine-descriptors.js';
import { parseMongoUrl } from './mongodb/mongodb-connection.js';
import { parseMysqlUrl } from './mysql/mysql-connection.js';
import { parsePostgresUrl } from './postgres/postgres-connection.js';
import { sqlitePath } from './sqlite/sqlite-path.js';

/**
 * Reads a database URL the way its engine will, without connecting, so that a malformed or
 * incomplete one (`postgres://`, `mysql://h`, `sqlite://`) is refused where it was written —
 * a config file, a flag — and not at 3 a.m. by the scheduled run. Only the pure URL parsers
 * are imported: config validation (bundled into the cloud functions) loads no engine or driver.
 */
const CHECKS: Record<EngineId, (url: string) => void> = {
  postgres: (url) => void parsePostgresUrl(url),
  mysql: (url) => {
    const connection = parseMysqlUrl(url);
    if (!connection.database) throw new ConfigError(`the MySQL/MariaDB URL must name a database: ${connection.scheme}://user@host:port/<database>`);
  },
  mongodb: (url) => void parseMongoUrl(url),
  sqlite: (url) => void sqlitePath(url),
  directory: (url) => void directoryPath(url),
};

/**
 * Throws a `ConfigError` that names where the URL came from, what is wrong and the value
 * (without its user name or password): `<label>: <problem> (got "postgres://")`. A URL read
 * from a secret is not shown (`showValue: false`): the label names the reference instead.
 */
export function checkDatabaseUrl(url: string, label: string, { showValue = true } = {}): void {
  try {
    CHECKS[engineIdForUrl(url)](url);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const shown = showValue ? ` (got ${JSON.stringify(withoutCredentials(url).slice(0, 100))})` : '';
    throw new ConfigError(`${label}: ${error.message}${shown}`, { cause: error });
  }
}

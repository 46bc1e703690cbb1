import { ConfigError } from '../../errors.js';
import { withoutCredentials } from '../../domain/redact.js';
import { descriptorOf, engineIdForUrl } from './engine-descriptors.js';

/**
 * Reads a database URL the way its engine will (its descriptor's `parse`, the engine's own),
 * without connecting, so that a malformed or incomplete one (`postgres://`, `mysql://h`,
 * `sqlite://`) is refused where it was written — a config file, a flag — and not at 3 a.m. by
 * the scheduled run. Descriptors import only the pure URL parsers: config validation (bundled
 * into the cloud functions) loads no engine or driver.
 *
 * Throws a `ConfigError` that names where the URL came from, what is wrong and the value
 * (without its user name or password): `<label>: <problem> (got "postgres://")`. A URL read
 * from a secret is not shown (`showValue: false`): the label names the reference instead.
 */
export function checkDatabaseUrl(url: string, label: string, { showValue = true } = {}): void {
  try {
    descriptorOf(engineIdForUrl(url)).parse(url);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const shown = showValue ? ` (got ${JSON.stringify(withoutCredentials(url).slice(0, 100))})` : '';
    throw new ConfigError(`${label}: ${error.message}${shown}`, { cause: error });
  }
}

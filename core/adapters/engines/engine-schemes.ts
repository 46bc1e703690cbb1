import type { EngineId } from '../../ports/database-engine.js';
import { ConfigError } from '../../errors.js';

/**
 * URL scheme → engine, apart from the engines themselves: config validation (which the cloud
 * functions bundle) reads it without loading any engine or driver.
 */
const SCHEMES: Record<string, EngineId> = {
  postgres: 'postgres',
  postgresql: 'postgres',
  sqlite: 'sqlite',
  mysql: 'mysql',
  mariadb: 'mysql',
  mongodb: 'mongodb',
  'mongodb+srv': 'mongodb',
  dir: 'directory',
};

export const SUPPORTED_SOURCES = 'postgres://…, mysql://…, mariadb://…, mongodb://…, mongodb+srv://…, sqlite:<path>, dir:<path>';

/** The engine a source or target URL names, by its scheme. */
export function engineIdForUrl(url: string): EngineId {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const engine = scheme ? SCHEMES[scheme] : undefined;
  if (engine) return engine;
  throw new ConfigError(
    scheme ? `unsupported database URL scheme "${scheme}:" (supported: ${SUPPORTED_SOURCES})` : `not a database URL: expected one of ${SUPPORTED_SOURCES}`,
  );
}

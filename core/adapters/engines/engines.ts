import type { DatabaseEngine, EngineId } from '../../ports/database-engine.js';
import { ConfigError } from '../../errors.js';
import { PostgresEngine } from './postgres/postgres-engine.js';
import { parsePostgresUrl } from './postgres/postgres-connection.js';
import { SqliteEngine, sqlitePath } from './sqlite/sqlite-engine.js';

/** The engines Vaultra knows, by id (as saved in manifests). Explicit: no registration by import. */
const ENGINES: Record<EngineId, () => DatabaseEngine> = {
  postgres: () => new PostgresEngine(),
  sqlite: () => new SqliteEngine(),
};

export const SUPPORTED_SOURCES = 'postgres://…, postgresql://…, sqlite:<path>';

export function engineById(id: EngineId): DatabaseEngine {
  return ENGINES[id]();
}

/** The engine a source or target URL names, by its scheme. */
export function engineIdForUrl(url: string): EngineId {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'postgres':
    case 'postgresql':
      return 'postgres';
    case 'sqlite':
      return 'sqlite';
    default:
      throw new ConfigError(
        scheme ? `unsupported database URL scheme "${scheme}:" (supported: ${SUPPORTED_SOURCES})` : `not a database URL: expected one of ${SUPPORTED_SOURCES}`,
      );
  }
}

/** A job name for a source when none is given: the database's name, made path-safe. */
export function defaultJobName(url: string): string {
  const raw = engineIdForUrl(url) === 'postgres' ? parsePostgresUrl(url).database : sqlitePath(url).split('/').at(-1)!.replace(/\.(db|sqlite3?|db3)$/i, '');
  const name = raw.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  return name || 'backup';
}

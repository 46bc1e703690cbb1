import type { EngineId } from './engine-vocabulary.js';

/**
 * The OpenTelemetry `db.system` value of an engine (semantic conventions' well-known values), for
 * spans and metrics. The `mysql` engine serves MariaDB too; the convention has no value for both,
 * and which server answered is in the manifest. A directory or a Docker volume is no database: its own value.
 */
const DB_SYSTEM: Record<EngineId, string> = { postgres: 'postgresql', mysql: 'mysql', mongodb: 'mongodb', sqlite: 'sqlite', directory: 'directory', volume: 'docker-volume' };

export function dbSystemOf(engine: EngineId): string {
  return DB_SYSTEM[engine];
}

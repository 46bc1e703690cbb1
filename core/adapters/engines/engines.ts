import type { DatabaseEngine, EngineId } from '../../ports/database-engine.js';
import { engineIdForUrl } from './engine-descriptors.js';
import { DirectoryEngine } from './directory/directory-engine.js';
import { MongodbEngine } from './mongodb/mongodb-engine.js';
import { MysqlEngine } from './mysql/mysql-engine.js';
import { PostgresEngine } from './postgres/postgres-engine.js';
import { SqliteEngine } from './sqlite/sqlite-engine.js';
import { configuredHelperImage, VolumeEngine } from './volume/volume-engine.js';
import { DockerEngineClient } from '../docker/docker-engine-client.js';

/** Settings an engine may take from the command line. */
export interface EngineOptions {
  /** How long a backup waits for a table lock (PostgreSQL). */
  readonly lockTimeoutMs?: number;
  /** The image Docker volume backups and restores run their helper containers from. @default $VAULTRA_VOLUME_HELPER_IMAGE, else debian:bookworm-slim */
  readonly helperImage?: string;
}

/**
 * The engine that does the work for each descriptor (`engine-descriptors.ts`, the list of what
 * each engine is, which help, doctor and config validation read without loading any engine).
 * Explicit: no registration by import.
 */
const ENGINES: Record<EngineId, (options: EngineOptions) => DatabaseEngine> = {
  postgres: (options) => new PostgresEngine(options),
  sqlite: () => new SqliteEngine(),
  mysql: () => new MysqlEngine(),
  mongodb: () => new MongodbEngine(),
  directory: () => new DirectoryEngine(),
  volume: (options) => new VolumeEngine(new DockerEngineClient(), options.helperImage ?? configuredHelperImage()),
};

export { ENGINE_DESCRIPTORS, ENGINE_IDS, engineIdForUrl, SUPPORTED_SOURCES, SUPPORTED_TARGETS } from './engine-descriptors.js';

export function engineById(id: EngineId, options: EngineOptions = {}): DatabaseEngine {
  return ENGINES[id](options);
}

/** A job name for a source when none is given: the database's (or directory's) name, made path-safe. */
export function defaultJobName(url: string): string {
  const engine = engineById(engineIdForUrl(url));
  const raw = engine.nameOf(engine.parse(url));
  const name = raw.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 63);
  return name || 'backup';
}

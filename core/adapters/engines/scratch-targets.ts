import type { EngineId } from '../../ports/database-engine.js';
import type { ScratchProvider } from '../../ports/scratch-target.js';
import { ConfigError } from '../../errors.js';
import { postgresScratch } from './postgres/pg-scratch.js';
import { mysqlScratch } from './mysql/mysql-scratch.js';
import { sqliteScratch } from './sqlite/sqlite-scratch.js';
import { directoryScratch } from './directory/directory-scratch.js';
import { mongoScratch } from './mongodb/mongo-scratch.js';

/** The engines a drill can restore into a scratch target of their own (docs/drills.md). */
const SCRATCH_PROVIDERS: Partial<Record<EngineId, ScratchProvider>> = {
  postgres: postgresScratch,
  mysql: mysqlScratch,
  sqlite: sqliteScratch,
  directory: directoryScratch,
  mongodb: mongoScratch,
};

/** The scratch targets of `engine`; a one-line refusal for an engine drills do not cover yet. */
export function scratchProviderFor(engine: EngineId): ScratchProvider {
  const provider = SCRATCH_PROVIDERS[engine];
  if (!provider) throw new ConfigError(`restore drills of ${engine} backups are not supported yet (supported: ${Object.keys(SCRATCH_PROVIDERS).join(', ')}); check one with vaultra restore into a database of your own`);
  return provider;
}

import { directoryEngine } from './directory.js';
import type { BenchEngine, EngineName } from './engine.js';
import { mongodbEngine } from './mongodb.js';
import { mysqlEngine } from './mysql.js';
import { postgresEngine } from './postgres.js';

export type { BenchEngine, Dataset, EngineHost, EngineName, RatioTargets } from './engine.js';

export const ENGINES: Readonly<Record<EngineName, BenchEngine>> = {
  postgres: postgresEngine,
  mysql: mysqlEngine,
  directory: directoryEngine,
  mongodb: mongodbEngine,
};

/** `postgres,mysql` → the engines, in that order; `mariadb`, `dir`, `mongo`, `pg` are accepted too. */
export function parseEngines(list: string): BenchEngine[] {
  const aliases: Record<string, EngineName> = { pg: 'postgres', postgresql: 'postgres', mariadb: 'mysql', dir: 'directory', mongo: 'mongodb' };
  const names = list.split(',').map((raw) => raw.trim().toLowerCase()).filter(Boolean);
  if (names.length === 0) throw new Error('--engine: name at least one engine');
  const picked = names.map((raw) => {
    const name = (aliases[raw] ?? raw) as EngineName;
    const engine = ENGINES[name];
    if (!engine) throw new Error(`--engine ${raw}: expected one of ${Object.keys(ENGINES).join(', ')}`);
    return engine;
  });
  return [...new Set(picked)];
}

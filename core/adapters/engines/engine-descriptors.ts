import type { EngineDescriptor } from '../../ports/engine-descriptor.js';
import { CONTENT_KINDS, ENGINE_IDS, type ContentKind, type EngineId } from '../../domain/engine-vocabulary.js';
import { ConfigError } from '../../errors.js';
import { directoryDescriptor } from './directory/directory-descriptor.js';
import { mongodbDescriptor } from './mongodb/mongodb-descriptor.js';
import { mysqlDescriptor } from './mysql/mysql-descriptor.js';
import { postgresDescriptor } from './postgres/postgres-descriptor.js';
import { sqliteDescriptor } from './sqlite/sqlite-descriptor.js';
import { volumeDescriptor } from './volume/volume-descriptor.js';

/**
 * Every engine Vaultra knows, as plain descriptors (no engine, driver or tool wrapper is
 * loaded): the one list engine ids, content kinds, URL schemes, `doctor`'s tools and help
 * texts derive from. Explicit, in the order `doctor` reports them: no registration by import.
 * `engines.ts` pairs each with the engine that does the work.
 */
export const ENGINE_DESCRIPTORS = [postgresDescriptor, mysqlDescriptor, mongodbDescriptor, sqliteDescriptor, directoryDescriptor, volumeDescriptor] as const satisfies readonly EngineDescriptor<EngineId, ContentKind>[];

/**
 * Every saved engine id has its descriptor: a compile error names the id that lacks one. (An id
 * or content kind a descriptor uses that the vocabulary lacks fails the `satisfies` above.)
 */
type Described = (typeof ENGINE_DESCRIPTORS)[number]['id'];
const everyIdDescribed: Record<Exclude<EngineId, Described>, never> = {};
void everyIdDescribed;

export { CONTENT_KINDS, ENGINE_IDS, type ContentKind, type EngineId };

export function descriptorOf(id: EngineId): EngineDescriptor<EngineId, ContentKind> {
  return ENGINE_DESCRIPTORS.find((d) => d.id === id)!;
}

/** How sources are written, for help texts and errors: `postgres://…/db, …, dir:<path>`. */
export const SUPPORTED_SOURCES = ENGINE_DESCRIPTORS.flatMap((d) => d.urlForms).join(', ');

/** How restore targets are written, for help texts: `postgres://…/<db>, …, dir:<empty or absent path>`. */
export const SUPPORTED_TARGETS = ENGINE_DESCRIPTORS.map((d) => d.targetForm).join(', ');

/** The engine a source or target URL names, by its scheme. */
export function engineIdForUrl(url: string): EngineId {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const engine = scheme ? ENGINE_DESCRIPTORS.find((d) => (d.schemes as readonly string[]).includes(scheme)) : undefined;
  if (engine) return engine.id;
  throw new ConfigError(
    scheme ? `unsupported database URL scheme "${scheme}:" (supported: ${SUPPORTED_SOURCES})` : `not a database URL: expected one of ${SUPPORTED_SOURCES}`,
  );
}

/**
 * The URL scheme for an RDS-style secret's `engine` value (`aurora-postgresql` → `postgres`),
 * or `undefined` when no engine takes such secrets.
 */
export function schemeForSecretEngine(engine: string): string | undefined {
  const wanted = engine.toLowerCase();
  for (const descriptor of ENGINE_DESCRIPTORS) {
    const rds: Readonly<Record<string, string>> = 'secret' in descriptor ? descriptor.secret.rdsEngines : {};
    for (const [pattern, scheme] of Object.entries(rds)) {
      if (pattern.endsWith('*') ? wanted.startsWith(pattern.slice(0, -1)) : wanted === pattern) return scheme;
    }
  }
  return undefined;
}

/** The engines a connection secret may name, for errors: `postgres, mysql, mariadb, mongodb`. */
export const SECRET_ENGINES = [...new Set(ENGINE_DESCRIPTORS.flatMap((d) => ('secret' in d ? Object.values(d.secret.rdsEngines as Record<string, string>) : [])))].join(', ');

import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';
import { ParsedConnection } from '../engine-connection.js';
import { sqlitePath } from './sqlite-path.js';

/** A SQLite source or target, parsed once: the database file's absolute path. */
export type SqliteSource = ParsedConnection<'sqlite', string>;

/** SQLite: what the engine is (see `SqliteEngine` for what it does). Imports nothing heavy. */
export const sqliteDescriptor = {
  id: 'sqlite',
  label: 'SQLite',
  schemes: ['sqlite'],
  urlForms: ['sqlite:<path>'],
  targetForm: 'sqlite:<path>',
  tools: [{ anyOf: ['sqlite3'], neededFor: ['backup', 'restore', 'verify'], purpose: 'backups, restores, integrity checks', install: 'apt-get install sqlite3' }],
  contentKinds: ['table', 'view'],
  capabilities: { atomicRestore: true, selections: ['tables'], consistency: 'VACUUM INTO: one read transaction' },
  artifactName: 'sqlite',
  parse(url: string): SqliteSource {
    const path = sqlitePath(url);
    return new ParsedConnection('sqlite', path, path);
  },
} as const satisfies EngineDescriptor;

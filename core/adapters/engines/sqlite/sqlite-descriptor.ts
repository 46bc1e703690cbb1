import type { EngineDescriptor } from '../../../ports/engine-descriptor.js';

/** SQLite: what the engine is (see `SqliteEngine` for what it does). Imports nothing heavy. */
export const sqliteDescriptor = {
  id: 'sqlite',
  label: 'SQLite',
  schemes: ['sqlite'],
  urlForms: ['sqlite:<path>'],
  tools: [{ anyOf: ['sqlite3'], neededFor: ['backup', 'restore', 'verify'], purpose: 'backups, restores, integrity checks', install: 'apt-get install sqlite3' }],
  contentKinds: ['table', 'view'],
  capabilities: { atomicRestore: true, selections: ['tables'], consistency: 'VACUUM INTO: one read transaction' },
  artifactName: 'sqlite',
} as const satisfies EngineDescriptor;

import { mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe } from 'vitest';
import { SqliteEngine } from '../../core/adapters/engines/sqlite/sqlite-engine.js';
import { requireTools } from '../support/requirements.js';
import { createSqliteFixture, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { databaseEngineContract, entriesBeside } from './database-engine.contract.js';

const pathOf = (url: string) => url.slice('sqlite:'.length);

describe('SQLite engine', () => {
  if (!requireTools('sqlite3', 'zstd')) return;
  databaseEngineContract('SqliteEngine', async (root) => {
    const source = join(root, 'source.db');
    await createSqliteFixture(source);
    return {
      engine: new SqliteEngine(),
      source: `sqlite:${source}`,
      newTarget: async () => `sqlite:${join(await mkdtemp(join(root, 'target-')), 'out.db')}`,
      snapshot: (url) => sqliteFingerprints(pathOf(url)),
      leftovers: (target) => entriesBeside(pathOf(target)),
      selection: { request: { tables: ['items'] }, keeps: (table) => table === 'items' },
      cleanup: async () => undefined,
    };
  });
});

import { describe } from 'vitest';
import { PostgresEngine } from '../../core/adapters/engines/postgres/postgres-engine.js';
import { createDatabase, dropDatabase, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { databaseUrl, psqlQuery, quoteLiteral } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { databaseEngineContract } from './database-engine.contract.js';

const databaseOf = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

describe('PostgreSQL engine', () => {
  const pg = requirePostgres();
  if (!pg || !requireTools('zstd')) return;
  databaseEngineContract('PostgresEngine', async () => {
    const names = [uniqueDatabaseName('contract_src')];
    await createDatabase(pg, names[0]!);
    await psqlQuery(
      pg,
      names[0]!,
      `CREATE TABLE items (id int PRIMARY KEY, label text, price numeric(10,2));
       INSERT INTO items SELECT g, md5(g::text), g / 7.0 FROM generate_series(1, 2000) g;
       CREATE TABLE notes (id serial PRIMARY KEY, item_id int REFERENCES items, body text);
       INSERT INTO notes (item_id, body) SELECT g, repeat('n', g % 50) FROM generate_series(1, 300) g;`,
    );
    return {
      engine: new PostgresEngine(),
      source: databaseUrl(pg, names[0]!),
      async newTarget() {
        names.push(uniqueDatabaseName('contract_to'));
        return databaseUrl(pg, names.at(-1)!);
      },
      snapshot: (url) => tableFingerprints(pg, databaseOf(url)),
      async leftovers(target) {
        const name = databaseOf(target);
        return (await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = ${quoteLiteral(name)}`)) === '1' ? [`database ${name}`] : [];
      },
      selection: { request: { tables: ['public.items'] }, keeps: (table) => table === 'public.items' },
      async cleanup() {
        for (const name of names) await dropDatabase(pg, name).catch(() => undefined);
      },
    };
  });
});

/**
 * PostgreSQL: a throwaway cluster (bench/pg-server.ts), a database of numeric, text and jsonb
 * rows, deterministic (functions of the row number), with the kind of redundancy real data
 * has: repeated vocabulary and JSON keys next to hashes and ids.
 *
 *   shell backup    pg_dump -Fc -Z0 | zstd -3 -T0 -q > file
 *   shell restore   createdb db && zstd -d -c file | pg_restore -d db --single-transaction --exit-on-error
 */
import { spawnSync } from 'node:child_process';
import { startBenchServer, type BenchServer } from '../pg-server.js';
import { capture, log, mb, sq, toolLine } from '../support.js';
import type { BenchEngine, Dataset, EngineHost } from './engine.js';

const TABLES = ['orders', 'events', 'documents'] as const;

export const postgresEngine: BenchEngine = {
  name: 'postgres',
  title: 'PostgreSQL',
  defaultSizeMb: 1024,
  sizeMeaning: 'pg_database_size',
  tools: ['pg_dump', 'pg_restore', 'psql', 'createdb'],
  targets: { backup: 1.08, restore: 1.1, smallBackup: 1.15 },
  async start(work: string): Promise<EngineHost> {
    const server = await startBenchServer(work);
    const serverVersion = await psql(server, 'postgres', 'SHOW server_version');
    const databaseBytes = async (database: string) => Number(await psql(server, 'postgres', `SELECT pg_database_size('${database}')`));
    const rowCounts = async (database: string) => {
      const out = await psql(server, database, TABLES.map((t) => `SELECT count(*) FROM ${t};`).join('\n'));
      const counts = out.split('\n').map(Number);
      return Object.fromEntries(TABLES.map((t, i) => [t, counts[i] ?? -1]));
    };
    const url = (database: string) => `postgres://${server.user}@${server.host}:${server.port}/${database}`;
    return {
      serverVersion: `PostgreSQL ${serverVersion}`,
      versions: { pg_dump: toolLine('pg_dump'), pg_restore: toolLine('pg_restore') },
      pipelines: {
        backup: 'pg_dump -Fc -Z0 | zstd -3 -T0 > file',
        vaultraBackup: 'pg_dump → zstd -3 -T0 → age → file:// (fsynced)',
        restore: 'createdb && zstd -d -c file | pg_restore -1',
        vaultraRestore: 'sha256 → age -d → zstd -d → pg_restore -1 (creates the db)',
      },
      env: () => server.env(),
      async generate(name: string, targetMb: number): Promise<Dataset> {
        await generate(server, name, targetMb, databaseBytes);
        return { name, bytes: await databaseBytes(name), fingerprint: await rowCounts(name) };
      },
      sourceUrl: (dataset) => url(dataset.name),
      targetUrl: url,
      shellBackup: (dataset, file) => `pg_dump -Fc -Z0 ${sq(dataset.name)} | zstd -3 -T0 -q > ${sq(file)}`,
      shellRestore: (_dataset, file, target) => `createdb ${sq(target)} && zstd -d -c ${sq(file)} | pg_restore -d ${sq(target)} --single-transaction --exit-on-error`,
      fingerprint: rowCounts,
      async drop(target: string) {
        await psql(server, 'postgres', `DROP DATABASE IF EXISTS ${target}`);
      },
      async settle() {
        await psql(server, 'postgres', 'CHECKPOINT');
        spawnSync('sync');
      },
      keep: () => `PostgreSQL on 127.0.0.1:${server.port}, user ${server.user}, PGPASSWORD=${server.password}; stop it with: ${server.stopCommand}`,
      async stop() {
        server.stop();
      },
    };
  },
};

/** Runs SQL through psql; resolves with its unaligned, tuples-only output. */
function psql(server: BenchServer, database: string, sql: string): Promise<string> {
  return capture('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], { env: server.env(database), input: sql, what: `psql on ${database}` });
}

const SCHEMA_SQL = `
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  customer_id integer NOT NULL,
  amount numeric(12,2) NOT NULL,
  quantity integer NOT NULL,
  status text NOT NULL,
  created_at timestamptz NOT NULL,
  note text
);
CREATE INDEX orders_customer_idx ON orders (customer_id);
CREATE TABLE events (
  id bigint PRIMARY KEY,
  occurred_at timestamptz NOT NULL,
  kind text NOT NULL,
  payload jsonb NOT NULL
);
CREATE TABLE documents (
  id bigint PRIMARY KEY,
  title text NOT NULL,
  body text NOT NULL,
  score double precision
);
CREATE FUNCTION w(n bigint) RETURNS text IMMUTABLE LANGUAGE sql AS $$
  SELECT (ARRAY['alpha','bravo','shipping','invoice','customer','priority','standard','express','return','warehouse',
                'discount','payment','pending','review','account','delivery','support','order','refund','update'])[1 + (n % 20)]
$$;
`;

function batchSql(from: number, to: number): string {
  return `
INSERT INTO orders
SELECT i, (i * 7919) % 100000, ((i * 104729) % 10000000) / 100.0, 1 + i % 9,
       (ARRAY['new','paid','shipped','delivered','cancelled','refunded'])[1 + (i * 31) % 6],
       timestamptz '2021-01-01' + ((i * 2654435761) % 94608000) * interval '1 second',
       CASE WHEN i % 3 = 0 THEN NULL
            ELSE 'customer asked for ' || w(i * 13) || ' ' || w(i * 7) || ' handling, ref ' || md5((i * 5)::text) END
FROM generate_series(${from}::bigint, ${to}::bigint) AS i;
INSERT INTO events
SELECT i, timestamptz '2022-01-01' + i * interval '250 milliseconds',
       (ARRAY['page_view','click','signup','purchase','logout','search'])[1 + (i * 17) % 6],
       jsonb_build_object(
         'user_id', (i * 7919) % 250000,
         'session', md5((i / 20)::text),
         'request_id', md5(i::text),
         'ip', '10.' || (i % 256) || '.' || ((i / 256) % 256) || '.' || ((i * 7) % 256),
         'agent', (ARRAY['Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0','Mozilla/5.0 (Macintosh) Safari/17.4','curl/8.5.0'])[1 + i % 3],
         'tags', jsonb_build_array(w(i), w(i * 3)),
         'amount', round(((i * 37) % 100000) / 100.0, 2),
         'ok', i % 17 <> 0)
FROM generate_series(${from}::bigint, ${to}::bigint) AS i;
INSERT INTO documents
SELECT i, 'Document ' || i || ': ' || w(i) || ' ' || w(i * 11),
       repeat('The ' || w(i) || ' team reviewed the ' || w(i * 3) || ' request and scheduled a ' || w(i * 5) || ' follow-up. ', (1 + i % 4)::int)
         || md5(i::text) || ' ' || md5((i * 3)::text) || ' ' || md5((i * 7)::text),
       ((i * 2654435761) % 1000000) / 1000000.0
FROM generate_series(${from}::bigint, ${to}::bigint) AS i WHERE i % 2 = 0;
`;
}

/** Creates `database` and fills it to about `targetMb` MB (pg_database_size). */
async function generate(server: BenchServer, database: string, targetMb: number, databaseBytes: (database: string) => Promise<number>): Promise<void> {
  const target = targetMb * 1024 * 1024;
  await psql(server, 'postgres', `CREATE DATABASE ${database}`);
  await psql(server, database, SCHEMA_SQL);
  const empty = await databaseBytes(database);
  const calibration = 5000;
  await psql(server, database, batchSql(1, calibration));
  let size = await databaseBytes(database);
  const perUnit = Math.max(1, (size - empty) / calibration);
  const perBatch = Math.max(5000, Math.floor((96 * 1024 * 1024) / perUnit));
  let next = calibration + 1;
  let lastShown = 0;
  while (size < target) {
    const units = Math.min(perBatch, Math.max(1000, Math.ceil((target - size) / perUnit)));
    await psql(server, database, batchSql(next, next + units - 1));
    next += units;
    size = await databaseBytes(database);
    if (size - lastShown > target / 8 || size >= target) {
      log(`  ${database}: ${mb(size)} of ${targetMb} MB`);
      lastShown = size;
    }
  }
  await psql(server, database, 'VACUUM (FREEZE, ANALYZE)');
}

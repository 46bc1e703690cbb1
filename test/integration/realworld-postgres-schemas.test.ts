/**
 * PostgreSQL schemas as real databases have them and fixtures rarely do, through the built CLI
 * (`npm run build` first): schema and table names holding dots, quotes, spaces and non-ASCII;
 * an enum, a domain and extension types; a partitioned table; a materialized view left
 * `WITH NO DATA`; large objects. Each case here once failed against a real-world database:
 *
 * - `--tables 'odd.schema.we"ird.name'` said "restored" and restored nothing (the name was
 *   split at its first dot); `--tables 'with*'` did the same (pg_restore takes no patterns);
 * - `--tables` of a partitioned table restored the parent without a single row;
 * - a drill failed on the unpopulated materialized view ("has not been populated"), and on a
 *   stale one (the restore recomputes its rows: 2 rows restored, the backup counted 1).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, type VaultraResult } from '../support/cli.js';
import { createDatabase, dropDatabase, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery } from '../support/psql.js';
import { requirePostgres, requireTools } from '../support/requirements.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';

/** The awkward schema: every name is one a real database had. */
const AWKWARD_SCHEMA_SQL = `
CREATE SCHEMA "odd.schema";
CREATE SCHEMA "ünï";
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy 😀');
CREATE DOMAIN public.posint AS int CHECK (VALUE > 0);
CREATE TABLE "odd.schema"."we""ird.name" ("sel""ect" int, "from" text, "Mixed Case" text);
INSERT INTO "odd.schema"."we""ird.name" VALUES (1, 'a', 'ok'), (2, E'tab\\there', 'happy 😀');
CREATE TABLE public.moods (id int, m public.mood);
INSERT INTO public.moods VALUES (1, 'happy 😀');
CREATE TABLE "ünï"."tåble ☃" (k text PRIMARY KEY, v jsonb, n public.posint);
INSERT INTO "ünï"."tåble ☃" VALUES ('x', '{"a": [1, 2]}', 1), ('ÿ', '{"emoji": "🎉"}', 2);
CREATE TABLE public."user" (id int PRIMARY KEY, "order" text);
INSERT INTO public."user" VALUES (1, 'o');
CREATE TABLE public."with space" (id int);
INSERT INTO public."with space" VALUES (3), (4);
CREATE TABLE public.measurements (id bigserial, at date NOT NULL, v float8) PARTITION BY RANGE (at);
CREATE TABLE public.measurements_2025 PARTITION OF public.measurements FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE public.measurements_2026 PARTITION OF public.measurements FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO public.measurements (at, v) SELECT date '2025-01-01' + (g % 700), g FROM generate_series(1, 500) g;
CREATE MATERIALIZED VIEW public.mv_summary AS SELECT extract(year FROM at) AS y, count(*) FROM public.measurements GROUP BY 1;
CREATE MATERIALIZED VIEW public.mv_later AS SELECT 1 AS x WITH NO DATA;
CREATE MATERIALIZED VIEW public.mv_users AS SELECT id FROM public."user";
INSERT INTO public."user" VALUES (2, 'stale');
CREATE TABLE public.docs (id int PRIMARY KEY, body oid);
INSERT INTO public.docs VALUES (1, lo_from_bytea(0, 'hello large object'));
ANALYZE;
`;

interface DrillJson {
  status: 'passed' | 'failed';
  error?: string;
  checks: { kind: string; name: string; passed: boolean; detail: string }[];
}

describe('PostgreSQL: real-world schemas (awkward names, partitions, unpopulated matviews)', () => {
  const pg = requirePostgres();
  const tools = requireTools('pg_dump', 'pg_restore', 'psql', 'zstd');
  if (!pg || !tools) return;

  let root = '';
  let ws: Workspace;
  const source = uniqueDatabaseName('rw_src');
  const made: string[] = [];
  const url = (database: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${database}`;
  const vaultra = (args: string[]): Promise<VaultraResult> => runVaultra(args, { env: { ...pgEnv(pg, 'postgres'), ...ws.env }, cwd: ws.dir, timeoutMs: 180_000 });
  /** A database name for a restore target, dropped after the file. */
  const target = (prefix: string) => {
    const name = uniqueDatabaseName(prefix);
    made.push(name);
    return name;
  };
  const restore = (database: string, ...args: string[]) => vaultra(['restore', 'latest', '--from', ws.storeUrl, '--job', 'rw', '--target', url(database), '--no-progress', ...args]);
  const relations = (database: string) =>
    psqlQuery(pg, database, `SELECT string_agg(format('%s.%s', n.nspname, c.relname), ',' ORDER BY 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')`);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-realworld-pg-'));
    ws = makeWorkspace(root, 'ws');
    await createDatabase(pg, source);
    await psqlQuery(pg, source, AWKWARD_SCHEMA_SQL);
    const backup = await vaultra(['backup', url(source), '--job', 'rw', '--to', ws.storeUrl, '--no-progress']);
    expect(backup.code, backup.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    for (const database of [source, ...made]) await dropDatabase(pg, database);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('restores everything: every table, partition and large object as in the source', async () => {
    const database = target('rw_all');

    const result = await restore(database);

    expect(result.code, result.stderr).toBe(0);
    // The stale view is the one difference: the restore recomputes it from its restored table.
    const { 'public.mv_users': restoredView, ...restored } = await tableFingerprints(pg, database);
    const { 'public.mv_users': sourceView, ...original } = await tableFingerprints(pg, source);
    expect(restored).toEqual(original);
    expect([sourceView?.rows, restoredView?.rows]).toEqual([1, 2]);
    expect(await psqlQuery(pg, database, `SELECT convert_from(lo_get(body), 'UTF8') FROM public.docs`)).toBe('hello large object');
    expect(await psqlQuery(pg, database, `SELECT relispopulated FROM pg_class WHERE relname = 'mv_later'`)).toBe('f');
  }, 120_000);

  it('--tables of a table whose schema and name both hold dots restores that table', async () => {
    const database = target('rw_dots');

    const result = await restore(database, '--tables', 'odd.schema.we"ird.name');

    expect(result.code, result.stderr).toBe(0);
    expect(await relations(database)).toBe('odd.schema.we"ird.name');
    expect(await psqlQuery(pg, database, `SELECT count(*) FROM "odd.schema"."we""ird.name"`)).toBe('2');
  }, 120_000);

  it('--tables with a wildcard restores the tables it matches', async () => {
    const database = target('rw_wild');

    const result = await restore(database, '--tables', 'with*');

    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('public.with space');
    expect(await psqlQuery(pg, database, `SELECT count(*) FROM public."with space"`)).toBe('2');
  }, 120_000);

  it('--tables of a partitioned table fails with what to do instead, and leaves no database behind', async () => {
    const database = target('rw_part');

    const result = await restore(database, '--tables', 'measurements');

    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'vaultra: error: public.measurements is partitioned, and --tables restores no partition of it (its rows would be missing); the database it created is dropped. Restore its whole schema with --schemas public, or everything, instead',
    );
    expect(await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_database WHERE datname = '${database}'`)).toBe('0');
  }, 120_000);

  it('--tables of a table with an enum column fails with what to do, not "add those tables"', async () => {
    const database = target('rw_enum');

    const result = await restore(database, '--tables', 'moods');

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^vaultra: error: pg_restore .* failed, nothing was changed \(.*type "public\.mood" does not exist\): --tables restores tables without the types, domains and functions they use; create those in the target first, or restore the whole schema \(--schemas\) into a scratch database$/m);
  }, 120_000);

  it('a drill passes with a materialized view created WITH NO DATA and one not refreshed since its table changed', async () => {
    const result = await vaultra(['drill', 'latest', '--from', ws.storeUrl, '--job', 'rw', '--json', '--no-progress']);

    const drill = JSON.parse(result.stdout || '{}') as DrillJson;
    expect(result.code, result.stderr).toBe(0);
    expect(drill.status).toBe('passed');
    expect(drill.checks.find((check) => check.name === 'materialized-view public.mv_later')).toMatchObject({ passed: true, detail: '0 rows, as recorded' });
    expect(drill.checks.find((check) => check.name === 'materialized-view public.mv_users')).toMatchObject({ passed: true, detail: "2 rows, recomputed by the restore (the source's last refresh held 1)" });
  }, 180_000);
});

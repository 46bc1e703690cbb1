/**
 * PostgreSQL fixtures for round-trip tests: databases, a data set covering the types and
 * objects a dump must carry, content fingerprints, and a writer that keeps committing while
 * a backup runs. Everything goes through `psql` (see psql.ts).
 */
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { killTree, spawnTracked, tail, waitForExit } from './exec.js';
import { pgEnv, pgTool, psqlQuery, psqlRows, quoteIdent, quoteLiteral, type PgConnection } from './psql.js';

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function checkName(name: string): string {
  if (!DATABASE_NAME.test(name)) {
    throw new Error(`database name must match ${DATABASE_NAME} (got ${JSON.stringify(name)})`);
  }
  return name;
}

/** A database name no other test file (or worker) will pick: `<prefix>_<random>`. */
export function uniqueDatabaseName(prefix = 'vt'): string {
  return checkName(`${prefix}_${randomBytes(5).toString('hex')}`);
}

/** `CREATE DATABASE` (owner: the admin user). Fails if it exists. */
export async function createDatabase(pg: PgConnection, name: string): Promise<void> {
  await psqlQuery(pg, 'postgres', `CREATE DATABASE ${quoteIdent(checkName(name))}`);
}

/** `DROP DATABASE IF EXISTS … WITH (FORCE)`: also ends sessions still connected to it. */
export async function dropDatabase(pg: PgConnection, name: string): Promise<void> {
  await psqlQuery(pg, 'postgres', `DROP DATABASE IF EXISTS ${quoteIdent(checkName(name))} WITH (FORCE)`);
}

/** Text values that tend to break encoders and quoting: emoji, CJK, RTL, combining marks, quotes, control characters. */
const TRICKY_TEXT_SQL = `ARRAY[
  'plain ascii',
  'emoji 🎉🔐 family 👩‍👩‍👧 flag 🇫🇷',
  '中文 日本語 한국어',
  'עברית مرحبا RTL',
  'combining e' || U&'\\0301' || ' n' || U&'\\0303' || ' zero' || U&'\\200B' || 'width',
  'quotes '' " \\ backslash and tab' || E'\\t' || 'end',
  'line' || E'\\n' || 'break' || E'\\r\\n' || 'crlf',
  'Ωmega ß ﬁ 𝄞 ü€'
]`;

/** Rows the varied-types fixture inserts per table (the counts tests can assert). */
export const VARIED_TYPES_ROWS = {
  'public.customers': 3000,
  'public.measurements': 3000,
  'public.blobs': 2000,
  'sales.orders': 5000,
  'sales.order_lines': 10000,
} as const;

const VARIED_TYPES_SQL = `
SET client_min_messages = warning;
BEGIN;
CREATE SCHEMA IF NOT EXISTS sales;
COMMENT ON SCHEMA sales IS 'second schema of the fixture';
CREATE TYPE sales.order_status AS ENUM ('new', 'paid', 'shipped', 'cancelled');

CREATE TABLE public.customers (
  id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL,
  name text,
  ext_id uuid NOT NULL,
  active boolean,
  profile jsonb,
  created_at timestamptz NOT NULL,
  name_length integer GENERATED ALWAYS AS (char_length(name)) STORED,
  CONSTRAINT customers_email_key UNIQUE (email)
);
COMMENT ON TABLE public.customers IS 'Customers — fixture table, unicode comment ✓';
COMMENT ON COLUMN public.customers.name_length IS 'generated column';

INSERT INTO public.customers (email, name, ext_id, active, profile, created_at)
SELECT
  'user' || i || '@example.test',
  CASE WHEN i % 13 = 0 THEN NULL ELSE (${TRICKY_TEXT_SQL})[1 + i % 8] || ' #' || i END,
  md5('customer-' || i)::uuid,
  CASE i % 3 WHEN 0 THEN NULL WHEN 1 THEN true ELSE false END,
  CASE WHEN i % 17 = 0 THEN NULL ELSE jsonb_build_object(
    'tier', i % 4,
    'tags', jsonb_build_array('t' || (i % 5), 'x', NULL),
    'score', (i * 7919 % 10007) / 100.0,
    'nested', jsonb_build_object('even', i % 2 = 0, 'none', NULL, 'deep', jsonb_build_object('k', repeat('z', i % 5))),
    'text', (${TRICKY_TEXT_SQL})[1 + (i + 3) % 8]
  ) END,
  timestamptz '2024-01-01 00:00:00+00' + i * interval '37 minutes 13.123456 seconds'
FROM generate_series(1, 3000) AS s(i);

CREATE TABLE public.measurements (
  id bigint PRIMARY KEY,
  reading numeric(40,20),
  ratio numeric,
  approx double precision,
  ints integer[],
  bigs bigint[],
  labels text[],
  taken_at timestamptz,
  on_day date,
  flag boolean
);
INSERT INTO public.measurements
SELECT
  i,
  CASE WHEN i % 19 = 0 THEN NULL ELSE round(i * 12345.678901234567890123456789 / 7, 20) END,
  CASE i % 50
    WHEN 0 THEN 'NaN'::numeric
    WHEN 1 THEN 'Infinity'::numeric
    WHEN 2 THEN '-Infinity'::numeric
    WHEN 3 THEN NULL
    WHEN 4 THEN power(10::numeric, 120) + i + 0.000000000000000000000000000001
    ELSE i::numeric / 7
  END,
  CASE i % 40
    WHEN 0 THEN 'NaN'::float8
    WHEN 1 THEN 'Infinity'::float8
    WHEN 2 THEN '-Infinity'::float8
    WHEN 3 THEN '-0'::float8
    WHEN 4 THEN NULL
    ELSE i / 3.0::float8
  END,
  CASE i % 23 WHEN 0 THEN NULL WHEN 1 THEN '{}'::integer[] ELSE ARRAY[i, -i, i % 7, NULL]::integer[] END,
  ARRAY[i * 1000000007::bigint, 9223372036854775807::bigint, '-9223372036854775808'::bigint],
  CASE WHEN i % 11 = 0 THEN NULL ELSE ARRAY['a' || i, NULL, 'with,comma', 'with "quote"', '{brace}', '', (${TRICKY_TEXT_SQL})[1 + i % 8]] END,
  CASE i % 500
    WHEN 0 THEN 'infinity'::timestamptz
    WHEN 1 THEN '-infinity'::timestamptz
    ELSE timestamptz '2023-06-15 12:00:00+02' + i * interval '1 hour 0.000001 second'
  END,
  CASE WHEN i % 29 = 0 THEN NULL ELSE date '1999-12-31' + i END,
  CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END
FROM generate_series(1, 3000) AS s(i);

CREATE TABLE public.blobs (
  id serial PRIMARY KEY,
  data bytea,
  digest bytea NOT NULL,
  note text
);
INSERT INTO public.blobs (data, digest, note)
SELECT
  CASE
    WHEN i % 97 = 0 THEN NULL
    WHEN i % 97 = 1 THEN ''::bytea
    WHEN i % 97 = 2 THEN '\\x00'::bytea
    WHEN i % 500 = 3 THEN decode(repeat('00ff7f80', 16384 + i), 'hex')
    ELSE '\\x00ff'::bytea || sha256(int4send(i)) || '\\x0000fe80'::bytea
  END,
  sha256(int4send(i)),
  CASE WHEN i % 7 = 0 THEN NULL ELSE 'blob ' || i END
FROM generate_series(1, 2000) AS s(i);

CREATE TABLE sales.orders (
  id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES public.customers (id),
  status sales.order_status NOT NULL,
  total numeric(12,2) NOT NULL CHECK (total >= 0),
  placed_at timestamptz NOT NULL,
  shipped_at timestamptz,
  items jsonb NOT NULL DEFAULT '[]',
  note text
);
COMMENT ON COLUMN sales.orders.total IS 'order total, two decimals';
INSERT INTO sales.orders (customer_id, status, total, placed_at, shipped_at, items, note)
SELECT
  1 + (i * 7) % 3000,
  (ARRAY['new', 'paid', 'shipped', 'cancelled']::sales.order_status[])[1 + i % 4],
  round((i * 37 % 100000) / 100.0, 2),
  timestamptz '2024-03-01 00:00:00+00' + i * interval '17 minutes',
  CASE WHEN i % 4 = 2 THEN timestamptz '2024-03-02 00:00:00+00' + i * interval '17 minutes' END,
  jsonb_build_array(
    jsonb_build_object('sku', 'SKU-' || (i % 50), 'qty', 1 + i % 3),
    jsonb_build_object('sku', 'SKU-' || ((i + 7) % 50), 'qty', 1, 'gift', i % 10 = 0)
  ),
  CASE WHEN i % 9 = 0 THEN NULL ELSE (${TRICKY_TEXT_SQL})[1 + i % 8] END
FROM generate_series(1, 5000) AS s(i);

CREATE TABLE sales.order_lines (
  order_id bigint NOT NULL REFERENCES sales.orders (id) ON DELETE CASCADE,
  line_no integer NOT NULL,
  sku text NOT NULL,
  qty integer NOT NULL,
  unit_price numeric(10,2),
  PRIMARY KEY (order_id, line_no)
);
INSERT INTO sales.order_lines
SELECT o, l, 'SKU-' || ((o + l) % 50), 1 + (o * l) % 5,
  CASE WHEN (o + l) % 29 = 0 THEN NULL ELSE ((o * 31 + l) % 10000) / 100.0 END
FROM generate_series(1, 5000) AS o, generate_series(1, 2) AS l;

CREATE INDEX customers_profile_gin ON public.customers USING gin (profile);
CREATE UNIQUE INDEX customers_ext_id_key ON public.customers (ext_id);
CREATE INDEX customers_lower_email_idx ON public.customers (lower(email));
CREATE INDEX measurements_labels_gin ON public.measurements USING gin (labels);
CREATE INDEX orders_placed_at_idx ON sales.orders (placed_at);
CREATE INDEX orders_customer_status_idx ON sales.orders (customer_id, status);
CREATE INDEX orders_items_gin ON sales.orders USING gin (items jsonb_path_ops);
CREATE INDEX orders_open_idx ON sales.orders (placed_at) WHERE status <> 'cancelled';
CREATE INDEX order_lines_sku_idx ON sales.order_lines (sku);

CREATE VIEW public.active_customers AS
  SELECT id, email, name FROM public.customers WHERE active;
CREATE VIEW sales.customer_order_totals AS
  SELECT c.id AS customer_id, c.email, count(o.id) AS orders, coalesce(sum(o.total), 0) AS total
  FROM public.customers c LEFT JOIN sales.orders o ON o.customer_id = c.id
  GROUP BY c.id, c.email;
CREATE MATERIALIZED VIEW sales.daily_revenue AS
  SELECT (placed_at AT TIME ZONE 'UTC')::date AS day, count(*) AS orders, sum(total) AS revenue
  FROM sales.orders WHERE status <> 'cancelled'
  GROUP BY 1;
CREATE UNIQUE INDEX daily_revenue_day_key ON sales.daily_revenue (day);

CREATE FUNCTION sales.order_count(customer integer) RETURNS bigint
  LANGUAGE sql STABLE AS $$ SELECT count(*) FROM sales.orders WHERE customer_id = customer $$;
COMMIT;
ANALYZE;
`;

/**
 * Load the varied-types data set into an existing, empty database: schemas `public` and
 * `sales`; jsonb, bytea (zero/high bytes, empty, 64 KiB TOASTed values), numeric (40 digits,
 * 10^120, NaN, ±Infinity), float8 specials, timestamptz (µs, ±infinity), int/bigint/text
 * arrays, uuid, enum, unicode text, booleans and NULLs; identity, serial and generated
 * columns; views, a materialized view, btree/gin/unique/partial/expression indexes, foreign
 * keys, check constraints, comments and a function. Values are deterministic (no random()),
 * row counts are in {@link VARIED_TYPES_ROWS}.
 */
export async function loadVariedTypesFixture(pg: PgConnection, database: string): Promise<void> {
  await psqlQuery(pg, database, VARIED_TYPES_SQL, { timeoutMs: 180_000 });
}

export interface TableFingerprint {
  readonly rows: number;
  /** md5 of every row's text form, sorted (collation "C") and joined by newlines. */
  readonly md5: string;
}

/** Non-system schemas only. */
const USER_SCHEMA = `n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'`;

/**
 * Row count and content checksum of every table and (populated) materialized view outside
 * the system schemas, keyed `schema.name`. Two databases with equal fingerprints hold the
 * same rows. Output is independent of the session time zone (pinned to UTC by `pgEnv`).
 */
export async function tableFingerprints(pg: PgConnection, database: string): Promise<Record<string, TableFingerprint>> {
  const tables = await psqlRows(
    pg,
    database,
    `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'm') AND (c.relkind <> 'm' OR c.relispopulated) AND ${USER_SCHEMA}
     ORDER BY n.nspname COLLATE "C", c.relname COLLATE "C"`,
  );
  const result: Record<string, TableFingerprint> = {};
  if (tables.length === 0) return result;
  const selects = tables.map(([schema = '', name = '']) => {
    const label = quoteLiteral(`${schema}.${name}`);
    return `SELECT ${label}, count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text COLLATE "C"), ''))
      FROM ${quoteIdent(schema)}.${quoteIdent(name)} AS t`;
  });
  const rows = await psqlRows(pg, database, `${selects.join('\nUNION ALL\n')};`, { timeoutMs: 180_000 });
  for (const [label = '', count = '0', md5 = ''] of rows) result[label] = { rows: Number(count), md5 };
  return result;
}

/**
 * Sorted `schema.name:kind` entries for the objects a restore must bring back: tables,
 * views, matviews, indexes, sequences (`kind` as named), constraints
 * (`schema.table.constraint:constraint-<p|f|u|c|x>`), functions (`schema.fn(args):function`),
 * enum types (`:enum`) and user triggers (`schema.table.trigger:trigger`).
 */
export async function schemaObjects(pg: PgConnection, database: string): Promise<string[]> {
  const out = await psqlQuery(
    pg,
    database,
    `SELECT entry FROM (
       SELECT n.nspname || '.' || c.relname || ':' || CASE c.relkind
         WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'matview'
         WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'S' THEN 'sequence' ELSE 'foreign-table' END AS entry
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind IN ('r', 'p', 'v', 'm', 'i', 'I', 'S', 'f') AND ${USER_SCHEMA}
     UNION ALL
       SELECT n.nspname || '.' || c.relname || '.' || con.conname || ':constraint-' || con.contype::text
       FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE ${USER_SCHEMA}
     UNION ALL
       SELECT n.nspname || '.' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || '):function'
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE ${USER_SCHEMA}
     UNION ALL
       SELECT n.nspname || '.' || t.typname || ':enum'
       FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
       WHERE t.typtype = 'e' AND ${USER_SCHEMA}
     UNION ALL
       SELECT n.nspname || '.' || c.relname || '.' || tg.tgname || ':trigger'
       FROM pg_trigger tg JOIN pg_class c ON c.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE NOT tg.tgisinternal AND ${USER_SCHEMA}
     ) AS objects
     ORDER BY entry COLLATE "C"`,
  );
  return out === '' ? [] : out.split('\n');
}

/** Sum of `public.accounts.balance` the concurrent writer keeps invariant. */
export const ACCOUNTS_TOTAL = 1_000_000;

/** Current `sum(balance)` of `public.accounts` (as a number; it stays far below 2^53). */
export async function accountsTotal(pg: PgConnection, database: string): Promise<number> {
  return Number(await psqlQuery(pg, database, 'SELECT coalesce(sum(balance), 0) FROM public.accounts'));
}

export interface ConcurrentWriter {
  /** Marker of this writer: its `application_name` and the prefix of its ticker payloads (`<tag>:<n>`). */
  readonly tag: string;
  /**
   * Cancel the writer's session, wait for its psql to exit and report how many ticker rows
   * (= committed transfers) it wrote. Rejects if the writer had failed on its own. Idempotent.
   */
  stop(): Promise<{ inserted: number }>;
}

export interface ConcurrentWriterOptions {
  /** Pause between transactions. @default 5 */
  readonly pauseMs?: number;
}

/**
 * Start a background `psql` that keeps committing, one transaction at a time: insert a row
 * into `public.ticker(id bigserial, at timestamptz default now(), payload text)` and move a
 * varying amount between the two rows of `public.accounts`, so `sum(balance)` stays
 * {@link ACCOUNTS_TOTAL} in every consistent snapshot. Creates both tables if missing and
 * resolves once the first transaction has committed.
 *
 * @example
 * const writer = await startConcurrentWriter(pg, db);
 * await runVaultra(['backup', ...]);
 * const { inserted } = await writer.stop();
 */
export async function startConcurrentWriter(
  pg: PgConnection,
  database: string,
  options: ConcurrentWriterOptions = {},
): Promise<ConcurrentWriter> {
  const tag = `vaultra-writer-${randomBytes(4).toString('hex')}`;
  const pauseSec = Math.max(0, options.pauseMs ?? 5) / 1000;
  await psqlQuery(
    pg,
    database,
    `BEGIN;
     SELECT pg_advisory_xact_lock(72460917);
     CREATE TABLE IF NOT EXISTS public.ticker (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text);
     CREATE TABLE IF NOT EXISTS public.accounts (id integer PRIMARY KEY, balance bigint NOT NULL);
     INSERT INTO public.accounts (id, balance) VALUES (1, ${ACCOUNTS_TOTAL / 2}), (2, ${ACCOUNTS_TOTAL / 2})
       ON CONFLICT (id) DO NOTHING;
     COMMIT;`,
  );

  const loop = `DO $writer$
DECLARE
  i bigint := 0;
  amount bigint;
BEGIN
  LOOP
    i := i + 1;
    amount := (i % 13) - 6;
    INSERT INTO public.ticker (payload) VALUES (${quoteLiteral(tag)} || ':' || i);
    UPDATE public.accounts SET balance = balance - amount WHERE id = 1;
    UPDATE public.accounts SET balance = balance + amount WHERE id = 2;
    COMMIT;
    PERFORM pg_sleep(${pauseSec});
  END LOOP;
END
$writer$;
`;
  const child = spawnTracked(
    pgTool(pg, 'psql'),
    ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', '-'],
    { env: pgEnv(pg, database, { PGAPPNAME: tag }), stdin: 'pipe' },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout?.resume();
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(loop);
  const exited = waitForExit(child);

  const countRows = async () =>
    Number(await psqlQuery(pg, database, `SELECT count(*) FROM public.ticker WHERE payload LIKE ${quoteLiteral(`${tag}:%`)}`));

  try {
    await waitFor(async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`concurrent writer exited early: ${tail(stderr)}`);
      }
      return (await countRows()) > 0;
    }, 30_000, 'the concurrent writer to commit its first transaction');
  } catch (error) {
    killTree(child, 'SIGKILL');
    await exited;
    throw error;
  }

  let stopping: Promise<{ inserted: number }> | undefined;
  return {
    tag,
    stop() {
      stopping ??= stopWriter(pg, child, exited, tag, () => stderr).then(async () => ({ inserted: await countRows() }));
      return stopping;
    },
  };
}

async function stopWriter(
  pg: PgConnection,
  child: ChildProcess,
  exited: Promise<unknown>,
  tag: string,
  stderr: () => string,
): Promise<void> {
  const failedEarly = child.exitCode !== null || child.signalCode !== null;
  const deadline = Date.now() + 15_000;
  while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
    await psqlQuery(pg, 'postgres', `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = ${quoteLiteral(tag)}`);
    await Promise.race([exited, sleep(200)]);
  }
  if (child.exitCode === null && child.signalCode === null) {
    killTree(child, 'SIGKILL');
    await psqlQuery(pg, 'postgres', `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = ${quoteLiteral(tag)}`);
  }
  await exited;
  const expected = /canceling statement due to user request/;
  if (failedEarly || (child.exitCode !== 0 && !expected.test(stderr()) && child.signalCode === null)) {
    throw new Error(`concurrent writer failed: ${tail(stderr())}`);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until it returns true; rejects after `timeoutMs` naming what it waited for. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

// The test harness itself: the shared PostgreSQL server, fixtures, fingerprints and writers.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVaultra, vaultraBin } from '../support/cli.js';
import { isProcessRunning } from '../support/exec.js';
import {
  ACCOUNTS_TOTAL,
  VARIED_TYPES_ROWS,
  accountsTotal,
  createDatabase,
  dropDatabase,
  loadVariedTypesFixture,
  schemaObjects,
  startConcurrentWriter,
  tableFingerprints,
  uniqueDatabaseName,
} from '../support/pg-fixtures.js';
import { PASSWORD_CANARY_PREFIX, startPostgres } from '../support/postgres-server.js';
import { FIELD_SEPARATOR, psqlExec, psqlQuery } from '../support/psql.js';
import { requirePostgres, requireTool } from '../support/requirements.js';
import {
  SQLITE_ACCOUNTS_TOTAL,
  SQLITE_FIXTURE_ROWS,
  createSqliteFixture,
  sqliteAccountsTotal,
  sqliteExec,
  sqliteFingerprints,
  sqliteJournalMode,
  sqliteSchemaObjects,
  startSqliteWriter,
} from '../support/sqlite-fixtures.js';

describe('harness: shared PostgreSQL server', () => {
  const pg = requirePostgres();
  if (!pg) return;
  const db = uniqueDatabaseName('harness');

  beforeAll(async () => {
    await createDatabase(pg, db);
    await loadVariedTypesFixture(pg, db);
  });
  afterAll(async () => {
    await dropDatabase(pg, db);
  });

  it('is a PostgreSQL 15+ server on 127.0.0.1 with a canary password and SCRAM auth', async () => {
    expect(pg.host).toBe('127.0.0.1');
    expect(pg.port).toBeGreaterThan(0);
    expect(pg.password.startsWith(PASSWORD_CANARY_PREFIX)).toBe(true);
    expect(pg.url).toBe(`postgres://vaultra_admin:${pg.password}@127.0.0.1:${pg.port}/postgres`);
    expect(Number.parseInt(pg.serverVersion, 10)).toBeGreaterThanOrEqual(15);
    const [user, auth, fsync, tz] = (
      await psqlQuery(pg, 'postgres', "SELECT current_user, current_setting('password_encryption'), current_setting('fsync'), current_setting('TimeZone')")
    ).split(FIELD_SEPARATOR);
    expect({ user, auth, fsync, tz }).toEqual({ user: 'vaultra_admin', auth: 'scram-sha-256', fsync: 'off', tz: 'UTC' });
  });

  it('refuses a wrong password', async () => {
    const result = await psqlExec({ ...pg, password: 'wrong' }, 'postgres', 'SELECT 1');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/password authentication failed/);
  });

  it('loads the varied-types fixture with the expected row counts', async () => {
    const fingerprints = await tableFingerprints(pg, db);
    for (const [table, rows] of Object.entries(VARIED_TYPES_ROWS)) {
      expect(fingerprints[table]?.rows, table).toBe(rows);
      expect(fingerprints[table]?.md5, table).toMatch(/^[0-9a-f]{32}$/);
    }
    expect(fingerprints['sales.daily_revenue']?.rows).toBeGreaterThan(0);
    const tricky = await psqlQuery(
      pg,
      db,
      `SELECT count(*) FILTER (WHERE ratio = 'NaN'), count(*) FILTER (WHERE approx = '-Infinity'),
              count(*) FILTER (WHERE taken_at = 'infinity')
       FROM public.measurements;
       SELECT count(*) FILTER (WHERE position('\\x00'::bytea IN data) > 0), count(*) FILTER (WHERE octet_length(data) > 65536)
       FROM public.blobs;
       SELECT count(*) FILTER (WHERE name LIKE '%🎉%'), count(*) FILTER (WHERE name IS NULL), max(name_length)
       FROM public.customers;`,
    );
    const [nan, negInf, inf, zeroBytes, big, emoji, nulls, maxLen] = tricky.split('\n').flatMap((line) => line.split(FIELD_SEPARATOR)).map(Number);
    expect(nan).toBeGreaterThan(0);
    expect(negInf).toBeGreaterThan(0);
    expect(inf).toBeGreaterThan(0);
    expect(zeroBytes).toBeGreaterThan(1000);
    expect(big).toBe(4);
    expect(emoji).toBeGreaterThan(0);
    expect(nulls).toBeGreaterThan(0);
    expect(maxLen).toBeGreaterThan(10);
  });

  it('lists views, matviews, indexes, constraints and functions', async () => {
    const objects = await schemaObjects(pg, db);
    expect(objects).toEqual([...objects].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(objects).toEqual(
      expect.arrayContaining([
        'public.customers:table',
        'sales.orders:table',
        'public.active_customers:view',
        'sales.customer_order_totals:view',
        'sales.daily_revenue:matview',
        'public.customers_profile_gin:index',
        'public.customers_email_key:index',
        'sales.orders_open_idx:index',
        'sales.daily_revenue_day_key:index',
        'public.customers_id_seq:sequence',
        'sales.orders.orders_customer_id_fkey:constraint-f',
        'sales.order_status:enum',
        'sales.order_count(customer integer):function',
      ]),
    );
  });

  it('gives stable fingerprints, and notices a deleted row', async () => {
    const first = await tableFingerprints(pg, db);
    const second = await tableFingerprints(pg, db);
    expect(second).toEqual(first);

    const scratch = uniqueDatabaseName('harness_scratch');
    await createDatabase(pg, scratch);
    try {
      await loadVariedTypesFixture(pg, scratch);
      // Same deterministic data in another database: same fingerprints.
      expect(await tableFingerprints(pg, scratch)).toEqual(first);
      await psqlQuery(pg, scratch, 'DELETE FROM sales.order_lines WHERE order_id = 4242 AND line_no = 2');
      const changed = await tableFingerprints(pg, scratch);
      expect(changed['sales.order_lines']?.rows).toBe(VARIED_TYPES_ROWS['sales.order_lines'] - 1);
      expect(changed['sales.order_lines']?.md5).not.toBe(first['sales.order_lines']?.md5);
      expect(changed['sales.orders']).toEqual(first['sales.orders']);
      // An update that keeps the row count is caught too.
      await psqlQuery(pg, scratch, "UPDATE public.blobs SET data = data || '\\x00'::bytea WHERE id = 10");
      expect((await tableFingerprints(pg, scratch))['public.blobs']?.md5).not.toBe(first['public.blobs']?.md5);
    } finally {
      await dropDatabase(pg, scratch);
    }
  });

  it('runs a concurrent writer that keeps the accounts invariant, and stops it', async () => {
    const writer = await startConcurrentWriter(pg, db, { pauseMs: 2 });
    let stopped = false;
    try {
      await new Promise((resolve) => setTimeout(resolve, 700));
      // Every snapshot sees the invariant while the writer runs.
      for (let i = 0; i < 5; i++) expect(await accountsTotal(pg, db)).toBe(ACCOUNTS_TOTAL);
      const { inserted } = await writer.stop();
      stopped = true;
      expect(inserted).toBeGreaterThan(5);
      const sessions = await psqlQuery(pg, 'postgres', `SELECT count(*) FROM pg_stat_activity WHERE application_name = '${writer.tag}'`);
      expect(sessions).toBe('0');
      const after = await psqlQuery(pg, db, `SELECT count(*) FROM public.ticker WHERE payload LIKE '${writer.tag}:%'`);
      expect(Number(after)).toBe(inserted);
      expect(await accountsTotal(pg, db)).toBe(ACCOUNTS_TOTAL);
      expect(await writer.stop()).toEqual({ inserted });
    } finally {
      if (!stopped) await writer.stop().catch(() => undefined);
    }
  });
});

describe('harness: a second throwaway server', () => {
  const pg = requirePostgres();
  if (!pg) return;

  it('starts, answers and is removed on stop', async () => {
    const server = await startPostgres();
    try {
      expect(server.port).not.toBe(pg.port);
      expect(server.password).not.toBe(pg.password);
      expect(await psqlQuery(server, 'postgres', 'SELECT 40 + 2')).toBe('42');
      expect(existsSync(server.dataDir)).toBe(true);
    } finally {
      await server.stop();
    }
    expect(existsSync(server.baseDir)).toBe(false);
    expect(isProcessRunning(server.pid)).toBe(false);
  });
});

describe('harness: SQLite fixture', () => {
  const sqlite3 = requireTool('sqlite3');
  if (!sqlite3) return;
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vaultra-sqlite-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the fixture in WAL mode with stable fingerprints that notice changes', async () => {
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    await createSqliteFixture(a);
    await createSqliteFixture(b);
    expect(await sqliteJournalMode(a)).toBe('wal');
    const fa = await sqliteFingerprints(a);
    expect(fa.items?.rows).toBe(SQLITE_FIXTURE_ROWS.items);
    expect(fa.audit?.rows).toBe(SQLITE_FIXTURE_ROWS.audit);
    expect(fa.tags?.rows).toBe(SQLITE_FIXTURE_ROWS.tags);
    expect(fa.items?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await sqliteFingerprints(a)).toEqual(fa);
    expect(await sqliteFingerprints(b)).toEqual(fa);
    expect(await sqliteSchemaObjects(a)).toEqual([
      'audit:table',
      'expensive_items:view',
      'items:table',
      'items_audit:trigger',
      'items_created_idx:index',
      'items_name_idx:index',
      'tags:table',
      'tags_tag_idx:index',
    ]);
    const zeroBytes = await sqliteExec(a, "SELECT count(*) FROM items WHERE instr(data, X'00') > 0;");
    expect(Number(zeroBytes)).toBeGreaterThan(100);

    await sqliteExec(b, 'DELETE FROM items WHERE id = 1234;');
    const fb = await sqliteFingerprints(b);
    expect(fb.items?.rows).toBe(SQLITE_FIXTURE_ROWS.items - 1);
    expect(fb.items?.hash).not.toBe(fa.items?.hash);
    expect(fb.tags).toEqual(fa.tags);
    // Same bytes, other storage class (TEXT -> BLOB): still a different fingerprint.
    await sqliteExec(b, 'UPDATE items SET note = CAST(note AS BLOB) WHERE id = 6;');
    expect((await sqliteFingerprints(b)).items?.hash).not.toBe(fb.items?.hash);
  });

  it('runs a writer process that keeps the accounts invariant, and stops it', async () => {
    const path = join(dir, 'writer.db');
    await createSqliteFixture(path);
    const writer = await startSqliteWriter(path, { pauseMs: 1 });
    let stopped = false;
    try {
      await new Promise((resolve) => setTimeout(resolve, 500));
      for (let i = 0; i < 5; i++) expect(await sqliteAccountsTotal(path)).toBe(SQLITE_ACCOUNTS_TOTAL);
      const { inserted } = await writer.stop();
      stopped = true;
      expect(inserted).toBeGreaterThan(5);
      expect(Number(await sqliteExec(path, `SELECT count(*) FROM ticker WHERE payload LIKE '${writer.tag}:%';`))).toBe(inserted);
      expect(await sqliteAccountsTotal(path)).toBe(SQLITE_ACCOUNTS_TOTAL);
    } finally {
      if (!stopped) await writer.stop().catch(() => undefined);
    }
  });
});

describe('harness: CLI runner', () => {
  it('reports a missing or present dist/vaultra.mjs without throwing', async () => {
    const result = await runVaultra(['--version'], { timeoutMs: 30_000 });
    if (existsSync(vaultraBin)) {
      expect(result.timedOut).toBe(false);
    } else {
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(/Cannot find module|ERR_MODULE_NOT_FOUND/);
    }
  });
});

// The row changes bench:chunked measures incrementals against (bench/chunked/changes.ts), applied
// to a small copy of the bench's tables on the shared PostgreSQL server: each pattern changes the
// rows it says, where it says.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changePlan, CHANGED_TABLES, type ChangePattern, type TableStats } from '../../bench/chunked/changes.js';
import { createDatabase, dropDatabase, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { FIELD_SEPARATOR, psqlQuery } from '../support/psql.js';
import { requirePostgres } from '../support/requirements.js';

const ROWS = 4000;

// The columns of bench/engines/postgres.ts that the change rules touch, with values that show a change.
const SCHEMA = `
CREATE TABLE orders (id bigint PRIMARY KEY, quantity integer NOT NULL, status text NOT NULL);
CREATE TABLE events (id bigint PRIMARY KEY, payload jsonb NOT NULL);
CREATE TABLE documents (id bigint PRIMARY KEY, score double precision);
INSERT INTO orders SELECT i, 1, 'new' FROM generate_series(1, ${ROWS}) i;
INSERT INTO events SELECT i, '{"ok": true}' FROM generate_series(1, ${ROWS}) i;
INSERT INTO documents SELECT i, 0 FROM generate_series(2, ${ROWS}, 2) i;
`;

const CHANGED: Readonly<Record<string, string>> = {
  orders: "status = 'shipped'",
  events: "payload ? 'amended'",
  documents: 'score >= 1',
};

describe('bench:chunked change patterns', () => {
  const pg = requirePostgres();
  if (!pg) return;
  const databases = new Map<ChangePattern, string>();

  beforeAll(async () => {
    for (const pattern of ['skewed', 'uniform', 'hot'] as const) {
      const db = uniqueDatabaseName(`bench_${pattern}`);
      await createDatabase(pg, db);
      await psqlQuery(pg, db, SCHEMA);
      databases.set(pattern, db);
    }
  });
  afterAll(async () => {
    for (const db of databases.values()) await dropDatabase(pg, db);
  });

  const stats = async (db: string): Promise<Record<string, TableStats>> => {
    const out = await psqlQuery(pg, db, CHANGED_TABLES.map((t) => `SELECT count(*) || ' ' || max(id) FROM ${t};`).join('\n'));
    const lines = out.split('\n');
    return Object.fromEntries(CHANGED_TABLES.map((t, i) => [t, { rows: Number(lines[i]!.split(' ')[0]), maxId: Number(lines[i]!.split(' ')[1]) }]));
  };

  /** Per table: rows now, rows above the old highest id, and changed rows in the newest 5 % of the old ids / elsewhere. */
  const observe = async (db: string, before: Record<string, TableStats>) => {
    const result: Record<string, { rows: number; inserted: number; changedRecent: number; changedElsewhere: number; deletedRecent: number }> = {};
    for (const table of CHANGED_TABLES) {
      const { rows, maxId } = before[table]!;
      const recentFrom = maxId - Math.floor(maxId / 20) + 1;
      const out = await psqlQuery(
        pg,
        db,
        `SELECT count(*), count(*) FILTER (WHERE id > ${maxId}),
                count(*) FILTER (WHERE ${CHANGED[table]} AND id BETWEEN ${recentFrom} AND ${maxId}),
                count(*) FILTER (WHERE ${CHANGED[table]} AND id < ${recentFrom}),
                ${Math.floor(rows / 20)} - count(*) FILTER (WHERE id BETWEEN ${recentFrom} AND ${maxId})
         FROM ${table};`,
      );
      const [now, inserted, changedRecent, changedElsewhere, deletedRecent] = out.split(FIELD_SEPARATOR).map(Number);
      result[table] = { rows: now!, inserted: inserted!, changedRecent: changedRecent!, changedElsewhere: changedElsewhere!, deletedRecent: deletedRecent! };
    }
    return result;
  };

  it.each(['skewed', 'uniform', 'hot'] as const)('%s: 5 %% of rows changed, inserts after the highest id, updates where the pattern puts them', async (pattern) => {
    // Prepare
    const db = databases.get(pattern)!;
    const before = await stats(db);

    // Act
    const plan = changePlan(pattern, 5, 1, before);
    await psqlQuery(pg, db, plan.sql);

    // Assess
    const after = await observe(db, before);
    const total = (pick: (t: (typeof after)[string]) => number) => CHANGED_TABLES.reduce((sum, t) => sum + pick(after[t]!), 0);
    const rowsBefore = CHANGED_TABLES.reduce((sum, t) => sum + before[t]!.rows, 0);
    expect(total((t) => t.inserted)).toBe(plan.inserted);
    expect(rowsBefore + plan.inserted - total((t) => t.rows)).toBe(plan.deleted);
    // Inserted copies keep the changed marks of the rows they copy: count changes among the old ids only.
    const changed = total((t) => t.changedRecent + t.changedElsewhere);
    expect(changed).toBeGreaterThan(plan.updated * 0.9);
    expect(changed).toBeLessThanOrEqual(plan.updated);
    const recentShare = total((t) => t.changedRecent) / changed;
    if (pattern === 'skewed') expect(recentShare).toBeGreaterThan(0.75);
    if (pattern === 'uniform') expect(recentShare).toBeLessThan(0.15);
    if (pattern === 'hot') {
      expect(recentShare).toBe(1);
      expect(total((t) => t.deletedRecent)).toBe(plan.deleted);
    }
  });

  it('picks the same rows for the same seed', () => {
    const stats = { orders: { rows: 1000, maxId: 1000 } };
    expect(changePlan('skewed', 1, 7, stats).sql).toBe(changePlan('skewed', 1, 7, stats).sql);
    expect(changePlan('skewed', 1, 7, stats).sql).not.toBe(changePlan('skewed', 1, 8, stats).sql);
  });
});

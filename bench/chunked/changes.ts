/**
 * The row changes an incremental backup is measured against, as SQL for the bench's generated
 * PostgreSQL tables (bench/engines/postgres.ts: orders, events, documents, each keyed by `id`).
 *
 * A change touches `pct` % of each table's rows: 85 % of them updated, 12 % inserted after the
 * highest id (copies of existing rows under new ids), 3 % deleted.
 *   skewed   80 % of the updates hit the newest 5 % of ids, the rest anywhere: how an
 *            application's recent rows are the ones that change (orders shipped, events amended).
 *   uniform  every update at a random id across the table: the worst case for chunk reuse.
 *   hot      every update and delete in the newest 5 % of ids: the best case, for comparison
 *            (with 32 KiB chunks of ~100–300 rows, each scattered row rewrites a whole chunk, so
 *            the 20 % of skewed's updates that fall elsewhere dominate what skewed stores).
 * Deletes fall anywhere in skewed and uniform. Row choice is a hash of the id and a seed, not random(), so a
 * pattern with the same seed changes the same rows on every run of the bench.
 */

export type ChangePattern = 'skewed' | 'uniform' | 'hot';

/** How one generated table's rows are changed in place (a few bytes per row, as an application would). */
const UPDATE_SET: Readonly<Record<string, string>> = {
  orders: "quantity = quantity + 1, status = 'shipped'",
  events: "payload = payload || '{\"amended\": true}'",
  documents: 'score = score + 1',
};

export const CHANGED_TABLES = Object.keys(UPDATE_SET);

export interface TableStats {
  readonly rows: number;
  readonly maxId: number;
}

export interface ChangePlan {
  readonly pattern: ChangePattern;
  readonly pct: number;
  /** Rows updated, inserted and deleted, over all tables. */
  readonly updated: number;
  readonly inserted: number;
  readonly deleted: number;
  readonly sql: string;
}

/** One transaction of SQL applying `pattern` to `pct` % of the rows of every table in `stats`. */
export function changePlan(pattern: ChangePattern, pct: number, seed: number, stats: Readonly<Record<string, TableStats>>): ChangePlan {
  let updated = 0;
  let inserted = 0;
  let deleted = 0;
  const statements: string[] = ['BEGIN;'];
  for (const [table, { rows, maxId }] of Object.entries(stats)) {
    const set = UPDATE_SET[table];
    if (!set) throw new Error(`no update rule for table ${table}: add it to UPDATE_SET in bench/chunked/changes.ts`);
    const changes = Math.max(1, Math.round((rows * pct) / 100));
    const updates = Math.round(changes * 0.85);
    const inserts = Math.round(changes * 0.12);
    const deletes = Math.max(1, changes - updates - inserts);
    const recent = pattern === 'skewed' ? Math.round(updates * 0.8) : pattern === 'hot' ? updates : 0;
    // Hash order: a fixed pseudo-random pick for (id, seed); hashint8 is PostgreSQL's own.
    const pick = (n: number, where: string, salt: number) => `SELECT id FROM ${table} ${where} ORDER BY hashint8(id * 31 + ${seed * 1000 + salt}) LIMIT ${n}`;
    // The newest 5 % by rank, not by value: ids need not be dense (documents has even ids only).
    const newest = `WHERE id >= (SELECT id FROM ${table} ORDER BY id DESC OFFSET ${Math.max(0, Math.floor(rows / 20) - 1)} LIMIT 1)`;
    if (recent > 0) statements.push(`UPDATE ${table} SET ${set} WHERE id IN (${pick(recent, newest, 1)});`);
    if (updates > recent) statements.push(`UPDATE ${table} SET ${set} WHERE id IN (${pick(updates - recent, '', 2)});`);
    // Inserts: copies of existing rows renumbered after the highest id (a bigserial on the copy
    // numbers them 1…n), so the insert SQL needs no column list.
    statements.push(
      `CREATE TEMP TABLE bench_insert AS SELECT * FROM ${table} WHERE id IN (${pick(inserts, '', 3)});`,
      'ALTER TABLE bench_insert ADD COLUMN bench_n bigserial;',
      `UPDATE bench_insert SET id = ${maxId} + bench_n;`,
      'ALTER TABLE bench_insert DROP COLUMN bench_n;',
      `INSERT INTO ${table} SELECT * FROM bench_insert;`,
      'DROP TABLE bench_insert;',
    );
    const deleteWhere = pattern === 'hot' ? `${newest} AND id <= ${maxId}` : `WHERE id <= ${maxId}`;
    statements.push(`DELETE FROM ${table} WHERE id IN (${pick(deletes, deleteWhere, 4)});`);
    updated += updates;
    inserted += inserts;
    deleted += deletes;
  }
  statements.push('COMMIT;');
  return { pattern, pct, updated, inserted, deleted, sql: statements.join('\n') };
}

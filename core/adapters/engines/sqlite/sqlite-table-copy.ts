import { RestoreFailedError } from '../../../errors.js';
import { describeExit, quoteIdentifier, quoteLiteral, sqlite } from './sqlite-cli.js';

interface SchemaObject {
  readonly type: 'table' | 'view' | 'index' | 'trigger';
  readonly name: string;
  readonly tbl_name: string;
  readonly sql: string;
}

/** The names in `wanted` that are neither a table nor a view of the database at `path`. */
export async function missingTables(path: string, wanted: readonly string[]): Promise<string[]> {
  const found = new Set(
    (JSON.parse((await sqlite(path, `select name from sqlite_schema where type in ('table', 'view') and name in (${wanted.map(quoteLiteral).join(', ')});`, { readonly: true, json: true })) || '[]') as { name: string }[]).map(
      (row) => row.name,
    ),
  );
  return wanted.filter((name) => !found.has(name));
}

/**
 * Copies tables and views (with their rows, indexes, triggers and AUTOINCREMENT counters) from
 * the database file `from` into `to`, in one transaction: `to` gets all of them or none.
 * With `replace`, same-named tables/views in `to` are dropped first (inside that transaction).
 * A `to` that does not exist yet is created with `from`'s journal mode.
 */
export async function copyTables(from: string, to: string, names: readonly string[], options: { replace: boolean; newFile: boolean }): Promise<void> {
  const list = names.map(quoteLiteral).join(', ');
  const objects = JSON.parse(
    (await sqlite(
      from,
      `select type, name, tbl_name, sql from sqlite_schema where sql is not null and (name in (${list}) or (type in ('index', 'trigger') and tbl_name in (${list})))
       order by case type when 'table' then 0 when 'index' then 1 when 'view' then 2 else 3 end, name;`,
      { readonly: true, json: true },
    )) || '[]',
  ) as SchemaObject[];
  const tables = objects.filter((o) => o.type === 'table');
  // Generated columns cannot be inserted into: copy only the stored, ordinary ones.
  const columns = new Map<string, string[]>();
  for (const table of tables) {
    const info = JSON.parse((await sqlite(from, `select name, hidden from pragma_table_xinfo(${quoteLiteral(table.name)});`, { readonly: true, json: true })) || '[]') as { name: string; hidden: number }[];
    columns.set(table.name, info.filter((c) => c.hidden === 0).map((c) => quoteIdentifier(c.name)));
  }

  const script: string[] = [];
  if (options.newFile) {
    const journalMode = (await sqlite(from, 'PRAGMA journal_mode;', { readonly: true })).trim();
    if (journalMode === 'wal') script.push('PRAGMA journal_mode = WAL;');
  }
  script.push(`ATTACH ${quoteLiteral(from)} AS vaultra_backup;`, 'BEGIN IMMEDIATE;');
  if (options.replace) {
    const existing = JSON.parse((await sqlite(to, `select type, name from sqlite_schema where type in ('table', 'view') and name in (${list});`, { json: true })) || '[]') as { type: string; name: string }[];
    for (const object of existing) script.push(`DROP ${object.type === 'view' ? 'VIEW' : 'TABLE'} main.${quoteIdentifier(object.name)};`);
  }
  for (const object of objects) {
    script.push(`${object.sql};`);
    if (object.type !== 'table') continue;
    const cols = columns.get(object.name)!.join(', ');
    script.push(`INSERT INTO main.${quoteIdentifier(object.name)} (${cols}) SELECT ${cols} FROM vaultra_backup.${quoteIdentifier(object.name)};`);
    if (/\bautoincrement\b/i.test(object.sql)) {
      script.push(
        `DELETE FROM main.sqlite_sequence WHERE name = ${quoteLiteral(object.name)};`,
        `INSERT INTO main.sqlite_sequence (name, seq) SELECT name, seq FROM vaultra_backup.sqlite_sequence WHERE name = ${quoteLiteral(object.name)};`,
      );
    }
  }
  // Indexes and triggers come after the rows (the ORDER BY above), so no trigger fires during the copy.
  script.push('COMMIT;', 'DETACH vaultra_backup;');
  // -bail stops at the first error; the open transaction then dies with the connection.
  await sqlite(to, script.join('\n'), {
    onFailure: (exit) => new RestoreFailedError(`copying the selected tables into ${to} failed, nothing was changed (${describeExit(exit)})`, exit.stderrTail),
  });
}

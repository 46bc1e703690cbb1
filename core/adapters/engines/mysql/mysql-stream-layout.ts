/** What a streamed dump reads of a database before it starts: tables, their columns and keys, triggers, events. */
import type { ToolExit } from '../../process/child-process.js';
import { queryJson } from './mysql-client.js';
import type { MysqlConnection } from './mysql-connection.js';
import type { TableLayout } from './mysql-table-rows.js';

export interface DatabaseLayout {
  readonly version: string;
  readonly logBin: boolean;
  /** Base tables, by name (code-point order). */
  readonly tables: readonly TableLayout[];
  /** Tables that have triggers, by name. */
  readonly triggerTables: readonly string[];
  readonly hasEvents: boolean;
  /** Tables in storage engines without transactions: read without the snapshot's guarantee. */
  readonly nonTransactional: readonly string[];
  /** Tables a streamed dump reads only in part (system-versioned: current rows, not history), with why. */
  readonly skipped: readonly string[];
}

type Row =
  | { kind: 'server'; version: string; logBin: number }
  | { kind: 'table'; name: string; type: string; engine: string | null }
  | { kind: 'column'; table: string; name: string; position: number; dataType: string; extra: string }
  | { kind: 'key'; table: string; index: string; column: string; seq: number; unique: number; nullable: string }
  | { kind: 'trigger'; table: string }
  | { kind: 'event'; name: string };

const LAYOUT_SQL = `
SELECT JSON_OBJECT('kind', 'server', 'version', VERSION(), 'logBin', @@log_bin + 0);
SELECT JSON_OBJECT('kind', 'table', 'name', TABLE_NAME, 'type', TABLE_TYPE, 'engine', ENGINE)
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE();
SELECT JSON_OBJECT('kind', 'column', 'table', TABLE_NAME, 'name', COLUMN_NAME, 'position', ORDINAL_POSITION, 'dataType', LOWER(DATA_TYPE), 'extra', EXTRA)
  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE();
SELECT JSON_OBJECT('kind', 'key', 'table', TABLE_NAME, 'index', INDEX_NAME, 'column', COLUMN_NAME, 'seq', SEQ_IN_INDEX, 'unique', NON_UNIQUE = 0, 'nullable', NULLABLE)
  FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE();
SELECT JSON_OBJECT('kind', 'trigger', 'table', EVENT_OBJECT_TABLE)
  FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE();
SELECT JSON_OBJECT('kind', 'event', 'name', EVENT_NAME)
  FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE();
`;

const TRANSACTIONAL_ENGINES = new Set(['InnoDB', 'XtraDB', 'RocksDB', 'TokuDB', 'NDB', 'ndbcluster']);

export async function readDatabaseLayout(connection: MysqlConnection, options: { signal?: AbortSignal; onFailure: (exit: ToolExit) => Error }): Promise<DatabaseLayout> {
  const rows = await queryJson<Row>(connection, LAYOUT_SQL, options);
  const server = rows.find((row): row is Extract<Row, { kind: 'server' }> => row.kind === 'server');
  const of = <K extends Row['kind']>(kind: K) => rows.filter((row): row is Extract<Row, { kind: K }> => row.kind === kind);
  const bases = of('table')
    .filter((row) => row.type === 'BASE TABLE' || row.type === 'SYSTEM VERSIONED')
    .sort((a, b) => compareNames(a.name, b.name));
  const tables: TableLayout[] = [];
  const skipped: string[] = [];
  for (const base of bases) {
    // Its current rows are read like any table's (a plain SELECT sees only them); leaving
    // them out too, as this once did, restored the table empty while the contents list
    // counted its rows.
    if (base.type === 'SYSTEM VERSIONED') skipped.push(`${base.name}: system-versioned: its current rows only; its history stays out of a chunked snapshot (a plain backup keeps it)`);
    const columns = of('column')
      .filter((column) => column.table === base.name && !/GENERATED/i.test(column.extra))
      .sort((a, b) => a.position - b.position)
      .map((column) => ({ name: column.name, dataType: column.dataType }));
    tables.push({ name: base.name, columns, ...orderOf(base.name, of('key'), columns.map((column) => column.name)) });
  }
  return {
    version: server?.version ?? '',
    logBin: Number(server?.logBin) === 1,
    tables,
    triggerTables: [...new Set(of('trigger').map((row) => row.table))].sort(compareNames),
    hasEvents: of('event').length > 0,
    nonTransactional: bases.filter((row) => row.engine && !TRANSACTIONAL_ENGINES.has(row.engine)).map((row) => `${row.name} (${row.engine})`),
    skipped,
  };
}

/** The primary key, else the first (by name) unique key over NOT NULL columns only, else every column. */
function orderOf(table: string, keys: readonly Extract<Row, { kind: 'key' }>[], columns: readonly string[]): Pick<TableLayout, 'orderBy' | 'order'> {
  const indexes = new Map<string, Extract<Row, { kind: 'key' }>[]>();
  for (const key of keys.filter((row) => row.table === table && Number(row.unique) === 1)) indexes.set(key.index, [...(indexes.get(key.index) ?? []), key]);
  const columnsOf = (index: string) => indexes.get(index)!.sort((a, b) => a.seq - b.seq).map((key) => key.column);
  if (indexes.has('PRIMARY')) return { orderBy: columnsOf('PRIMARY'), order: 'primary key' };
  const unique = [...indexes.keys()].sort(compareNames).find((index) => indexes.get(index)!.every((key) => key.nullable !== 'YES'));
  if (unique) return { orderBy: columnsOf(unique), order: 'unique key' };
  return { orderBy: columns, order: 'all columns' };
}

/** Code-point order: the same on every server, whatever the collation of information_schema. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The SQL the MySQL engine runs through the client. Every statement selects one JSON_OBJECT
 * column, so each output line is one JSON object (see `queryJson`). Needs MySQL ≥ 5.7.8 or
 * MariaDB ≥ 10.2.3 (JSON_OBJECT).
 */
import { quoteName, stringLiteral } from './mysql-client.js';

/**
 * Server version, the current database and its contents (tables, views, sequences, routines,
 * events). VERSION() tells the families apart (MariaDB's always says so; `@@version_comment`
 * is often the distribution's, e.g. "Debian 12").
 */
export const DESCRIBE_SQL = `
SELECT JSON_OBJECT('kind', 'server', 'version', VERSION(), 'database', DATABASE());
SELECT JSON_OBJECT(
  'kind', CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence' ELSE 'table' END,
  'name', TABLE_NAME, 'rows', TABLE_ROWS, 'engine', ENGINE, 'dataBytes', DATA_LENGTH)
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE();
SELECT JSON_OBJECT('kind', 'routine', 'name', ROUTINE_NAME, 'type', ROUTINE_TYPE)
  FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE();
SELECT JSON_OBJECT('kind', 'event', 'name', EVENT_NAME)
  FROM information_schema.EVENTS WHERE EVENT_SCHEMA = DATABASE();
`;

export interface DescribedRow {
  readonly kind: 'server' | 'table' | 'view' | 'sequence' | 'routine' | 'event' | 'count';
  readonly name?: string;
  readonly version?: string;
  readonly database?: string;
  readonly rows?: number | null;
  readonly engine?: string | null;
  readonly dataBytes?: number | null;
  readonly type?: string;
}

/** Storage engines whose `TABLE_ROWS` is an exact count, not an estimate. */
export const EXACT_ROWS_ENGINES: ReadonlySet<string> = new Set(['MyISAM', 'MRG_MyISAM', 'MEMORY']);

/**
 * DESCRIBE_SQL, then an exact `COUNT(*)` of every table under `maxBytes` (at most `maxTables`
 * of them, by name) whose engine only estimates TABLE_ROWS, answered as
 * `{ kind: 'count', name, rows }` — all in one client call (each call is a process start and a
 * login). The count statement is built on the server from information_schema and run as a
 * prepared statement: names go into it as hex (`UNHEX`) and backquoted identifiers, which
 * read the same under every `sql_mode`; with nothing to count it is `SELECT NULL`, a line
 * `queryJson` skips.
 */
export function describeWithCountsSql(maxBytes: number, maxTables: number): string {
  const engines = [...EXACT_ROWS_ENGINES].map(stringLiteral).join(', ');
  return `${DESCRIBE_SQL}
SET SESSION group_concat_max_len = 4194304;
SET @vaultra_counts = (
  SELECT GROUP_CONCAT(CONCAT(
    'SELECT JSON_OBJECT(''kind'', ''count'', ''name'', CONVERT(UNHEX(''', HEX(TABLE_NAME), ''') USING utf8mb4), ''rows'', COUNT(*)) FROM \`',
    REPLACE(TABLE_NAME, '\`', '\`\`'), '\`') SEPARATOR ' UNION ALL ')
  FROM (SELECT TABLE_NAME FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE NOT IN ('VIEW', 'SEQUENCE')
          AND COALESCE(ENGINE, '') NOT IN (${engines}) AND COALESCE(DATA_LENGTH, 0) < ${maxBytes}
        ORDER BY TABLE_NAME LIMIT ${maxTables}) AS small_tables);
SET @vaultra_counts = COALESCE(@vaultra_counts, 'SELECT NULL');
PREPARE vaultra_counts FROM @vaultra_counts;
EXECUTE vaultra_counts;
DEALLOCATE PREPARE vaultra_counts;
`;
}

/**
 * What the dump needs to know. (System variables go through `+ 0` or CAST: MariaDB's
 * JSON_OBJECT writes a boolean variable as a bare `ON`, which is not JSON.) Server family and
 * version, binary log, non-transactional tables, FLOAT columns.
 */
export const DUMP_STATE_SQL = `
SELECT JSON_OBJECT('kind', 'server', 'version', VERSION(), 'logBin', @@log_bin + 0);
SELECT JSON_OBJECT('kind', 'non-transactional', 'name', TABLE_NAME, 'engine', ENGINE)
  FROM information_schema.TABLES
  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND ENGINE IS NOT NULL AND ENGINE NOT IN ('InnoDB', 'SEQUENCE');
SELECT JSON_OBJECT('kind', 'float-column', 'name', CONCAT(c.TABLE_NAME, '.', c.COLUMN_NAME))
  FROM information_schema.COLUMNS c JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
  WHERE c.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'BASE TABLE' AND c.DATA_TYPE = 'float';
SELECT JSON_OBJECT('kind', 'versioned-table', 'name', t.TABLE_NAME, 'transactionPrecise', EXISTS (
    SELECT 1 FROM information_schema.COLUMNS c
    WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.GENERATION_EXPRESSION = 'ROW START' AND c.DATA_TYPE = 'bigint'))
  FROM information_schema.TABLES t
  WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_TYPE = 'SYSTEM VERSIONED';
`;

/** MariaDB's GTID state (its own variables: MySQL's do not exist there, and the reverse). */
export const MARIADB_GTID_SQL = `SELECT JSON_OBJECT('binlogPos', CAST(@@gtid_binlog_pos AS CHAR), 'currentPos', CAST(@@gtid_current_pos AS CHAR));`;

/** MySQL's GTID state. */
export const MYSQL_GTID_SQL = `SELECT JSON_OBJECT('gtidMode', CAST(@@gtid_mode AS CHAR), 'executed', CAST(@@gtid_executed AS CHAR));`;

/** Whether `database` exists, the server version, and what it holds (tables, views, sequences, routines, events). */
export function targetSql(database: string): string {
  const name = stringLiteral(database);
  return `
SELECT JSON_OBJECT('kind', 'server', 'version', VERSION());
SELECT JSON_OBJECT('kind', 'database') FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${name};
SELECT JSON_OBJECT('kind', CASE TABLE_TYPE WHEN 'VIEW' THEN 'view' WHEN 'SEQUENCE' THEN 'sequence' ELSE 'table' END, 'name', TABLE_NAME)
  FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${name};
SELECT JSON_OBJECT('kind', LOWER(ROUTINE_TYPE), 'name', ROUTINE_NAME) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${name};
SELECT JSON_OBJECT('kind', 'event', 'name', EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${name};
`;
}

/** One object of a database, by kind (as the target query and the dump scanner name them). */
export interface DatabaseObject {
  readonly kind: 'table' | 'view' | 'sequence' | 'function' | 'procedure' | 'event' | 'package' | 'package body';
  readonly name: string;
}

/** Drops the given objects of the current database (foreign keys ignored: the set goes as a whole). */
export function dropObjectsSql(objects: readonly DatabaseObject[]): string {
  const statements = objects.flatMap((object) => {
    const keyword = { table: 'TABLE', view: 'VIEW', sequence: 'SEQUENCE', function: 'FUNCTION', procedure: 'PROCEDURE', event: 'EVENT' }[object.kind as string];
    return keyword ? [`DROP ${keyword} IF EXISTS ${quoteName(object.name)};`] : [];
  });
  return ['SET FOREIGN_KEY_CHECKS = 0;', ...statements].join('\n');
}

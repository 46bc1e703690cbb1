/**
 * A table's rows as SQL that deduplicates: the server renders each row as one SQL tuple, in
 * key order, and {@link insertStatements} groups the tuples into `INSERT` statements whose
 * boundaries depend on the rows' own bytes (not on a row count), so a row inserted or deleted
 * changes only the bytes around it, never those of the statements after it.
 */
import { DumpFailedError } from '../../../errors.js';
import { quoteName } from './mysql-client.js';
import { unescapeBatchField } from './mysql-session.js';

/** What the dump needs to know of a base table to read its rows back as SQL. */
export interface TableLayout {
  readonly name: string;
  /** The stored columns (generated columns are computed again on restore), in table order. */
  readonly columns: readonly TableColumn[];
  /** The columns rows are ordered by: the primary key, else a unique key over NOT NULL columns, else every column. */
  readonly orderBy: readonly string[];
  /** How `orderBy` was chosen, for the dump's details. */
  readonly order: 'primary key' | 'unique key' | 'all columns';
}

export interface TableColumn {
  readonly name: string;
  /** information_schema's DATA_TYPE, lower case (`int`, `varbinary`, `bit`…). */
  readonly dataType: string;
}

/**
 * Session settings a table stream starts with, so it also loads on its own (`mariadb db <
 * stream`): utf8mb4, timestamps in UTC (as they are read), an explicit 0 in an AUTO_INCREMENT
 * column kept as 0, and no foreign-key or unique checks while rows arrive in key order.
 */
export const TABLE_STREAM_HEADER =
  "/*!40101 SET NAMES utf8mb4 */;\n/*!40103 SET TIME_ZONE='+00:00' */;\n/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n/*!40014 SET FOREIGN_KEY_CHECKS=0, UNIQUE_CHECKS=0 */;\n";

/** Settings of a dump session, matching what {@link TABLE_STREAM_HEADER} tells the restore. */
export const DUMP_SESSION_SQL = "SET NAMES utf8mb4; SET SESSION time_zone = '+00:00'; SET SESSION sql_mode = '';";

const BINARY_TYPES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection']);
const NUMERIC_TYPES = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'integer', 'bigint', 'decimal', 'numeric', 'float', 'double', 'real']);

/** The SQL literal of one column, rendered on the server (never NULL: a NULL value renders as the word NULL). */
function literalSql(column: TableColumn): string {
  const name = quoteName(column.name);
  // Bytes as hex, so no byte of a BLOB or geometry passes through a character-set conversion.
  if (BINARY_TYPES.has(column.dataType)) return `IF(${name} IS NULL, 'NULL', CONCAT('X''', HEX(${name}), ''''))`;
  // HEX() of a BIT value is its number's hex (odd digit counts): write bits instead.
  if (column.dataType === 'bit') return `IF(${name} IS NULL, 'NULL', CONCAT('b''', BIN(${name} + 0), ''''))`;
  if (NUMERIC_TYPES.has(column.dataType)) return `IFNULL(CAST(${name} AS CHAR), 'NULL')`;
  // Text in utf8mb4 (the restore's connection character set), quoted and escaped by the server.
  return `CONVERT(QUOTE(${name}) USING utf8mb4)`;
}

/**
 * `SELECT` of one column per row: the row as an SQL tuple `(…,…)`, in `orderBy` order. Every
 * part is cast to binary so that columns of different collations concatenate without error.
 * A tuple longer than the server's `max_allowed_packet` comes out as NULL (see {@link insertStatements}).
 */
export function rowTuplesSql(table: TableLayout): string {
  const parts = table.columns.map((column) => `CAST(${literalSql(column)} AS BINARY)`);
  const tuple = `CONCAT('(', ${parts.join(", ',', ")}, ')')`;
  const order = table.orderBy.map(quoteName).join(', ');
  return `SELECT ${tuple} FROM ${quoteName(table.name)}${order ? ` ORDER BY ${order}` : ''};`;
}

export interface InsertOptions {
  /** A statement ends after a row whose hash has these low bits clear (~1 in mask + 1 rows). @default 255 */
  readonly boundaryMask?: number;
  /** A statement also ends once it holds this many bytes (a restore's `max_allowed_packet`). @default 1 MiB */
  readonly maxStatementBytes?: number;
  /** Bytes gathered before they are handed on. @default 256 KiB */
  readonly outputBytes?: number;
}

/**
 * Turns the client's output lines (one row tuple each, batch-escaped, in batches) into `INSERT INTO t (…)
 * VALUES (…),\n(…);` statements, after {@link TABLE_STREAM_HEADER}. A table without rows
 * gives the header alone.
 */
export async function* insertStatements(table: TableLayout, batches: AsyncIterable<readonly Buffer[]>, options: InsertOptions = {}): AsyncGenerator<Buffer> {
  const mask = options.boundaryMask ?? 255;
  const maxStatementBytes = options.maxStatementBytes ?? 1024 * 1024;
  const outputBytes = options.outputBytes ?? 256 * 1024;
  const opening = Buffer.from(`INSERT INTO ${quoteName(table.name)} (${table.columns.map((column) => quoteName(column.name)).join(',')}) VALUES\n`, 'utf8');
  const between = Buffer.from(',\n');
  const closing = Buffer.from(';\n');

  let pending: Buffer[] = [Buffer.from(TABLE_STREAM_HEADER)];
  let pendingBytes = pending[0]!.length;
  let statementBytes = 0;
  const add = (bytes: Buffer) => {
    pending.push(bytes);
    pendingBytes += bytes.length;
  };

  for await (const lines of batches) {
    for (const line of lines) {
      if (line[0] !== 0x28 /* ( */) {
        throw new DumpFailedError(
          `a row of table ${table.name} could not be read as SQL (${line.length === 4 ? "it is longer than the server's max_allowed_packet: raise it for the backup user's sessions" : 'unexpected output from the client'})`,
          '',
        );
      }
      const tuple = unescapeBatchField(line);
      add(statementBytes === 0 ? opening : between);
      add(tuple);
      statementBytes += tuple.length + 2;
      if ((fnv1a(tuple) & mask) === 0 || statementBytes >= maxStatementBytes) {
        add(closing);
        statementBytes = 0;
      }
    }
    if (pendingBytes >= outputBytes) {
      yield Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
    }
  }
  if (statementBytes > 0) add(closing);
  if (pendingBytes > 0) yield Buffer.concat(pending);
}

/** 32-bit FNV-1a: a cheap hash whose low bits pick statement boundaries. */
function fnv1a(bytes: Buffer): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

import { stat } from 'node:fs/promises';
import type { TableChecksums } from '../../../domain/table-checksums.js';
import { quoteIdentifier, quoteLiteral, sqlite, type SqliteOptions } from './sqlite-cli.js';

/**
 * Databases up to this size get per-table checksums at backup time. Hashing reads every row
 * once more: on a 45 MB database of 200,000 rows (2 shared cores, 3 runs) it took 0.36–0.64 s,
 * against 2.4–5.4 s for the whole backup (`VACUUM INTO` 0.2 s, then compression, encryption and
 * storage), so at most about a second here. Above it the cost grows with the data, and the drill
 * relies on the row counts and the object's SHA-256.
 */
export const CHECKSUM_MAX_BYTES = 64 * 1024 * 1024;

/**
 * `sha3-256:<hex>` of each table's rows, by the sqlite3 shell's `sha3_query` (SHA3-256 over the
 * values with their storage classes, in the table's scan order: rowid, or primary key for a
 * WITHOUT ROWID table). A restore writes the snapshot's bytes back, rowids included, so the
 * restored table hashes the same; a changed value, row or type does not.
 */
export async function tableChecksums(path: string, tables: readonly string[], options: Pick<SqliteOptions, 'signal' | 'onFailure'>): Promise<TableChecksums> {
  if (tables.length === 0) return {};
  // One statement: with -json, each statement prints an array of its own.
  const sql = `${tables.map((table) => `select ${quoteLiteral(table)} as name, lower(hex(sha3_query(${quoteLiteral(`SELECT * FROM ${quoteIdentifier(table)}`)}, 256))) as sha3`).join(' union all ')};`;
  const rows = JSON.parse((await sqlite(path, sql, { ...options, readonly: true, json: true })) || '[]') as { name: string; sha3: string }[];
  return Object.fromEntries(rows.map((row) => [row.name, `sha3-256:${row.sha3}`]));
}

/** The tables of a database file small enough to checksum (all of them), or none past {@link CHECKSUM_MAX_BYTES}. */
export async function checksummedTables(path: string, signal?: AbortSignal): Promise<string[]> {
  if ((await stat(path)).size > CHECKSUM_MAX_BYTES) return [];
  const out = await sqlite(path, `select name from sqlite_schema where type = 'table' and name not like 'sqlite_%' order by name;`, { readonly: true, json: true, signal });
  return (JSON.parse(out || '[]') as { name: string }[]).map((row) => row.name);
}

/**
 * In which order a table stream reads its rows. Key order is what deduplicates (an updated row
 * stays where it was in the stream; in physical order it moves to the table's end), but how the
 * server gets there matters: measured on a 1 GB, 7 M-row table (shared_buffers 32 MB, 2 cores),
 * `COPY … ORDER BY pk` took 6-8 s against 4-6 s in physical order when the key follows the
 * physical order (pg_stats correlation 0.99: the planner's index scan reads the heap nearly in
 * sequence), but 43-66 s when it does not (correlation 0.006: the same index scan jumps page to
 * page), where a sort took 13 s. So: the planner's plan when the key follows the physical order,
 * a forced sort when it does not, and physical order for big, unordered tables, whose sort would
 * fill the server's temporary space with a copy of the table.
 */
import type { SnapshotTable } from './pg-exported-snapshot.js';

/** |correlation| from which an index scan in key order reads the heap nearly sequentially. */
export const KEY_FOLLOWS_HEAP_CORRELATION = 0.9;

/** Above this size, a table whose key does not follow its physical order is dumped in physical order. */
export const MAX_SORTED_TABLE_BYTES = 4 * 1024 ** 3;

const PAGE_BYTES = 8192;

export type TableOrder =
  /** `ORDER BY` the primary key, the planner's plan (an index scan for a correlated key). */
  | 'key'
  /** `ORDER BY` the primary key, index scans disabled so the server sorts. */
  | 'key-sorted'
  /** No `ORDER BY`: no primary key, or too big to sort. */
  | 'physical';

export function tableOrder(table: Pick<SnapshotTable, 'key' | 'pages' | 'correlation'>): TableOrder {
  if (!table.key) return 'physical';
  if (table.correlation !== null && Math.abs(table.correlation) >= KEY_FOLLOWS_HEAP_CORRELATION) return 'key';
  return table.pages * PAGE_BYTES > MAX_SORTED_TABLE_BYTES ? 'physical' : 'key-sorted';
}

/** Session settings that make the server sort instead of walking the key's index (a sort spills to disk past work_mem). */
export const SORT_SETTINGS = "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off; SET work_mem = '64MB';";

/**
 * MariaDB system-versioned tables (`WITH SYSTEM VERSIONING`) keep their past rows beside the
 * current ones, and a plain dump holds only the current rows: the history — often the very
 * audit trail the table exists for — would be lost. `mariadb-dump --dump-history` (10.11+)
 * dumps it with its timestamps, and the dump sets `system_versioning_insert_history` so the
 * restore writes them back. It cannot dump transaction-precise history (periods over
 * transaction ids, which mean nothing on another server) and fails on such a table.
 */
import type { MysqlTool } from './mysql-tools.js';

/** A system-versioned table of the dumped database, as DUMP_STATE_SQL reports it. */
export interface VersionedTable {
  readonly name: string;
  /** Whether its period is over transaction ids (`ROW START` column of type BIGINT UNSIGNED). */
  readonly transactionPrecise: boolean;
}

export interface HistoryPlan {
  /** The dump tool's flags: `--dump-history`, or nothing. */
  readonly args: readonly string[];
  /** What the manifest says about the tables' history (absent: no versioned tables). */
  readonly detail?: string;
}

/** The first MariaDB release whose dump tool and server write and restore history (`system_versioning_insert_history`). */
const HISTORY_SINCE = [10, 11] as const;

export function planVersionedHistory(tables: readonly VersionedTable[], tool: MysqlTool, serverVersion: string): HistoryPlan {
  if (tables.length === 0) return { args: [] };
  const names = tables.map((t) => t.name).join(', ');
  if (tool.flavor !== 'mariadb' || !atLeast(tool.version, HISTORY_SINCE) || !atLeast(serverVersion, HISTORY_SINCE)) {
    return { args: [], detail: `${names}: current rows only, not their history (dumping history needs MariaDB 10.11's mariadb-dump and server; this is ${tool.command} ${tool.version} against ${serverVersion})` };
  }
  const precise = tables.filter((t) => t.transactionPrecise).map((t) => t.name);
  if (precise.length > 0) {
    return { args: [], detail: `${names}: current rows only, not their history (${precise.join(', ')} version by transaction id, which mariadb-dump --dump-history cannot dump)` };
  }
  return { args: ['--dump-history'], detail: `${names}: current rows and their history (--dump-history; restoring it needs MariaDB 10.11 or later)` };
}

function atLeast(version: string, [major, minor]: readonly [number, number]): boolean {
  const [, a, b] = /^(\d+)\.(\d+)/.exec(version) ?? [];
  if (a === undefined || b === undefined) return false;
  return Number(a) > major || (Number(a) === major && Number(b) >= minor);
}

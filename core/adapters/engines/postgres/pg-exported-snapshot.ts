/**
 * The session a streamed dump's consistency rests on: a REPEATABLE READ, READ ONLY transaction
 * that exports its snapshot (`pg_export_snapshot()`), lists the tables to stream in that
 * snapshot, takes ACCESS SHARE locks on them (as pg_dump does, so no ALTER TABLE, TRUNCATE or
 * DROP can change a table under the dump) and then stays open, idle, until the dump has ended:
 * every other session of the dump imports the snapshot, which exists only while this
 * transaction does. It is a psql coprocess: statements go to its stdin, one answer line comes
 * back on its stdout for each query.
 */
import { createInterface } from 'node:readline';
import { DumpFailedError } from '../../../errors.js';
import { spawnTool, type ToolExit, type ToolProcess } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { PostgresConnection } from './postgres-connection.js';
import { isLockTimeout, lockTimeoutError, lockTimeoutSql } from './postgres-locks.js';
import { INSTALL_HINT, PSQL_SCRIPT_ARGS, lastLine } from './postgres-psql.js';
import { STREAMED_TABLES_SQL } from './pg-streams-queries.js';
import { pgTool } from './pg-tools.js';

/** A table of the snapshot, as the streamed dump reads it. */
export interface SnapshotTable {
  readonly schema: string;
  readonly name: string;
  /** `schema.table`, each part quoted for SQL. */
  readonly qualified: string;
  readonly pages: number;
  /** The data columns, quoted, comma-separated, in `attname COLLATE "C"` order; null for a table without any. */
  readonly columns: string | null;
  /** The primary key's columns, quoted, in key order; null without a primary key. */
  readonly key: string | null;
  /** pg_stats' correlation of the key's first column with the physical order; null without statistics. */
  readonly correlation: number | null;
}

export interface ExportedSnapshot {
  /** What `SET TRANSACTION SNAPSHOT` takes. */
  readonly id: string;
  /** Where the snapshot stands: the WAL position and the oldest transaction it still sees running. */
  readonly lsn: string | null;
  readonly xmin: string;
  readonly tables: readonly SnapshotTable[];
  /** Ends the transaction (the snapshot can no longer be imported). Rejects if the session had died. */
  release(): Promise<void>;
  /** Ends the session at once. Never rejects. */
  kill(): Promise<void>;
}

/**
 * Session settings of every session of a streamed dump: what pg_dump sets for text output that
 * reads back exactly (dates, intervals, floats, XML) and does not depend on the runner's
 * environment (encoding, time zone), no timeouts of the role's, and an error instead of a
 * silently filtered table under row-level security.
 */
export const DUMP_SESSION_SETTINGS =
  "SET client_encoding = 'UTF8'; SET datestyle = 'ISO'; SET intervalstyle = 'postgres'; SET timezone = 'UTC'; SET extra_float_digits = 3; " +
  "SET bytea_output = 'hex'; SET xmloption = content; SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; SET row_security = off;";

const LOCKED_MARK = 'vaultra:locked';

/** Opens the snapshot session and locks the tables it lists; rejects with `DumpFailedError` (a lock wait that timed out names its holder). */
export async function exportSnapshot(connection: PostgresConnection, options: { readonly lockTimeoutMs: number; readonly signal?: AbortSignal }): Promise<ExportedSnapshot> {
  const tool = await spawnTool(pgTool('psql'), PSQL_SCRIPT_ARGS, {
    env: connection.env,
    inherit: TOOL_FAMILY_VARIABLES.postgres,
    stdin: 'pipe',
    installHint: INSTALL_HINT,
    // psql cancels a running query on SIGINT: a LOCK waiting in the server ends with it.
    stopSignal: 'SIGINT',
  });
  const what = `cannot start a consistent dump of ${connection.display}`;
  const failure = async (exit: ToolExit): Promise<Error> =>
    isLockTimeout(exit) ? lockTimeoutError(connection, what, options.lockTimeoutMs, exit) : new DumpFailedError(`${what}: ${lastLine(exit)}`, exit.stderrTail);
  const onAbort = () => tool.kill();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const answers = answerLines(tool);
  const stdin = tool.child.stdin!;
  stdin.on('error', () => undefined); // the exit status tells why
  try {
    stdin.write(
      `${DUMP_SESSION_SETTINGS}\n${lockTimeoutSql(options.lockTimeoutMs)}BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;\nSELECT pg_export_snapshot();\n${STREAMED_TABLES_SQL}\n`,
    );
    const id = await answers.next(failure);
    const described = JSON.parse(await answers.next(failure)) as { lsn: string | null; xmin: string; tables: SnapshotTable[] };
    if (!/^[0-9A-Fa-f-]+$/.test(id)) throw new DumpFailedError(`${what}: the server exported an unexpected snapshot id`, '');
    if (described.tables.length > 0) {
      stdin.write(`LOCK TABLE ${described.tables.map((t) => t.qualified).join(', ')} IN ACCESS SHARE MODE;\nSELECT '${LOCKED_MARK}';\n`);
      if ((await answers.next(failure)) !== LOCKED_MARK) throw new DumpFailedError(`${what}: psql answered out of turn`, '');
    }
    // Once locked, a lock_timeout must not end the idle session; the dump's own sessions set theirs.
    stdin.write('SET lock_timeout = 0;\n');
    return {
      id,
      lsn: described.lsn,
      xmin: described.xmin,
      tables: described.tables,
      async release() {
        options.signal?.removeEventListener('abort', onAbort);
        stdin.end('COMMIT;\n');
        const exit = await tool.exited;
        if (exit.code !== 0) throw new DumpFailedError(`the snapshot session of the dump of ${connection.display} failed (${lastLine(exit)}): the dump may be inconsistent, run it again`, exit.stderrTail);
      },
      async kill() {
        options.signal?.removeEventListener('abort', onAbort);
        tool.kill();
        await tool.exited;
      },
    };
  } catch (error) {
    options.signal?.removeEventListener('abort', onAbort);
    tool.kill();
    await tool.exited;
    throw error;
  }
}

/** psql's stdout as answers, one line each; `next` rejects with the session's failure once psql exited without one. */
function answerLines(tool: ToolProcess): { next(failure: (exit: ToolExit) => Promise<Error>): Promise<string> } {
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const reader = createInterface({ input: tool.child.stdout!, crlfDelay: Infinity });
  reader.on('line', (line) => {
    lines.push(line);
    wake?.();
  });
  reader.once('close', () => {
    closed = true;
    wake?.();
  });
  return {
    async next(failure) {
      while (lines.length === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve));
      const line = lines.shift();
      if (line !== undefined) return line;
      const exit = await tool.exited;
      throw await failure(exit.code === 0 ? { ...exit, code: 1, stderrTail: exit.stderrTail || 'psql ended the session early' } : exit);
    },
  };
}

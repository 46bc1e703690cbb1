import { DumpFailedError } from '../../../errors.js';
import { runTool, type ToolExit } from '../../process/child-process.js';

export const SQLITE_INSTALL_HINT = 'install sqlite3 (Debian/Ubuntu: apt-get install sqlite3)';

export interface SqliteOptions {
  readonly readonly?: boolean;
  readonly json?: boolean;
  readonly signal?: AbortSignal;
  /** The error a failure becomes (default: DumpFailedError naming the file). */
  readonly onFailure?: (exit: ToolExit) => Error;
}

/** Runs a script through the `sqlite3` CLI on one database file; resolves with its stdout. */
export async function sqlite(path: string, sql: string, options: SqliteOptions = {}): Promise<string> {
  // `path` is absolute (sqlitePath resolves it) or a `file:` URI, so it is never taken for an option;
  // `.timeout` waits out a writer's lock instead of failing with SQLITE_BUSY.
  const args = ['-batch', '-bail', '-cmd', '.timeout 30000'];
  if (options.readonly) args.push('-readonly');
  if (options.json) args.push('-json');
  args.push(path);
  return runTool('sqlite3', args, {
    input: sql,
    signal: options.signal,
    installHint: SQLITE_INSTALL_HINT,
    onFailure: options.onFailure ?? ((exit) => new DumpFailedError(`sqlite3 failed on ${path} (${describeExit(exit)})`, exit.stderrTail)),
  });
}

export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export function quoteLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function describeExit(exit: ToolExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  const line = exit.stderrTail.split('\n').filter(Boolean).at(-1);
  return line ? `${how}: ${line}` : how;
}

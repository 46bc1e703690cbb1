/** Running psql for the PostgreSQL engine, and reading what a failed tool said. */
import { runTool, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { PostgresConnection } from './postgres-connection.js';
import { pgTool } from './pg-tools.js';

export const INSTALL_HINT = 'install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq)';

/** psql's flags for scripted use: no psqlrc, unaligned tuples only, quiet, stop at the first error, never prompt for a password. */
export const PSQL_SCRIPT_ARGS = ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password'] as const;

/** Runs `sql` through psql and returns its output; `variables` are psql variables (`:"name"`, `:'name'`), never spliced into the SQL. */
export async function psql(
  connection: PostgresConnection,
  sql: string,
  signal: AbortSignal | undefined,
  onFailure: (exit: ToolExit) => Error,
  variables: Record<string, string> = {},
): Promise<string> {
  const args: string[] = [...PSQL_SCRIPT_ARGS];
  for (const [name, value] of Object.entries(variables)) args.push('-v', `${name}=${value}`);
  // SIGINT makes psql cancel its query on the server: a session waiting for a lock ends with it.
  return runTool(pgTool('psql'), args, { env: connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres, input: sql, onFailure, signal, installHint: INSTALL_HINT, stopSignal: 'SIGINT' });
}

/** A libpq conninfo value, quoted (for `--dbname dbname=…`, which takes a database name literally). */
export function quoteConninfo(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

export function describeExit(exit: ToolExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  return exit.stderrTail ? `${how}: ${lastLine(exit)}` : how;
}

/** The most telling line of a tool's stderr: its last non-empty one, without the tool's name prefix. */
export function lastLine(exit: ToolExit): string {
  const lines = exit.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.findLast((l) => /error|fatal|failed|could not|unsupported/i.test(l)) ?? lines.at(-1) ?? `exit ${exit.code ?? exit.signal}`;
  return line.replace(/^(pg_dump|pg_restore|psql): /, '');
}

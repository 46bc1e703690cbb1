import { runTool, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { MysqlConnection } from './mysql-connection.js';
import { writeOptionFile } from './mysql-option-file.js';
import { chooseTool, MYSQL_INSTALL_HINT } from './mysql-tools.js';

export interface QueryOptions {
  readonly signal?: AbortSignal;
  /** Builds the error for a failed query (connection refused, access denied, SQL error). */
  readonly onFailure: (exit: ToolExit) => Error;
}

/**
 * Runs SQL through the `mariadb`/`mysql` client (credentials in a private option file) and
 * parses its output: every statement selects one `JSON_OBJECT(...)` column, so each output
 * line is one JSON object (`--raw` leaves JSON's own escapes alone; JSON has no raw newlines).
 * Connects to `connection.database` when set, to no database otherwise.
 */
export async function queryJson<Row = Record<string, unknown>>(connection: MysqlConnection, sql: string, options: QueryOptions): Promise<Row[]> {
  const { tool } = await chooseTool('client', connection.scheme);
  const file = await writeOptionFile(connection);
  try {
    const args = [...file.args, '--batch', '--raw', '--skip-column-names', '--default-character-set=utf8mb4', '--connect-timeout=10'];
    if (connection.database) args.push(`--database=${connection.database}`);
    const out = await runTool(tool.command, args, { inherit: TOOL_FAMILY_VARIABLES.mysql, input: sql, signal: options.signal, onFailure: options.onFailure, installHint: MYSQL_INSTALL_HINT });
    return out
      .split('\n')
      .filter((line) => line.trim() !== '' && line !== 'NULL')
      .map((line) => parseLine<Row>(line, tool.command));
  } finally {
    await file.remove();
  }
}

function parseLine<Row>(line: string, command: string): Row {
  try {
    return JSON.parse(line) as Row;
  } catch {
    throw new Error(`unexpected output from ${command} (not one JSON object per line): ${line.slice(0, 80)}`);
  }
}

/** An SQL identifier in backquotes (the only quoting `ANSI_QUOTES` cannot change). */
export function quoteName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * A string literal that means the same under every `sql_mode` (with or without
 * `NO_BACKSLASH_ESCAPES`): hex bytes with a utf8mb4 introducer, compared byte for byte.
 */
export function stringLiteral(value: string): string {
  return `_utf8mb4 X'${Buffer.from(value, 'utf8').toString('hex')}' COLLATE utf8mb4_bin`;
}

export function describeExit(exit: ToolExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  return exit.stderrTail ? `${how}: ${lastLine(exit)}` : how;
}

/** The most telling line of a MySQL tool's stderr, without the tool's name prefix or its warnings. */
export function lastLine(exit: ToolExit): string {
  const lines = exit.stderrTail
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/\[Warning\]|^Warning:/i.test(l));
  const line = lines.findLast((l) => /error|fatal|failed|denied|can't|cannot|unknown/i.test(l)) ?? lines.at(-1) ?? `exit ${exit.code ?? exit.signal}`;
  // The redactor (stderr tails are redacted as they are read) turns the server's
  // "(using password: YES)" into "(using password: ***", which reads like a leak: drop it.
  return line
    .replace(/^(mariadb-dump|mysqldump|mariadb|mysql):\s*/, '')
    .replace(/\s*\(using password: (YES|NO|\*\*\*)\)?/, '');
}

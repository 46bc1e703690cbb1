import { randomBytes } from 'node:crypto';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import { spawnTool, type ToolExit, type ToolProcess } from '../../process/child-process.js';
import type { MysqlConnection } from './mysql-connection.js';
import { writeOptionFile } from './mysql-option-file.js';
import { MYSQL_INSTALL_HINT, type MysqlTool } from './mysql-tools.js';

const NEWLINE = 0x0a;

/**
 * One long-lived server session: a `mariadb`/`mysql` client reading statements from its stdin,
 * so a transaction (a consistent snapshot, a held lock) lasts across many queries. Each query
 * is followed by `SELECT '<marker>'`, whose output line tells where the query's output ends.
 *
 * The client runs with `--batch` (one line per row, tab-separated, with `\t`, `\n`, `\0` and
 * `\\` escaped), `--quick` (rows are printed as they arrive, never gathered in memory) and
 * `--unbuffered` (each result is flushed at once). A failing statement makes the client exit
 * non-zero: every later read then fails with the error `onFailure` builds from its stderr.
 *
 * Queries run one at a time: a caller must finish reading one query's lines before the next.
 */
export class MysqlSession {
  private readonly lines: AsyncGenerator<Buffer[]>;
  /** Lines read past the end of the last query (none in practice: the next query is sent only after its marker). */
  private leftover: Buffer[] = [];
  private readonly marker = `vaultra-end-${randomBytes(12).toString('hex')}`;
  private queries = 0;

  private constructor(
    private readonly tool: ToolProcess,
    private readonly onFailure: (exit: ToolExit) => Error,
  ) {
    tool.child.stdin!.on('error', () => undefined); // the exit status tells the story
    this.lines = splitLines(tool.child.stdout![Symbol.asyncIterator]() as AsyncIterator<Buffer>);
  }

  /** Connects (credentials in a private option file, removed once the client exited). */
  static async open(client: MysqlTool, connection: MysqlConnection, onFailure: (exit: ToolExit) => Error): Promise<MysqlSession> {
    const file = await writeOptionFile(connection);
    const args = [...file.args, '--batch', '--quick', '--unbuffered', '--skip-column-names', '--default-character-set=utf8mb4', '--connect-timeout=10'];
    if (connection.database) args.push(`--database=${connection.database}`);
    let tool: ToolProcess;
    try {
      tool = await spawnTool(client.command, args, { stdin: 'pipe', inherit: TOOL_FAMILY_VARIABLES.mysql, installHint: MYSQL_INSTALL_HINT });
    } catch (error) {
      await file.remove();
      throw error;
    }
    void tool.exited.then(() => file.remove());
    return new MysqlSession(tool, onFailure);
  }

  /**
   * Sends `sql` (complete statements) and yields its output lines (raw, without the newline), a
   * batch at a time (the lines of one read: per-line awaits would cost more than the rows), until
   * the marker that follows it. Fails with the session's error if the client exits first.
   * Leaving the loop early leaves the session mid-result: `close()` or `kill()` it then.
   */
  async *query(sql: string): AsyncGenerator<Buffer[]> {
    const marker = Buffer.from(`${this.marker}-${this.queries++}`, 'latin1');
    this.tool.child.stdin!.write(`${sql}\nSELECT '${marker.toString('latin1')}';\n`);
    for (;;) {
      let batch = this.leftover;
      this.leftover = [];
      if (batch.length === 0) {
        const next = await this.lines.next();
        if (next.done) throw this.onFailure(await this.tool.exited);
        batch = next.value;
      }
      const end = batch.findIndex((line) => line.length === marker.length && line.equals(marker));
      if (end === -1) {
        yield batch;
        continue;
      }
      this.leftover = batch.slice(end + 1);
      if (end > 0) yield batch.slice(0, end);
      return;
    }
  }

  /** Runs statements and returns their output lines as text (for short answers). */
  async run(sql: string): Promise<string[]> {
    const out: string[] = [];
    for await (const lines of this.query(sql)) for (const line of lines) out.push(line.toString('utf8'));
    return out;
  }

  /** Ends the session (rolling back its transaction, releasing its locks) and waits for the client to exit. Never rejects. */
  async close(): Promise<ToolExit> {
    this.tool.child.stdin!.end();
    // Unread output would keep the client from exiting: drain it.
    this.tool.child.stdout!.resume();
    const exit = this.tool.exited;
    const timer = setTimeout(() => this.tool.kill(), 10_000);
    timer.unref();
    return exit.finally(() => clearTimeout(timer));
  }

  /** Stops the client at once (its server session ends with it). Never rejects. */
  async kill(): Promise<void> {
    this.tool.kill();
    this.tool.child.stdout!.resume();
    await this.tool.exited;
  }

  get exited(): Promise<ToolExit> {
    return this.tool.exited;
  }
}

/** Splits a byte stream into lines, the complete lines of each chunk as one batch (a final line without a newline comes last). */
async function* splitLines(chunks: AsyncIterator<Buffer>): AsyncGenerator<Buffer[]> {
  let rest: Buffer | undefined;
  for (;;) {
    const next = await chunks.next();
    if (next.done) break;
    const chunk: Buffer = next.value;
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = chunk.indexOf(NEWLINE); end !== -1; end = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, end);
      if (rest) {
        lines.push(Buffer.concat([rest, piece]));
        rest = undefined;
      } else lines.push(piece);
      start = end + 1;
    }
    if (start < chunk.length) rest = rest ? Buffer.concat([rest, chunk.subarray(start)]) : chunk.subarray(start);
    if (lines.length > 0) yield lines;
  }
  if (rest && rest.length > 0) yield [rest];
}

/**
 * Undoes the client's `--batch` escaping of one output field: `\0`, `\t`, `\n` and `\\`
 * stand for NUL, tab, newline and backslash; every other byte is itself.
 */
export function unescapeBatchField(line: Buffer): Buffer {
  const first = line.indexOf(0x5c);
  if (first === -1) return line;
  const out = Buffer.allocUnsafe(line.length);
  line.copy(out, 0, 0, first);
  let length = first;
  for (let i = first; i < line.length; i++) {
    const byte = line[i]!;
    if (byte !== 0x5c || i + 1 === line.length) {
      out[length++] = byte;
      continue;
    }
    const next = line[++i]!;
    out[length++] = next === 0x30 ? 0 : next === 0x74 ? 0x09 : next === 0x6e ? 0x0a : next;
  }
  return out.subarray(0, length);
}

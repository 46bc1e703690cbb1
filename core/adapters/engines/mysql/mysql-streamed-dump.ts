import { Readable } from 'node:stream';
import type { StreamedDump } from '../../../ports/database-engine.js';
import type { SnapshotStream } from '../../../domain/snapshot-format.js';
import { DumpFailedError } from '../../../errors.js';
import { spawnTool, toolOutput, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import { describeExit, lastLine } from './mysql-client.js';
import type { MysqlTarget } from './mysql-connection.js';
import { writeOptionFile } from './mysql-option-file.js';
import type { MysqlSession } from './mysql-session.js';
import { openSnapshotSessions } from './mysql-snapshot.js';
import { readDatabaseLayout } from './mysql-stream-layout.js';
import { insertStatements, rowTuplesSql, type TableLayout } from './mysql-table-rows.js';
import { chooseTool, MYSQL_INSTALL_HINT, serverFlavor } from './mysql-tools.js';

/** Saved in the manifest: the stream names and roles below, each table's rows as INSERT statements in key order. */
export const MYSQL_STREAMS_FORMAT = 'mysql-streams/v1';

/**
 * The streams of a MySQL/MariaDB streamed dump, in restore order:
 * - `schema` (role `schema`): every table, view and routine definition (`--no-data`, no triggers, no events);
 * - `table/<table>` (role `table`): one per base table, its rows in key order (see mysql-table-rows.ts);
 * - `triggers/<table>` (role `triggers`): one per table with triggers, loaded after every table's rows
 *   (a trigger must not fire on restored rows);
 * - `events` (role `events`): the events, created last (an enabled event starts to run).
 */
export const MYSQL_STREAM_ROLES = { schema: 'schema', table: 'table', triggers: 'triggers', events: 'events' } as const;

/** The dump tool's flags for the definition streams; `--skip-dump-date` keeps their bytes stable across runs. */
const DEFINITION_FLAGS = [
  '--single-transaction',
  '--skip-lock-tables',
  '--no-tablespaces',
  '--hex-blob',
  '--default-character-set=utf8mb4',
  '--comments',
  '--skip-dump-date',
  '--no-data',
];

/**
 * Starts a streamed dump: reads the layout, opens the snapshot sessions (up to `jobs`), and
 * returns the streams. Table streams are read through the snapshot sessions, one stream per
 * free session at a time; the definition streams by the dump tool.
 */
export async function dumpMysqlStreams(connection: MysqlTarget, options: { readonly jobs: number; readonly signal?: AbortSignal }): Promise<StreamedDump> {
  const readFailure = (exit: ToolExit) => new DumpFailedError(`cannot read MySQL/MariaDB database ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
  const layout = await readDatabaseLayout(connection, { signal: options.signal, onFailure: readFailure });
  const flavor = serverFlavor(layout.version);
  const [{ tool: dumper, fallback }, { tool: client }] = await Promise.all([chooseTool('dump', flavor), chooseTool('client', flavor)]);
  options.signal?.throwIfAborted();
  // No more sessions than tables: each serves one table at a time.
  const sessions = Math.max(1, Math.min(Math.floor(options.jobs), layout.tables.length));
  const snapshot = await openSnapshotSessions(client, connection, { flavor, logBin: layout.logBin }, sessions, readFailure);
  const pool = new SessionPool(snapshot.sessions);
  const tables = new Map(layout.tables.map((table) => [`table/${table.name}`, table]));
  const tools = new Set<{ kill(): void }>();

  const streams: SnapshotStream[] = [
    { name: 'schema', role: MYSQL_STREAM_ROLES.schema },
    ...layout.tables.map((table) => ({ name: `table/${table.name}`, role: MYSQL_STREAM_ROLES.table })),
    ...layout.triggerTables.map((table) => ({ name: `triggers/${table}`, role: MYSQL_STREAM_ROLES.triggers })),
    ...(layout.hasEvents ? [{ name: 'events', role: MYSQL_STREAM_ROLES.events }] : []),
  ];

  /** A definition stream: the dump tool's stdout. */
  const definitions = async (stream: SnapshotStream, what: readonly string[], signal?: AbortSignal): Promise<Readable> => {
    const mysql8Against10 = dumper.flavor === 'mysql' && flavor === 'mariadb' && /^([89]|\d\d)\./.test(dumper.version) ? ['--column-statistics=0'] : [];
    const file = await writeOptionFile(connection);
    let tool;
    try {
      tool = await spawnTool(dumper.command, [...file.args, ...DEFINITION_FLAGS, ...mysql8Against10, ...what], { inherit: TOOL_FAMILY_VARIABLES.mysql, installHint: MYSQL_INSTALL_HINT });
    } catch (error) {
      await file.remove();
      throw error;
    }
    tools.add(tool);
    void tool.exited.then(() => {
      tools.delete(tool);
      return file.remove();
    });
    const output = toolOutput(tool, (exit) => new DumpFailedError(`${dumper.command} of ${stream.name} from ${connection.display} failed (${describeExit(exit)})`, exit.stderrTail));
    return stopOnAbort(output, signal);
  };

  /** A table stream: its rows, read through a snapshot session. */
  const rows = async (table: TableLayout, signal?: AbortSignal): Promise<Readable> => {
    const session = await pool.take(signal);
    let complete = false;
    async function* produce(): AsyncGenerator<Buffer> {
      try {
        yield* insertStatements(table, session.query(rowTuplesSql(table)));
        complete = true;
      } finally {
        // A session left mid-result cannot serve another table: it goes.
        if (complete) pool.give(session);
        else void pool.discard(session);
      }
    }
    const readable = Readable.from(produce(), { objectMode: false, highWaterMark: 1024 * 1024 });
    // A stream destroyed before its first read never starts the generator: the session still goes back.
    readable.once('close', () => {
      if (!complete) void pool.discard(session);
    });
    return stopOnAbort(readable, signal);
  };

  const db = connection.database;
  return {
    tool: { name: `${client.command}+${dumper.command}`, version: dumper.version },
    format: MYSQL_STREAMS_FORMAT,
    consistency: snapshot.consistency,
    streams,
    async open(stream, signal) {
      if (stream.name === 'schema') return definitions(stream, ['--routines', '--skip-triggers', '--skip-events', '--', db], signal);
      if (stream.name === 'events') return definitions(stream, ['--no-create-info', '--skip-routines', '--skip-triggers', '--events', '--', db], signal);
      if (stream.role === MYSQL_STREAM_ROLES.triggers) return definitions(stream, ['--no-create-info', '--skip-routines', '--skip-events', '--triggers', '--', db, stream.name.slice('triggers/'.length)], signal);
      const table = tables.get(stream.name);
      if (!table) throw new DumpFailedError(`no stream named ${stream.name} in this dump of ${connection.display}`, '');
      return rows(table, signal);
    },
    async finish() {
      await pool.closeAll();
      const orders = layout.tables.filter((table) => table.order !== 'primary key');
      return {
        details: {
          serverFlavor: flavor === 'mariadb' ? 'MariaDB' : 'MySQL',
          ...(fallback ? { toolFallback: fallback } : {}),
          ...snapshot.details,
          ...(layout.nonTransactional.length > 0 ? { nonTransactionalTables: layout.nonTransactional.join(', ') } : {}),
          ...(orders.length > 0 ? { tablesWithoutPrimaryKey: orders.map((table) => `${table.name} (ordered by ${table.order})`).join(', ') } : {}),
        },
        warnings: [...snapshot.warnings, ...layout.skipped.map((line) => `table ${line}`)],
      };
    },
    async abort() {
      for (const tool of tools) tool.kill();
      await pool.killAll();
    },
  };
}

/** The snapshot sessions: each serves one table stream at a time. */
class SessionPool {
  private readonly free: MysqlSession[];
  private readonly waiting: { resolve: (session: MysqlSession) => void; reject: (error: Error) => void }[] = [];
  private readonly live: Set<MysqlSession>;

  constructor(sessions: readonly MysqlSession[]) {
    this.free = [...sessions];
    this.live = new Set(sessions);
  }

  take(signal?: AbortSignal): Promise<MysqlSession> {
    const session = this.free.pop();
    if (session) return Promise.resolve(session);
    if (this.live.size === 0) return Promise.reject(new DumpFailedError('every snapshot session of this dump has ended (an earlier table stream failed or was stopped): run the backup again', ''));
    return new Promise((resolve, reject) => {
      const waiter = { resolve, reject };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', () => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      }, { once: true });
    });
  }

  give(session: MysqlSession): void {
    const waiter = this.waiting.shift();
    if (waiter) waiter.resolve(session);
    else this.free.push(session);
  }

  async discard(session: MysqlSession): Promise<void> {
    if (!this.live.delete(session)) return;
    if (this.live.size === 0) for (const waiter of this.waiting.splice(0)) waiter.reject(new DumpFailedError('every snapshot session of this dump has ended: run the backup again', ''));
    await session.kill();
  }

  /** After the last stream: ends every session (each rolls back its read-only transaction). */
  async closeAll(): Promise<void> {
    const sessions = [...this.live];
    this.live.clear();
    this.free.length = 0;
    await Promise.all(sessions.map((session) => session.close()));
  }

  async killAll(): Promise<void> {
    const sessions = [...this.live];
    this.live.clear();
    this.free.length = 0;
    await Promise.all(sessions.map((session) => session.kill()));
  }
}

function stopOnAbort(stream: Readable, signal?: AbortSignal): Readable {
  if (!signal) return stream;
  const stop = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  if (signal.aborted) stop();
  else {
    signal.addEventListener('abort', stop, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', stop));
  }
  return stream;
}

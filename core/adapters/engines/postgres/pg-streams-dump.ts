/**
 * PostgreSQL's streamed dump (`pg-streams/v1`, docs/chunked-snapshots.md): one exported
 * snapshot, read by every stream, in the order a restore needs them:
 *
 * - `pre-data`: `pg_dump --section=pre-data`, custom format, uncompressed (custom, not plain:
 *   pg_restore can then pick a selective restore's tables and schemas out of it);
 * - `table/<schema>.<table>` for every table whose rows pg_dump would dump (plain tables and leaf
 *   partitions; not partitioned parents, views, materialized views, foreign tables, temporary
 *   tables nor extension members): `COPY (SELECT <data columns> FROM t ORDER BY <primary key>)`
 *   in text format, so unchanged rows keep their bytes and their place from one run to the next
 *   (physical order without a primary key, or for a big table whose key does not follow its
 *   physical order: pg-table-order.ts);
 * - `data-rest`: the rest of pg_dump's data section (sequence values, large objects, extension
 *   configuration tables), `pg_dump --section=data` without the tables streamed above;
 * - `post-data`: `pg_dump --section=post-data` (indexes, constraints, triggers, matview refreshes).
 */
import type { Readable } from 'node:stream';
import type { StreamedDump } from '../../../ports/database-engine.js';
import type { SnapshotStream } from '../../../domain/snapshot-format.js';
import { DumpFailedError } from '../../../errors.js';
import { spawnTool, toolOutput, toolVersion, type ToolExit, type ToolOutput } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { PostgresConnection } from './postgres-connection.js';
import { isLockTimeout, lockTimeoutError, lockTimeoutSql } from './postgres-locks.js';
import { INSTALL_HINT, PSQL_SCRIPT_ARGS, describeExit } from './postgres-psql.js';
import { DUMP_SESSION_SETTINGS, exportSnapshot, type ExportedSnapshot, type SnapshotTable } from './pg-exported-snapshot.js';
import { pgTool } from './pg-tools.js';
import { SORT_SETTINGS, tableOrder } from './pg-table-order.js';

export const PG_STREAMS_FORMAT = 'pg-streams/v1';

/** The roles of pg-streams/v1's streams, as the snapshot index records them. */
export const PG_STREAM_ROLES = { preData: 'pre-data', table: 'table', dataRest: 'data-rest', postData: 'post-data' } as const;

/** A table stream's name. Names are compared, never parsed: a restore finds a table's stream by computing it again. */
export function tableStreamName(schema: string, table: string): string {
  return `table/${schema}.${table}`;
}

/**
 * Starts a streamed dump: exports the snapshot and locks the tables (failing fast, and naming
 * the lock holder when a table stays locked longer than `lockTimeoutMs`).
 */
export async function dumpPostgresStreams(connection: PostgresConnection, options: { readonly lockTimeoutMs: number; readonly signal?: AbortSignal }): Promise<StreamedDump> {
  const [version, snapshot] = await Promise.all([toolVersion(pgTool('pg_dump')), exportSnapshot(connection, options)]);
  const tables = new Map<string, SnapshotTable>();
  for (const table of snapshot.tables) {
    const name = tableStreamName(table.schema, table.name);
    const other = tables.get(name);
    if (other) {
      await snapshot.kill();
      throw new DumpFailedError(
        `tables ${other.qualified} and ${table.qualified} would share the stream name ${JSON.stringify(name)} (a schema or table name holds a dot): rename one, or take a single-stream backup`,
        '',
      );
    }
    tables.set(name, table);
  }
  const producers = new Set<ToolOutput>();
  // The dump's own signal stops every producer (the snapshot session listens to it already).
  const stopAll = () => {
    for (const output of producers) output.destroy(new DumpFailedError('the dump was cancelled', ''));
  };
  options.signal?.addEventListener('abort', stopAll, { once: true });
  const dumper = new StreamProducer(connection, snapshot, options.lockTimeoutMs);
  const streams: SnapshotStream[] = [
    { name: PG_STREAM_ROLES.preData, role: PG_STREAM_ROLES.preData },
    ...[...tables.keys()].map((name) => ({ name, role: PG_STREAM_ROLES.table })),
    { name: PG_STREAM_ROLES.dataRest, role: PG_STREAM_ROLES.dataRest },
    { name: PG_STREAM_ROLES.postData, role: PG_STREAM_ROLES.postData },
  ];
  return {
    tool: { name: 'pg_dump', version: (version ?? 'unknown').replace(/^pg_dump \(PostgreSQL\) /, '') },
    format: PG_STREAMS_FORMAT,
    consistency: 'one exported snapshot (REPEATABLE READ, tables locked ACCESS SHARE) shared by every stream',
    streams,
    async open(stream: SnapshotStream, signal?: AbortSignal): Promise<Readable> {
      let output: ToolOutput;
      if (stream.role === PG_STREAM_ROLES.table) {
        const table = tables.get(stream.name);
        if (!table) throw new DumpFailedError(`the dump has no stream ${JSON.stringify(stream.name)}`, '');
        output = await dumper.table(table);
      } else if (stream.role === PG_STREAM_ROLES.dataRest) {
        output = await dumper.section('data', [...tables.values()]);
      } else if (stream.role === PG_STREAM_ROLES.preData || stream.role === PG_STREAM_ROLES.postData) {
        output = await dumper.section(stream.role, []);
      } else {
        throw new DumpFailedError(`the dump has no stream ${JSON.stringify(stream.name)}`, '');
      }
      producers.add(output);
      output.once('close', () => producers.delete(output));
      if (signal) {
        const onAbort = () => output.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        if (signal.aborted) onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        output.once('close', () => signal.removeEventListener('abort', onAbort));
      }
      return output;
    },
    async finish() {
      options.signal?.removeEventListener('abort', stopAll);
      await snapshot.release();
      const details: Record<string, string> = { snapshotXmin: snapshot.xmin, tableStreams: String(tables.size) };
      if (snapshot.lsn) details.snapshotLsn = snapshot.lsn;
      const unordered = [...tables.values()].filter((t) => tableOrder(t) === 'physical').length;
      if (unordered > 0) details.tablesInPhysicalOrder = String(unordered);
      return { details };
    },
    async abort() {
      options.signal?.removeEventListener('abort', stopAll);
      for (const output of producers) output.destroy();
      await Promise.all([...producers].map((output) => output.tool.exited));
      await snapshot.kill();
    },
  };
}

/** Starts the tools that produce each stream, all in the exported snapshot. */
class StreamProducer {
  constructor(
    private readonly connection: PostgresConnection,
    private readonly snapshot: ExportedSnapshot,
    private readonly lockTimeoutMs: number,
  ) {}

  /** One table's rows: COPY in a transaction that imported the snapshot. */
  async table(table: SnapshotTable): Promise<ToolOutput> {
    const args = [
      ...PSQL_SCRIPT_ARGS,
      '-c', DUMP_SESSION_SETTINGS + lockTimeoutSql(this.lockTimeoutMs) + (tableOrder(table) === 'key-sorted' ? SORT_SETTINGS : ''),
      '-c', 'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY',
      '-c', `SET TRANSACTION SNAPSHOT '${this.snapshot.id}'`,
      '-c', `COPY (${tableSelect(table)}) TO STDOUT`,
    ];
    const tool = await spawnTool(pgTool('psql'), args, { env: this.connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres, installHint: INSTALL_HINT, stopSignal: 'SIGINT' });
    return toolOutput(tool, (exit) => this.failure(`dump of table ${table.qualified}`, exit));
  }

  /** A pg_dump section; `data` leaves out the rows of `streamed` tables. */
  async section(section: 'pre-data' | 'data' | 'post-data', streamed: readonly SnapshotTable[]): Promise<ToolOutput> {
    const args = [
      '--format=custom',
      '--compress=0',
      '--no-password',
      `--lock-wait-timeout=${Math.max(1, Math.round(this.lockTimeoutMs))}`,
      `--snapshot=${this.snapshot.id}`,
      `--section=${section}`,
      ...streamed.map((t) => `--exclude-table-data=${exactPattern(t.schema)}.${exactPattern(t.name)}`),
    ];
    const tool = await spawnTool(pgTool('pg_dump'), args, { env: this.connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres, installHint: INSTALL_HINT });
    return toolOutput(tool, (exit) => this.failure(`pg_dump --section=${section}`, exit));
  }

  private failure(what: string, exit: ToolExit): Error | Promise<Error> {
    const failed = `${what} of ${this.connection.display} failed`;
    return isLockTimeout(exit) ? lockTimeoutError(this.connection, failed, this.lockTimeoutMs, exit) : new DumpFailedError(`${failed} (${describeExit(exit)})`, exit.stderrTail);
  }
}

/** The query a table stream is the COPY of. */
export function tableSelect(table: SnapshotTable): string {
  const order = tableOrder(table) === 'physical' ? '' : ` ORDER BY ${table.key}`;
  return `SELECT ${table.columns ?? ''} FROM ONLY ${table.qualified}${order}`;
}

/** A pg_dump name pattern matching exactly `name`: inside double quotes, wildcards and dots are literal. */
function exactPattern(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

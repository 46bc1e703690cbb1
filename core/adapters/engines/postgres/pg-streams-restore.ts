/**
 * Restores a pg-streams/v1 dump (see pg-streams-dump.ts): the schema before the data
 * (`pg_restore` of `pre-data`), then every table's rows in parallel sessions (`COPY … FROM
 * STDIN`, columns computed from the restored schema the way the dump listed them), then
 * `data-rest` (sequence values, large objects), then `post-data` (indexes, constraints and
 * triggers, built once the rows are in). A selective restore opens only its tables' streams.
 *
 * Atomicity: the sessions cannot share one transaction, so into a database this restore
 * creates, `abort()` drops that database; into an existing database (empty, or with `force`)
 * each step commits on its own and `abort()` can undo nothing: the target keeps what was
 * loaded so far (and, with `force`, has lost what the schema step replaced).
 */
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { RestoreOptions, StreamedRestoreSink, TargetState } from '../../../ports/database-engine.js';
import type { SnapshotStream } from '../../../domain/snapshot-format.js';
import { ConfigError, IntegrityError, RestoreFailedError } from '../../../errors.js';
import { spawnTool, toolInput, type ToolExit, type ToolProcess } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import type { PostgresConnection } from './postgres-connection.js';
import type { PostgresSource } from './postgres-descriptor.js';
import { INSTALL_HINT, PSQL_SCRIPT_ARGS, describeExit, lastLine, psql, quoteConninfo } from './postgres-psql.js';
import { missingDependencyHint, prepareRestoreTarget, refuseUnfilledPartitionedTables, type PreparedTarget } from './postgres-restore-target.js';
import { PG_STREAMS_FORMAT, PG_STREAM_ROLES, tableStreamName } from './pg-streams-dump.js';
import { RESTORED_TABLES_SQL } from './pg-streams-queries.js';
import { pgTool } from './pg-tools.js';
import { inParallel } from '../../../pipeline/in-parallel.js';

/** What a COPY session sets so the dump's text reads back as written (see DUMP_SESSION_SETTINGS). */
const RESTORE_SESSION_SETTINGS = "SET client_encoding = 'UTF8'; SET datestyle = 'ISO'; SET intervalstyle = 'postgres'; SET timezone = 'UTC'; SET xmloption = content; SET statement_timeout = 0;";

export interface PostgresStreamsRestoreOptions extends RestoreOptions {
  readonly format: string;
  /** Leave out ownership and privileges (a target without the source's roles). */
  readonly noOwner?: boolean;
}

export async function openPostgresStreamsRestore(
  target: PostgresSource,
  streams: readonly SnapshotStream[],
  options: PostgresStreamsRestoreOptions,
  inspect: (target: PostgresSource, signal?: AbortSignal) => Promise<TargetState>,
): Promise<StreamedRestoreSink> {
  if (options.format !== PG_STREAMS_FORMAT) throw new ConfigError(`the PostgreSQL engine restores streamed dumps of format ${PG_STREAMS_FORMAT}, not ${options.format}: use a Vaultra that knows that format`);
  for (const role of [PG_STREAM_ROLES.preData, PG_STREAM_ROLES.dataRest, PG_STREAM_ROLES.postData]) {
    if (!streams.some((s) => s.name === role && s.role === role)) throw new IntegrityError(`the snapshot has no ${role} stream: it is not a complete ${PG_STREAMS_FORMAT} dump`);
  }
  const prepared = await prepareRestoreTarget(target, options, inspect);
  const loader = new StreamsLoader(prepared, streams, options);
  let loading: Promise<void> | undefined;
  return {
    replaces: prepared.collisions,
    notes: prepared.createdDatabase ? [] : [`restored into the existing database ${prepared.connection.display} in several transactions: a failed restore leaves what it loaded`],
    load(open, { jobs, signal }) {
      loading ??= loader.load(open, Math.max(1, Math.floor(jobs)), signal);
      return loading;
    },
    async commit() {
      if (!loading) throw new RestoreFailedError(`nothing was restored into ${prepared.connection.display}: load() never ran`, '');
      await loading;
      await refuseUnfilledPartitionedTables(prepared, options.signal);
    },
    async abort() {
      await loader.stop();
      // Schemas made for a selective restore hold tables by now unless nothing was loaded.
      await prepared.undo({ schemas: !loading });
    },
  };
}

class StreamsLoader {
  private readonly stopping = new AbortController();
  private readonly running = new Set<ToolProcess>();
  private readonly connection: PostgresConnection;

  constructor(
    private readonly prepared: PreparedTarget,
    private readonly streams: readonly SnapshotStream[],
    private readonly options: PostgresStreamsRestoreOptions,
  ) {
    this.connection = prepared.connection;
  }

  async load(open: (stream: SnapshotStream) => Readable, jobs: number, signal?: AbortSignal): Promise<void> {
    const stop = signal ? AbortSignal.any([signal, this.stopping.signal]) : this.stopping.signal;
    const section = (name: string) => this.streams.find((s) => s.name === name)!;
    try {
      await this.pgRestore(open(section(PG_STREAM_ROLES.preData)), PG_STREAM_ROLES.preData, stop);
      const tables = await this.tablesToLoad(stop);
      await inParallel(tables, jobs, (table) => this.copyIn(open(table.stream), table, stop), stop);
      await this.pgRestore(open(section(PG_STREAM_ROLES.dataRest)), PG_STREAM_ROLES.dataRest, stop);
      await this.pgRestore(open(section(PG_STREAM_ROLES.postData)), PG_STREAM_ROLES.postData, stop);
    } catch (error) {
      // The first failure stops every other session.
      this.stopping.abort();
      throw error;
    }
  }

  /** Kills every session still loading. Never rejects. */
  async stop(): Promise<void> {
    this.stopping.abort();
    for (const tool of this.running) tool.kill();
    await Promise.all([...this.running].map((tool) => tool.exited));
  }

  /** The restored tables that have a stream and that the selection takes, with their COPY statements. */
  private async tablesToLoad(signal: AbortSignal): Promise<{ stream: SnapshotStream; copy: string; label: string }[]> {
    const fail = (exit: ToolExit) => new RestoreFailedError(`cannot list the tables restored into ${this.connection.display}: ${lastLine(exit)}`, exit.stderrTail);
    const restored = JSON.parse(await psql(this.connection, RESTORED_TABLES_SQL, signal, fail)) as { schema: string; name: string; copy: string }[];
    const byName = new Map(restored.map((t) => [tableStreamName(t.schema, t.name), t]));
    const wanted = this.prepared.selection.wanted;
    const tables: { stream: SnapshotStream; copy: string; label: string }[] = [];
    for (const stream of this.streams.filter((s) => s.role === PG_STREAM_ROLES.table)) {
      const table = byName.get(stream.name);
      if (table && wanted && !wanted(`${table.schema}.${table.name}`)) continue;
      if (!table) {
        if (wanted) continue; // a table the selection left out of the schema
        throw new RestoreFailedError(`the restored schema has no table for stream ${JSON.stringify(stream.name)}: the dump's schema and data disagree, restore another run`, '');
      }
      tables.push({ stream, copy: table.copy, label: `${table.schema}.${table.name}` });
    }
    return tables;
  }

  private async copyIn(rows: Readable, table: { copy: string; label: string }, signal: AbortSignal): Promise<void> {
    const args = [...PSQL_SCRIPT_ARGS, '-c', RESTORE_SESSION_SETTINGS, '-c', table.copy];
    const tool = await this.spawn(pgTool('psql'), args, 'SIGINT');
    const sink = toolInput(tool, (exit) => new RestoreFailedError(`loading table ${table.label} into ${this.connection.display} failed (${describeExit(exit)})`, exit.stderrTail));
    await pipeline(rows, sink, { signal });
  }

  private async pgRestore(archive: Readable, role: string, signal: AbortSignal): Promise<void> {
    const args = ['--dbname', `dbname=${quoteConninfo(this.connection.database)}`, '--no-password', '--exit-on-error', '--single-transaction', ...this.prepared.selection.args];
    if (this.options.force && role !== PG_STREAM_ROLES.dataRest) args.push('--clean', '--if-exists');
    if (this.options.noOwner) args.push('--no-owner', '--no-privileges');
    const tool = await this.spawn(pgTool('pg_restore'), args, 'SIGTERM');
    const sink = toolInput(tool, (exit) => {
      const missing = missingDependencyHint(this.prepared.selection, exit.stderrTail);
      return new RestoreFailedError(`pg_restore of ${role} into ${this.connection.display} failed (${describeExit(exit)})${missing}`, exit.stderrTail);
    });
    await pipeline(archive, sink, { signal });
  }

  private async spawn(command: string, args: readonly string[], stopSignal: NodeJS.Signals): Promise<ToolProcess> {
    const tool = await spawnTool(command, args, { env: this.connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres, stdin: 'pipe', stdout: 'ignore', installHint: INSTALL_HINT, stopSignal });
    this.running.add(tool);
    void tool.exited.then(() => this.running.delete(tool));
    return tool;
  }
}


import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { selectedTableNames, type RestoreOptions, type StreamedRestoreSink } from '../../../ports/database-engine.js';
import type { SnapshotStream } from '../../../domain/snapshot-format.js';
import { ConfigError, IntegrityError, RestoreFailedError } from '../../../errors.js';
import { spawnTool, toolInput, type ToolExit, type ToolProcess } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import { describeExit, lastLine, queryJson, quoteName } from './mysql-client.js';
import { withDatabase, type MysqlTarget } from './mysql-connection.js';
import { dumpObjects, incompleteDumpError, missingSelectionError, selectionFilter } from './mysql-dump-checks.js';
import { MysqlDumpScanner } from './mysql-dump-scanner.js';
import { dropObjectsSql } from './mysql-queries.js';
import { MYSQL_STREAM_ROLES, MYSQL_STREAMS_FORMAT } from './mysql-streamed-dump.js';
import { writeOptionFile } from './mysql-option-file.js';
import { objectKey, refuseCollisions, targetState } from './mysql-target.js';
import { chooseTool, MYSQL_INSTALL_HINT, serverFlavor } from './mysql-tools.js';
import { inParallel } from '../../../pipeline/in-parallel.js';

/** Same as the single-stream restore's client flags (mysql-engine.ts), repeated to keep the two modules apart. */
const RESTORE_FLAGS = ['--batch', '--binary-mode', '--comments', '--default-character-set=utf8mb4', '--max-allowed-packet=1073741824'];

/**
 * Restores a `mysql-streams/v1` dump: the schema first (one client), then the tables' rows in
 * parallel (up to `jobs` clients, each table in one transaction, foreign-key and unique checks
 * off), then triggers, then events. With `tables`, only those tables' streams are opened, and
 * the schema stream is filtered to their (and the selected views') definitions.
 *
 * As with the single-stream restore, MySQL DDL commits as it runs, so nothing here is one
 * transaction: `abort()` (and a failed `load`) drops the database if the restore created it,
 * else drops the objects the schema stream created; objects it was replacing (`force`) stay as
 * far as the restore got. A table whose load failed keeps none of its rows (its transaction
 * rolls back), but tables loaded before stay until the clean-up.
 */
export async function openMysqlStreamsRestore(target: MysqlTarget, streams: readonly SnapshotStream[], options: RestoreOptions & { readonly format: string }): Promise<StreamedRestoreSink> {
  if (options.format !== MYSQL_STREAMS_FORMAT) throw new IntegrityError(`this backup's streams are in format ${options.format}, not ${MYSQL_STREAMS_FORMAT}: restore it with a Vaultra that knows that format`);
  if (options.schemas?.length) throw new ConfigError('--schemas is for PostgreSQL: a MySQL/MariaDB backup holds one database; select tables with --tables');
  const connection = target;
  const selected = selectedTableNames(options);
  const selection = selected ? new Set(selected) : undefined;
  const plan = planStreams(streams, selection);

  const state = await targetState(connection, options.signal);
  const collisions = refuseCollisions(connection, state, selection, options.force);
  const { tool: client } = await chooseTool('client', serverFlavor(state.version));
  const server = withDatabase(connection, undefined);
  let created = false;
  if (!state.exists) {
    const onFailure = (exit: ToolExit) => new RestoreFailedError(`cannot create database ${connection.database}: ${lastLine(exit)}`, exit.stderrTail);
    await queryJson(server, `CREATE DATABASE ${quoteName(connection.database)};`, { signal: options.signal, onFailure });
    created = true;
  }

  const scanners: MysqlDumpScanner[] = [];
  const running = new Set<ToolProcess>();
  const before = new Set(state.objects.map(objectKey));
  let cleaned = false;
  /** Undo what can be undone: the database if we made it, else the objects the restore added. */
  const cleanUp = async () => {
    if (cleaned) return;
    cleaned = true;
    await Promise.all([...running].map(async (tool) => (tool.kill(), tool.exited)));
    const cleanupFailed = (exit: ToolExit) => new RestoreFailedError(`cannot remove what the failed restore created in ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
    if (created) {
      await queryJson(server, `DROP DATABASE IF EXISTS ${quoteName(connection.database)};`, { onFailure: cleanupFailed });
      return;
    }
    const added = scanners.flatMap(dumpObjects).filter((object) => !before.has(objectKey(object)));
    if (added.length > 0) await queryJson(connection, dropObjectsSql(added), { onFailure: cleanupFailed });
  };
  const leftover = () => {
    if (created) return '; the database it created is dropped';
    return options.force && collisions.length > 0
      ? `; what it added to ${connection.database} is dropped, but the ${collisions.length} object(s) it was replacing (--force) may already be dropped or partly loaded: MySQL DDL commits as it runs`
      : `; what it added to ${connection.database} is dropped, nothing else was touched`;
  };

  /** Feeds one stream to a fresh client; `scanner` (definition streams) filters it and checks it is a whole dump. */
  const load = async (name: string, source: Readable, scanner: MysqlDumpScanner | undefined, signal?: AbortSignal): Promise<void> => {
    const file = await writeOptionFile(connection);
    let tool: ToolProcess;
    try {
      tool = await spawnTool(client.command, [...file.args, ...RESTORE_FLAGS, `--database=${connection.database}`], { stdin: 'pipe', stdout: 'ignore', inherit: TOOL_FAMILY_VARIABLES.mysql, installHint: MYSQL_INSTALL_HINT });
    } catch (error) {
      await file.remove();
      throw error;
    }
    running.add(tool);
    void tool.exited.then(() => {
      running.delete(tool);
      return file.remove();
    });
    const failed = (exit: ToolExit) => new RestoreFailedError(`${client.command} restore of ${name} into ${connection.display} failed (${describeExit(exit)})${leftover()}`, exit.stderrTail);
    const input = toolInput(tool, failed);
    if (!scanner) {
      // Each table in one transaction: a failed load leaves none of its rows behind.
      await pipeline(wrapped(source, 'SET autocommit = 0;\n', '\nCOMMIT;\n'), input, { signal });
      return;
    }
    scanners.push(scanner);
    await pipeline(source, new ScanningStage(scanner), input, { signal });
  };

  let loaded: Promise<void> | undefined;
  return {
    replaces: collisions.map((object) => object.name),
    load(open, { jobs, signal }) {
      loaded ??= (async () => {
        const definition = () => new MysqlDumpScanner({ keep: selection ? selectionFilter(selection) : undefined, retargetAlterDatabase: true, retargetViewsFrom: options.sourceDatabase });
        const schema = definition();
        await load('schema', open(plan.schema), schema, signal);
        const missing = selection ? missingSelectionError(schema, selection) : undefined;
        if (missing) throw missing;
        await inParallel(plan.tables, Math.max(1, Math.floor(jobs)), (stream) => load(stream.name, open(stream), undefined, signal));
        for (const stream of plan.triggers) await load(stream.name, open(stream), definition(), signal);
        if (plan.events) await load(plan.events.name, open(plan.events), definition(), signal);
      })();
      return loaded;
    },
    async commit() {
      if (!loaded) throw new RestoreFailedError(`nothing was loaded into ${connection.display}: load() comes before commit()`, '');
      try {
        await loaded;
      } catch (error) {
        await cleanUp();
        throw error;
      }
    },
    async abort() {
      await cleanUp();
    },
  };
}

/** The streams a restore opens, in its order; a selection keeps the schema and the selected tables' rows and triggers. */
function planStreams(streams: readonly SnapshotStream[], selection: ReadonlySet<string> | undefined) {
  const schema = streams.find((stream) => stream.role === MYSQL_STREAM_ROLES.schema);
  if (!schema) throw new IntegrityError('the snapshot has no schema stream: it is not a whole mysql-streams dump');
  // Views have no rows stream: the schema stream's scan says which selected names it lacks.
  const selected = (stream: SnapshotStream) => !selection || selection.has(stream.name.slice(stream.name.indexOf('/') + 1));
  const tables = streams.filter((stream) => stream.role === MYSQL_STREAM_ROLES.table && selected(stream));
  return {
    schema,
    tables,
    triggers: streams.filter((stream) => stream.role === MYSQL_STREAM_ROLES.triggers && selected(stream)),
    // Events belong to no table: a selective restore leaves them out, as the single-stream restore does.
    events: selection ? undefined : streams.find((stream) => stream.role === MYSQL_STREAM_ROLES.events),
  };
}


function wrapped(source: Readable, before: string, after: string): Readable {
  return Readable.from(
    (async function* () {
      yield Buffer.from(before);
      for await (const chunk of source) yield chunk as Buffer;
      yield Buffer.from(after);
    })(),
    { objectMode: false },
  );
}

/** A stage that passes a definition stream through its scanner, and fails at the end unless it was a whole dump. */
class ScanningStage extends Transform {
  constructor(private readonly scanner: MysqlDumpScanner) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    for (const part of this.scanner.push(chunk)) this.push(part);
    callback();
  }

  override _flush(callback: (error?: Error | null) => void): void {
    for (const part of this.scanner.end()) this.push(part);
    callback(incompleteDumpError(this.scanner) ?? null);
  }
}

import { type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type {
  ContentEntry,
  DatabaseEngine,
  StreamedDump,
  StreamedRestoreSink,
  DumpOutput,
  RestoreOptions,
  RestoreSink,
  SourceDescription,
  TargetState,
  ValidationOptions,
  ValidationSink,
} from '../../../ports/database-engine.js';
import { selectedTableNames } from '../../../ports/database-engine.js';
import { ConfigError, DumpFailedError, NotFoundError, RestoreFailedError } from '../../../errors.js';
import { spawnTool, toolInput, toolOutput, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import { describeExit, lastLine, queryJson, quoteName } from './mysql-client.js';
import { withDatabase, type MysqlTarget } from './mysql-connection.js';
import { MysqlDumpScanner } from './mysql-dump-scanner.js';
import { planGtid } from './mysql-gtid.js';
import { writeOptionFile } from './mysql-option-file.js';
import { describeWithCountsSql, dropObjectsSql, DUMP_STATE_SQL, type DescribedRow, EXACT_ROWS_ENGINES } from './mysql-queries.js';
import { dumpObjects, incompleteDumpError, missingSelectionError, selectionFilter, validationResult } from './mysql-dump-checks.js';
import { ScannedSink } from './scanned-sink.js';
import { objectKey, refuseCollisions, targetState } from './mysql-target.js';
import { dumpMysqlStreams } from './mysql-streamed-dump.js';
import { openMysqlStreamsRestore } from './mysql-streams-restore.js';
import type { SnapshotStream } from '../../../domain/snapshot-format.js';
import { chooseTool, MYSQL_INSTALL_HINT, serverFlavor } from './mysql-tools.js';
import { planVersionedHistory } from './mysql-versioned-history.js';
import { mysqlDescriptor, type MysqlSource } from './mysql-descriptor.js';
import { BinlogPositionTap } from './mysql-binlog-base.js';
import { teeDumpHeader } from './mysql-dump-header.js';
import { MysqlLogArchiver } from './mysql-log-archiver.js';

/**
 * The dump tool's flags that never change with the server (exported for the benchmark, which
 * runs the same dump by hand; the GTID flags and the database follow them).
 */
export const MYSQL_DUMP_FLAGS: readonly string[] = [
  '--single-transaction',
  '--quick',
  '--routines',
  '--triggers',
  '--events',
  '--hex-blob',
  '--default-character-set=utf8mb4',
  // --single-transaction already means no LOCK TABLES; said explicitly for the reader.
  '--skip-lock-tables',
  // Tablespace statements need the PROCESS privilege (MySQL 8) and belong to the server, not the database.
  '--no-tablespaces',
  // The section comments and the trailer are what selective restore and verify read.
  '--comments',
  '--dump-date',
];

/**
 * The client's flags for a restore. `--comments`: the client strips `-- …` lines from what it
 * sends unless told not to, and trigger, routine and event bodies are sent with their comments.
 */
export const MYSQL_RESTORE_FLAGS: readonly string[] = ['--batch', '--binary-mode', '--comments', '--default-character-set=utf8mb4', '--max-allowed-packet=1073741824'];

/** Tables below this size get an exact `COUNT(*)` in the contents list; above it, the server's estimate. */
const EXACT_COUNT_MAX_BYTES = 16 * 1024 * 1024;
const EXACT_COUNT_MAX_TABLES = 500;

/**
 * MySQL and MariaDB (`mysql://`, `mariadb://`) through their own tools. A backup is one
 * database dumped as SQL by `mariadb-dump` (MariaDB) or `mysqldump` (MySQL) with
 * `--single-transaction`, without `CREATE DATABASE`/`USE`, so it restores into a database of
 * any name. A restore feeds it to the `mariadb`/`mysql` client; a selective restore first
 * passes it through a streaming filter that keeps only the named tables' sections.
 *
 * MySQL DDL commits as it runs, so a restore cannot be one transaction: a restore into a new
 * database drops that database if it fails, one into an existing database drops what it
 * created; what it replaced there (`--force`) stays as far as the restore got.
 * Credentials reach the tools only through a private 0600 option file.
 *
 * What a dump carries as mysqldump writes it: views, triggers, routines and events keep their
 * `DEFINER` (restoring them as another user needs the privilege to name that definer), events
 * keep their ENABLED/DISABLED status (an enabled event runs in the restored copy too), and a
 * MariaDB sequence goes on from its next value not yet cached (values may be skipped, never
 * handed out twice).
 */
export class MysqlEngine implements DatabaseEngine<MysqlSource> {
  readonly id = 'mysql' as const;
  readonly descriptor = mysqlDescriptor;
  /** Point-in-time recovery through the binary log (mysql-log-archiver.ts). */
  readonly logs = new MysqlLogArchiver();

  parse(url: string): MysqlSource {
    return mysqlDescriptor.parse(url);
  }

  nameOf(source: MysqlSource): string {
    return source.parts.database;
  }

  async describe(source: MysqlSource, signal?: AbortSignal): Promise<SourceDescription> {
    const connection = source.parts;
    const onFailure = sourceFailure(connection);
    // InnoDB's TABLE_ROWS is an estimate (and MySQL 8 caches it for a day): small tables are counted exactly, in the same call.
    const rows = await queryJson<DescribedRow>(connection, describeWithCountsSql(EXACT_COUNT_MAX_BYTES, EXACT_COUNT_MAX_TABLES), { signal, onFailure });
    const server = rows.find((row) => row.kind === 'server');
    const relations = rows.filter((row) => row.kind === 'table' || row.kind === 'view' || row.kind === 'sequence').sort(byName);
    const counted = new Map(rows.filter((row) => row.kind === 'count').map((row) => [row.name!, Number(row.rows)]));
    const contents: ContentEntry[] = relations.map((row) => {
      if (row.kind !== 'table') return { kind: row.kind as 'view' | 'sequence', name: row.name! };
      const exact = counted.get(row.name!);
      if (exact !== undefined) return { kind: 'table', name: row.name!, rows: exact, rowsExact: true };
      return { kind: 'table', name: row.name!, rows: Math.max(0, Number(row.rows ?? 0)), rowsExact: EXACT_ROWS_ENGINES.has(row.engine ?? '') };
    });
    const routines = [...new Set(rows.filter((row) => row.kind === 'routine').map((row) => row.name!))].sort(compareNames);
    const events = rows.filter((row) => row.kind === 'event').map((row) => row.name!).sort(compareNames);
    contents.push(...routines.map((name) => ({ kind: 'routine' as const, name })), ...events.map((name) => ({ kind: 'event' as const, name })));
    return { engine: 'mysql', database: server?.database ?? connection.database, serverVersion: server?.version ?? 'unknown', contents };
  }

  async dump(source: MysqlSource, options: { signal?: AbortSignal; directTo?: Writable } = {}): Promise<DumpOutput> {
    const connection = source.parts;
    const onFailure = sourceFailure(connection);
    const state = await queryJson<{ kind: string; version?: string; logBin?: number; name?: string; engine?: string; transactionPrecise?: number }>(connection, DUMP_STATE_SQL, { signal: options.signal, onFailure });
    const version = state.find((row) => row.kind === 'server')?.version ?? '';
    const flavor = serverFlavor(version);
    const { tool, fallback } = await chooseTool('dump', flavor);
    const gtid = await planGtid(connection, { flavor, logBin: Number(state.find((row) => row.kind === 'server')?.logBin) === 1 }, tool, { signal: options.signal, onFailure });
    const nonTransactional = state.filter((row) => row.kind === 'non-transactional').map((row) => `${row.name} (${row.engine})`);
    const floatColumns = state.filter((row) => row.kind === 'float-column').map((row) => row.name!);
    const versioned = state.filter((row) => row.kind === 'versioned-table').map((row) => ({ name: row.name!, transactionPrecise: Number(row.transactionPrecise) === 1 }));
    const history = planVersionedHistory(versioned, tool, version);

    const args = [
      ...MYSQL_DUMP_FLAGS,
      ...gtid.args,
      ...history.args,
      // MySQL 8's mysqldump asks for column statistics MariaDB does not have.
      ...(tool.flavor === 'mysql' && flavor === 'mariadb' && /^([89]|\d\d)\./.test(tool.version) ? ['--column-statistics=0'] : []),
      // One database, no --databases: no CREATE DATABASE or USE, so it restores under any name.
      '--',
      connection.database,
    ];
    // The manifest reads details once the dump ended: the binlog position is added by then.
    const details: Record<string, string> = {
      serverFlavor: flavor === 'mariadb' ? 'MariaDB' : 'MySQL',
      ...(fallback ? { toolFallback: fallback } : {}),
      ...gtid.details,
      ...(nonTransactional.length > 0 ? { nonTransactionalTables: nonTransactional.join(', ') } : {}),
      // The dump holds values as the server prints them; for FLOAT that is rounded (MariaDB: 6 significant digits).
      ...(history.detail ? { systemVersionedTables: history.detail } : {}),
      ...(floatColumns.length > 0 ? { floatColumns: `${floatColumns.join(', ')}: FLOAT values are dumped as the server prints them (rounded), so they may not restore bit for bit` } : {}),
    };
    // The binlog position is in the dump's header (--master-data=2): read beside the direct pipe
    // (mysql-dump-header.ts), or, without GNU tee or a pipe to write into, through this process.
    const positionInDump = gtid.args.includes('--master-data=2');
    const sideTee = positionInDump && options.directTo ? await teeDumpHeader(options.directTo, connection, details) : undefined;
    const directTo = sideTee ? sideTee.input : positionInDump ? undefined : options.directTo;
    const file = await writeOptionFile(connection);
    let dumper;
    try {
      dumper = await spawnTool(tool.command, [...file.args, ...args], { stdout: directTo ?? 'pipe', inherit: TOOL_FAMILY_VARIABLES.mysql, installHint: MYSQL_INSTALL_HINT });
    } catch (error) {
      sideTee?.kill();
      await file.remove();
      throw error;
    }
    sideTee?.handedOver();
    void dumper.exited.then(() => file.remove());
    const output = toolOutput(dumper, (exit) => new DumpFailedError(`${tool.command} of ${connection.display} failed (${describeExit(exit)})`, exit.stderrTail), sideTee?.done);
    let stream: Readable = output;
    if (positionInDump && !sideTee) {
      const tap = new BinlogPositionTap(connection, details);
      pipeline(output, tap).catch(() => undefined); // the tap carries the error to the reader
      stream = tap;
    }
    return {
      stream,
      direct: directTo !== undefined,
      pid: dumper.child.pid,
      tool: { name: tool.command, version: tool.version },
      format: 'mysqldump-sql',
      consistency:
        `${tool.command} --single-transaction: one consistent snapshot (REPEATABLE READ, START TRANSACTION WITH CONSISTENT SNAPSHOT) of every InnoDB table; ` +
        'non-transactional tables (MyISAM, Aria, MEMORY) are read without a lock and are not covered by it',
      details,
    };
  }

  async inspectTarget(target: MysqlSource, signal?: AbortSignal): Promise<TargetState> {
    const state = await targetState(target.parts, signal);
    return { exists: state.exists, objects: state.objects.map((object) => object.name) };
  }

  async openRestore(target: MysqlSource, options: RestoreOptions): Promise<RestoreSink> {
    if (options.schemas?.length) throw new ConfigError('--schemas is for PostgreSQL: a MySQL/MariaDB backup holds one database; select tables with --tables');
    const connection = target.parts;
    const selected = selectedTableNames(options);
    const selection = selected ? new Set(selected) : undefined;
    const state = await targetState(connection, options.signal);
    const collisions = refuseCollisions(connection, state, selection, options.force);
    const { tool: client } = await chooseTool('client', serverFlavor(state.version));
    const server = withDatabase(connection, undefined);
    const cleanupFailed = (exit: ToolExit) => new RestoreFailedError(`cannot remove what the failed restore created in ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);

    let created = false;
    if (!state.exists) {
      const onFailure = (exit: ToolExit) => new RestoreFailedError(`cannot create database ${connection.database}: ${lastLine(exit)}`, exit.stderrTail);
      await queryJson(server, `CREATE DATABASE ${quoteName(connection.database)};`, { signal: options.signal, onFailure });
      created = true;
    }
    const scanner = new MysqlDumpScanner({ keep: selection ? selectionFilter(selection) : undefined, retargetAlterDatabase: true, retargetViewsFrom: options.sourceDatabase });
    const before = new Set(state.objects.map(objectKey));
    let cleaned = false;
    /** Undo what can be undone: the database if we made it, else the objects the restore added. */
    const cleanUp = async () => {
      if (cleaned) return;
      cleaned = true;
      if (created) {
        await queryJson(server, `DROP DATABASE IF EXISTS ${quoteName(connection.database)};`, { onFailure: cleanupFailed });
        return;
      }
      const added = dumpObjects(scanner).filter((object) => !before.has(objectKey(object)));
      if (added.length > 0) await queryJson(connection, dropObjectsSql(added), { onFailure: cleanupFailed });
    };
    // What a failed restore leaves, said in its error: MySQL DDL cannot be rolled back.
    const leftover = () => {
      if (created) return `; the database it created is dropped`;
      const replaced = options.force && collisions.length > 0;
      return replaced
        ? `; what it added to ${connection.database} is dropped, but the ${collisions.length} object(s) it was replacing (--force) may already be dropped or partly loaded: MySQL DDL commits as it runs, so a restore into an existing database cannot be rolled back`
        : `; what it added to ${connection.database} is dropped, nothing else was touched`;
    };

    let file;
    let restorer;
    try {
      file = await writeOptionFile(connection);
      const args = [...file.args, ...MYSQL_RESTORE_FLAGS, `--database=${connection.database}`];
      restorer = await spawnTool(client.command, args, { stdin: 'pipe', stdout: 'ignore', inherit: TOOL_FAMILY_VARIABLES.mysql, installHint: MYSQL_INSTALL_HINT });
    } catch (error) {
      await file?.remove();
      await cleanUp();
      throw error;
    }
    const optionFile = file;
    const tool = restorer;
    void tool.exited.then(() => optionFile.remove());
    const failed = (exit: ToolExit) => new RestoreFailedError(`${client.command} restore into ${connection.display} failed (${describeExit(exit)})${leftover()}`, exit.stderrTail);
    const stream = new ScannedSink(scanner, toolInput(tool, failed), () => incompleteDumpError(scanner) ?? (selection ? missingSelectionError(scanner, selection) : undefined));
    return {
      stream,
      replaces: collisions.map((object) => object.name),
      async commit() {
        const exit = await tool.exited;
        if (exit.code !== 0) {
          await cleanUp();
          throw failed(exit);
        }
      },
      async abort() {
        stream.destroy();
        tool.kill();
        await tool.exited;
        await cleanUp();
      },
    };
  }

  /** Per-table streams for chunked snapshots (`mysql-streams/v1`, see mysql-streamed-dump.ts). */
  dumpStreams(source: MysqlSource, options: { readonly jobs: number; readonly signal?: AbortSignal }): Promise<StreamedDump> {
    return dumpMysqlStreams(source.parts, options);
  }

  /** Restores a `mysql-streams/v1` snapshot (see mysql-streams-restore.ts). */
  openStreamsRestore(target: MysqlSource, streams: readonly SnapshotStream[], options: RestoreOptions & { readonly format: string }): Promise<StreamedRestoreSink> {
    return openMysqlStreamsRestore(target.parts, streams, options);
  }

  async openValidation(options: ValidationOptions = {}): Promise<ValidationSink> {
    const scanner = new MysqlDumpScanner({ output: false });
    const stream = new Writable({
      highWaterMark: 1024 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        scanner.push(chunk);
        callback();
      },
      final(callback) {
        scanner.end();
        callback();
      },
    });
    return {
      stream,
      result: async () => {
        const summary = validationResult(scanner, options.contents ?? []);
        // A dry run of a selective restore: the tables it names must be in the stream.
        const selected = selectedTableNames(options);
        const missing = selected ? missingSelectionError(scanner, new Set(selected)) : undefined;
        if (missing) throw missing;
        return summary;
      },
      async abort() {
        stream.destroy();
      },
    };
  }
}


/** The failure of a query or dump against the source: a missing database is "not found" (exit 5). */
function sourceFailure(connection: MysqlTarget): (exit: ToolExit) => Error {
  return (exit) =>
    /\bERROR 1049\b|Unknown database/.test(exit.stderrTail)
      ? new NotFoundError(`database ${connection.database} does not exist on ${connection.display.replace(/\/[^/]*$/, '')}`)
      : new DumpFailedError(`cannot read MySQL/MariaDB database ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
}

/** Code-point order: the same on every server, whatever the collation of information_schema. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byName(a: { name?: string }, b: { name?: string }): number {
  return compareNames(a.name ?? '', b.name ?? '');
}

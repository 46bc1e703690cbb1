import { readdir } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Writable } from 'node:stream';
import type {
  DatabaseEngine,
  DumpOutput,
  RestoreOptions,
  RestoreSink,
  SourceDescription,
  StreamedDump,
  StreamedRestoreSink,
  TargetState,
  ValidationOptions,
  ValidationSink,
} from '../../../ports/database-engine.js';
import { DumpFailedError, IntegrityError, RestoreFailedError } from '../../../errors.js';
import { spawnTool, toolInput, toolOutput, toolVersion, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import { pgTool } from './pg-tools.js';
import { DESCRIBE_SQL, TARGET_OBJECTS_SQL, DATABASE_EXISTS_SQL } from './postgres-queries.js';
import { DEFAULT_LOCK_TIMEOUT_MS, isLockTimeout, lockTimeoutError, lockTimeoutSql } from './postgres-locks.js';
import { postgresDescriptor, type PostgresSource } from './postgres-descriptor.js';
import { INSTALL_HINT, describeExit, lastLine, psql, quoteConninfo } from './postgres-psql.js';
import { maintenance, missingDependencyHint, prepareRestoreTarget, refuseUnfilledPartitionedTables, requireDatabase } from './postgres-restore-target.js';
import { dumpPostgresStreams } from './pg-streams-dump.js';
import { openPostgresStreamsRestore } from './pg-streams-restore.js';
import type { SnapshotStream } from '../../../domain/snapshot-format.js';
import { baseLogPositionOf } from '../../../domain/log-archive.js';
import { requireServer } from './postgres-connection.js';
import { physicalBaseBackup } from './pg-basebackup.js';
import { firstBlockChecked, openDataDirectoryRestore, refusePhysicalBase } from './pg-data-directory.js';
import { PostgresLogArchiver } from './pg-log-archiver.js';
import { openPhysicalValidation } from './pg-physical-validation.js';

export interface PostgresEngineOptions {
  /** How long a backup waits for a table lock (describe's row counts, pg_dump's ACCESS SHARE locks). @default 60 s */
  readonly lockTimeoutMs?: number;
}

/**
 * PostgreSQL through its own tools. Backups are `pg_dump --format=custom --compress=0`: one
 * REPEATABLE READ snapshot, uncompressed because compression is the pipeline's job (and zstd
 * beats pg_dump's zlib on speed and ratio). Restores are `pg_restore --single-transaction`, so
 * a restore that fails half-way, or is fed a corrupted stream, leaves the target as it was.
 * Credentials reach the tools only through libpq environment variables. A backup never waits
 * for a table lock longer than `lockTimeoutMs`, and its error names the session holding it.
 */
export class PostgresEngine implements DatabaseEngine<PostgresSource> {
  readonly id = 'postgres' as const;
  readonly descriptor = postgresDescriptor;
  readonly lockTimeoutMs: number;
  /** WAL archiving and replay for point-in-time recovery. */
  readonly logs = new PostgresLogArchiver();

  constructor(options: PostgresEngineOptions = {}) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  }

  parse(url: string): PostgresSource {
    return postgresDescriptor.parse(url);
  }

  nameOf(source: PostgresSource): string {
    // A data directory is only ever a restore target; name it by its folder all the same.
    return source.parts.dataDirectory !== undefined ? basename(source.parts.dataDirectory) || 'pgdata' : source.parts.database;
  }

  async describe(source: PostgresSource, signal?: AbortSignal): Promise<SourceDescription> {
    const connection = requireServer(source.parts, 'a backup');
    const what = `cannot read PostgreSQL database ${connection.display}`;
    let lockExit: ToolExit | undefined;
    const out = await psql(connection, lockTimeoutSql(this.lockTimeoutMs) + DESCRIBE_SQL, signal, (exit) => {
      if (isLockTimeout(exit)) lockExit = exit;
      return new DumpFailedError(`${what}: ${lastLine(exit)}`, exit.stderrTail);
    }).catch(async (error: unknown) => {
      throw lockExit && !signal?.aborted ? await lockTimeoutError(connection, what, this.lockTimeoutMs, lockExit) : error;
    });
    const described = JSON.parse(out) as { version: string; database: string; contents: SourceDescription['contents'] };
    return {
      engine: 'postgres',
      database: described.database,
      serverVersion: described.version,
      contents: described.contents.map((entry) => Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== null)) as SourceDescription['contents'][number]),
    };
  }

  async dump(source: PostgresSource, options: { directTo?: Writable } = {}): Promise<DumpOutput> {
    const connection = requireServer(source.parts, 'a backup');
    const [version, tool] = await Promise.all([
      toolVersion(pgTool('pg_dump')),
      spawnTool(pgTool('pg_dump'), ['--format=custom', '--compress=0', '--no-password', `--lock-wait-timeout=${Math.max(1, Math.round(this.lockTimeoutMs))}`], {
        env: connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres,
        stdout: options.directTo ?? 'pipe',
        installHint: INSTALL_HINT,
      }),
    ]);
    return {
      stream: toolOutput(tool, (exit) =>
        isLockTimeout(exit) ? lockTimeoutError(connection, `pg_dump of ${connection.display} failed`, this.lockTimeoutMs, exit) : new DumpFailedError(`pg_dump of ${connection.display} failed (${describeExit(exit)})`, exit.stderrTail),
      ),
      direct: options.directTo !== undefined,
      pid: tool.child.pid,
      tool: { name: 'pg_dump', version: (version ?? 'unknown').replace(/^pg_dump \(PostgreSQL\) /, '') },
      format: 'pg_dump-custom',
      consistency: 'pg_dump: one REPEATABLE READ snapshot for the whole dump',
    };
  }

  /**
   * A dump as separate streams for chunked snapshots (pg-streams-dump.ts): the schema, each
   * table's rows in primary-key order, the rest of the data, the schema after the data — all
   * from one exported snapshot. The caller opens up to `jobs` streams at once.
   */
  dumpStreams(source: PostgresSource, options: { readonly jobs: number; readonly signal?: AbortSignal }): Promise<StreamedDump> {
    return dumpPostgresStreams(requireServer(source.parts, 'a backup'), { lockTimeoutMs: this.lockTimeoutMs, signal: options.signal });
  }

  /** Restores a streamed dump (pg-streams-restore.ts); refuses and creates targets as `openRestore` does. */
  openStreamsRestore(target: PostgresSource, streams: readonly SnapshotStream[], options: RestoreOptions & { readonly format: string; readonly noOwner?: boolean }): Promise<StreamedRestoreSink> {
    requireServer(target.parts, 'restoring a logical backup');
    return openPostgresStreamsRestore(target, streams, options, (t, signal) => this.inspectTarget(t, signal));
  }

  /**
   * A physical base backup for point-in-time recovery (pg-basebackup.ts): `pg_basebackup` as one
   * tar, its WAL position in `details`. It restores only into a `pgdata:` data directory.
   */
  physicalDump(source: PostgresSource, options: { signal?: AbortSignal } = {}): Promise<DumpOutput> {
    return physicalBaseBackup(requireServer(source.parts, 'a physical backup'), options.signal);
  }

  async inspectTarget(target: PostgresSource, signal?: AbortSignal): Promise<TargetState> {
    if (target.parts.dataDirectory !== undefined) return inspectDataDirectory(target.parts.dataDirectory);
    const connection = requireDatabase(target);
    const fail = (exit: ToolExit) => new RestoreFailedError(`cannot inspect restore target ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
    const exists = (await psql(maintenance(connection), DATABASE_EXISTS_SQL, signal, fail, { name: connection.database })).trim() === '1';
    if (!exists) return { exists, objects: [] };
    const objects = (await psql(connection, TARGET_OBJECTS_SQL, signal, fail)).split('\n').filter(Boolean);
    return { exists, objects };
  }

  async openRestore(target: PostgresSource, options: RestoreOptions & { noOwner?: boolean }): Promise<RestoreSink> {
    if (target.parts.dataDirectory !== undefined) return openDataDirectoryRestore(target.parts, options);
    const prepared = await prepareRestoreTarget(target, options, (t, signal) => this.inspectTarget(t, signal));
    const { connection, selection } = prepared;
    const args = ['--dbname', `dbname=${quoteConninfo(connection.database)}`, '--no-password', '--exit-on-error', '--single-transaction', ...selection.args];
    if (options.force) args.push('--clean', '--if-exists');
    if (options.noOwner) args.push('--no-owner', '--no-privileges');
    const tool = await spawnTool(pgTool('pg_restore'), args, { env: connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres, stdin: 'pipe', stdout: 'ignore', installHint: INSTALL_HINT });
    const restoring = toolInput(tool, (exit) => {
      const missing = missingDependencyHint(selection, exit.stderrTail);
      return new RestoreFailedError(`pg_restore into ${connection.display} failed, nothing was changed (${describeExit(exit)})${missing}`, exit.stderrTail);
    });
    const stream = firstBlockChecked(restoring, (head) => refusePhysicalBase(head, connection.display));
    return {
      stream,
      replaces: prepared.collisions,
      async commit() {
        const exit = await tool.exited;
        if (exit.code !== 0) throw new RestoreFailedError(`pg_restore into ${connection.display} failed (${describeExit(exit)})`, exit.stderrTail);
        await refuseUnfilledPartitionedTables(prepared, options.signal);
      },
      async abort() {
        tool.kill();
        await tool.exited;
        // pg_restore ran in one transaction, so schemas made for it are empty again.
        await prepared.undo();
      },
    };
  }

  async openValidation(options: ValidationOptions = {}): Promise<ValidationSink> {
    if (baseLogPositionOf(options.details)?.kind === 'wal') return openPhysicalValidation();
    // Converting the archive to SQL without a database reads and checks every TOC entry and
    // data block: a structural check of the whole dump.
    const tool = await spawnTool(pgTool('pg_restore'), ['--file=/dev/null'], { stdin: 'pipe', stdout: 'ignore', installHint: INSTALL_HINT });
    const stream = toolInput(tool, (exit) => new IntegrityError(`pg_restore cannot read the archive (${describeExit(exit)})`));
    return {
      stream,
      async result() {
        const exit = await tool.exited;
        if (exit.code !== 0) throw new IntegrityError(`pg_restore cannot read the archive (${describeExit(exit)})`);
        return 'pg_restore read the whole archive';
      },
      async abort() {
        tool.kill();
        await tool.exited;
      },
    };
  }
}

/** A data directory target: it exists when the folder does, and collides with whatever it holds. */
async function inspectDataDirectory(path: string): Promise<TargetState> {
  const entries = await readdir(path).catch(() => undefined);
  return { exists: entries !== undefined, objects: (entries ?? []).sort() };
}

import type { Writable } from 'node:stream';
import type {
  DatabaseEngine,
  DumpOutput,
  RestoreOptions,
  RestoreSink,
  SourceDescription,
  TargetState,
  ValidationSink,
} from '../../../ports/database-engine.js';
import { ConfigError, DumpFailedError, IntegrityError, RestoreFailedError, RunConflictError } from '../../../errors.js';
import { runTool, spawnTool, toolInput, toolOutput, toolVersion, type ToolExit } from '../../process/child-process.js';
import { TOOL_FAMILY_VARIABLES } from '../../process/tool-environment.js';
import { withDatabase, type PostgresConnection } from './postgres-connection.js';
import { pgTool } from './pg-tools.js';
import { DESCRIBE_SQL, TARGET_OBJECTS_SQL, DATABASE_EXISTS_SQL } from './postgres-queries.js';
import { DEFAULT_LOCK_TIMEOUT_MS, isLockTimeout, lockTimeoutError, lockTimeoutSql } from './postgres-locks.js';
import { postgresDescriptor, type PostgresSource } from './postgres-descriptor.js';

export interface PostgresEngineOptions {
  /** How long a backup waits for a table lock (describe's row counts, pg_dump's ACCESS SHARE locks). @default 60 s */
  readonly lockTimeoutMs?: number;
}

const INSTALL_HINT = 'install the PostgreSQL client tools (Debian/Ubuntu: apt-get install postgresql-client; macOS: brew install libpq)';

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

  constructor(options: PostgresEngineOptions = {}) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  }

  parse(url: string): PostgresSource {
    return postgresDescriptor.parse(url);
  }

  nameOf(source: PostgresSource): string {
    return source.parts.database;
  }

  async describe(source: PostgresSource, signal?: AbortSignal): Promise<SourceDescription> {
    const connection = source.parts;
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
    const connection = source.parts;
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

  async inspectTarget(target: PostgresSource, signal?: AbortSignal): Promise<TargetState> {
    const connection = requireDatabase(target);
    const fail = (exit: ToolExit) => new RestoreFailedError(`cannot inspect restore target ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
    const exists = (await psql(maintenance(connection), DATABASE_EXISTS_SQL, signal, fail, { name: connection.database })).trim() === '1';
    if (!exists) return { exists, objects: [] };
    const objects = (await psql(connection, TARGET_OBJECTS_SQL, signal, fail)).split('\n').filter(Boolean);
    return { exists, objects };
  }

  async openRestore(target: PostgresSource, options: RestoreOptions & { noOwner?: boolean }): Promise<RestoreSink> {
    const connection = requireDatabase(target);
    const selection = restoreSelection(options);
    const state = await this.inspectTarget(target, options.signal);
    const collisions = selection.wanted ? state.objects.filter(selection.wanted) : state.objects;
    if (collisions.length > 0 && !options.force) {
      throw new RunConflictError(
        `restore target ${connection.display} already holds ${collisions.length} object(s) (${preview(collisions)}): restore into a new or empty database, or pass --force to replace them`,
      );
    }
    let created = false;
    if (!state.exists) {
      await psql(maintenance(connection), 'CREATE DATABASE :"name";', options.signal, (exit) => new RestoreFailedError(`cannot create database ${connection.database}: ${lastLine(exit)}`, exit.stderrTail), { name: connection.database });
      created = true;
    }
    // pg_restore's -n/-t never restore a CREATE SCHEMA entry: a selective restore into a new
    // database needs its schemas made first (and removed again if the restore aborts).
    const failedSchema = (exit: ToolExit) => new RestoreFailedError(`cannot create the schemas to restore into: ${lastLine(exit)}`, exit.stderrTail);
    const existingSchemas = new Set((await psql(connection, 'select nspname from pg_namespace;', options.signal, failedSchema)).split('\n').filter(Boolean));
    const createdSchemas = selection.schemas.filter((schema) => !existingSchemas.has(schema));
    for (const schema of createdSchemas) {
      await psql(connection, 'CREATE SCHEMA :"name";', options.signal, failedSchema, { name: schema });
    }
    const args = ['--dbname', `dbname=${quoteConninfo(connection.database)}`, '--no-password', '--exit-on-error', '--single-transaction', ...selection.args];
    if (options.force) args.push('--clean', '--if-exists');
    if (options.noOwner) args.push('--no-owner', '--no-privileges');
    const tool = await spawnTool(pgTool('pg_restore'), args, { env: connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres, stdin: 'pipe', stdout: 'ignore', installHint: INSTALL_HINT });
    const hint = selection.wanted ? ': a selective restore needs what the selection references (add those tables, or restore into a database that has them)' : '';
    const stream = toolInput(tool, (exit) => {
      const missing = hint && /does not exist/.test(exit.stderrTail) ? hint : '';
      return new RestoreFailedError(`pg_restore into ${connection.display} failed, nothing was changed (${describeExit(exit)})${missing}`, exit.stderrTail);
    });
    const dropCreated = async () => {
      const cleanupFailed = (exit: ToolExit) => new RestoreFailedError(`cannot remove what the failed restore created in ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
      if (created) {
        created = false;
        await psql(maintenance(connection), 'DROP DATABASE IF EXISTS :"name";', undefined, cleanupFailed, { name: connection.database });
        return;
      }
      // pg_restore ran in one transaction, so these schemas are empty again.
      for (const schema of createdSchemas.splice(0)) await psql(connection, 'DROP SCHEMA IF EXISTS :"name";', undefined, cleanupFailed, { name: schema });
    };
    return {
      stream,
      replaces: collisions,
      async commit() {
        const exit = await tool.exited;
        if (exit.code !== 0) throw new RestoreFailedError(`pg_restore into ${connection.display} failed (${describeExit(exit)})`, exit.stderrTail);
      },
      async abort() {
        tool.kill();
        await tool.exited;
        await dropCreated();
      },
    };
  }

  async openValidation(): Promise<ValidationSink> {
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

function requireDatabase(target: PostgresSource): PostgresConnection {
  const connection = target.parts;
  if (!connection.env.PGDATABASE) throw new ConfigError('the restore target URL must name a database: postgres://user@host:port/<database>');
  return connection;
}

/** Where CREATE/DROP DATABASE run: the server's `postgres` database. */
function maintenance(connection: PostgresConnection): PostgresConnection {
  return withDatabase(connection, 'postgres');
}

interface Selection {
  readonly args: string[];
  /** Schemas the selected objects live in: they must exist in the target before pg_restore runs. */
  readonly schemas: string[];
  /** Which existing target objects a selective restore would collide with. */
  readonly wanted?: (object: string) => boolean;
}

/**
 * pg_restore's `-n`/`-t` filters combine as a cross product (every named table in every named
 * schema), so selective restore of `schema.table` names is exact only within one schema.
 */
function restoreSelection(options: RestoreOptions): Selection {
  const tables = options.tables ?? [];
  const schemas = [...(options.schemas ?? [])];
  if (tables.length === 0) {
    if (schemas.length === 0) return { args: [], schemas: [] };
    return { args: schemas.flatMap((s) => ['--schema', s]), schemas, wanted: (object) => schemas.includes(object.split('.')[0]!) };
  }
  const parsed = tables.map((name) => {
    const dot = name.indexOf('.');
    return dot < 0 ? { schema: undefined, table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
  });
  const tableSchemas = [...new Set(parsed.map((p) => p.schema).filter((s): s is string => s !== undefined))];
  if (tableSchemas.length > 1 || (tableSchemas.length === 1 && parsed.some((p) => p.schema === undefined))) {
    throw new ConfigError(`--tables names tables in several schemas (${tables.join(', ')}): pg_restore can select tables of one schema at a time; run one restore per schema`);
  }
  if (schemas.length > 0 && tableSchemas.length > 0) throw new ConfigError('use either --schemas or schema-qualified --tables, not both');
  const schema = tableSchemas[0];
  const args = [...(schema ? ['--schema', schema] : []), ...parsed.flatMap((p) => ['--table', p.table])];
  const names = new Set(parsed.map((p) => p.table));
  return { args, schemas: [schema ?? 'public'], wanted: (object) => names.has(object.slice(object.indexOf('.') + 1)) && (!schema || object.startsWith(`${schema}.`)) };
}

async function psql(
  connection: PostgresConnection,
  sql: string,
  signal: AbortSignal | undefined,
  onFailure: (exit: ToolExit) => Error,
  variables: Record<string, string> = {},
): Promise<string> {
  const args = ['-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '--no-password'];
  for (const [name, value] of Object.entries(variables)) args.push('-v', `${name}=${value}`);
  // SIGINT makes psql cancel its query on the server: a session waiting for a lock ends with it.
  return runTool(pgTool('psql'), args, { env: connection.env, inherit: TOOL_FAMILY_VARIABLES.postgres, input: sql, onFailure, signal, installHint: INSTALL_HINT, stopSignal: 'SIGINT' });
}

function quoteConninfo(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function describeExit(exit: ToolExit): string {
  const how = exit.signal ? `killed by ${exit.signal}` : `exit ${exit.code}`;
  return exit.stderrTail ? `${how}: ${lastLine(exit)}` : how;
}

/** The most telling line of a tool's stderr: its last non-empty one, without the tool's name prefix. */
function lastLine(exit: ToolExit): string {
  const lines = exit.stderrTail.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines.findLast((l) => /error|fatal|failed|could not|unsupported/i.test(l)) ?? lines.at(-1) ?? `exit ${exit.code ?? exit.signal}`;
  return line.replace(/^(pg_dump|pg_restore|psql): /, '');
}

function preview(objects: readonly string[]): string {
  return objects.length <= 3 ? objects.join(', ') : `${objects.slice(0, 3).join(', ')}, …`;
}

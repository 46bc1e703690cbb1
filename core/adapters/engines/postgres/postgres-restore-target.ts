/**
 * What every PostgreSQL restore does before loading: check the target, refuse one that holds
 * what the restore would replace (unless forced), create the database or the schemas a
 * selective restore needs, and know how to remove them again if the restore aborts.
 */
import type { RestoreOptions, TargetState } from '../../../ports/database-engine.js';
import { ConfigError, RestoreFailedError, RunConflictError } from '../../../errors.js';
import type { ToolExit } from '../../process/child-process.js';
import { withDatabase, type PostgresConnection } from './postgres-connection.js';
import type { PostgresSource } from './postgres-descriptor.js';
import { lastLine, psql } from './postgres-psql.js';

export interface PreparedTarget {
  readonly connection: PostgresConnection;
  readonly selection: Selection;
  /** Objects already in the target that this restore replaces (non-empty only with `force`). */
  readonly collisions: readonly string[];
  /** Whether the database did not exist and this restore created it. */
  readonly createdDatabase: boolean;
  /**
   * Removes what preparing created: the database it created, else the schemas it made for a
   * selective restore (`DROP SCHEMA` without cascade: only right once they are empty again).
   * Idempotent.
   */
  undo(options?: { readonly schemas?: boolean }): Promise<void>;
}

/** Inspects, refuses or creates the target of a restore (`inspect` is the engine's `inspectTarget`). */
export async function prepareRestoreTarget(
  target: PostgresSource,
  options: RestoreOptions,
  inspect: (target: PostgresSource, signal?: AbortSignal) => Promise<TargetState>,
): Promise<PreparedTarget> {
  const connection = requireDatabase(target);
  const selection = restoreSelection(options);
  const state = await inspect(target, options.signal);
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
  return {
    connection,
    selection,
    collisions,
    createdDatabase: created,
    async undo({ schemas = true } = {}) {
      const cleanupFailed = (exit: ToolExit) => new RestoreFailedError(`cannot remove what the failed restore created in ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
      if (created) {
        created = false;
        await psql(maintenance(connection), 'DROP DATABASE IF EXISTS :"name";', undefined, cleanupFailed, { name: connection.database });
        return;
      }
      const made = createdSchemas.splice(0);
      if (schemas) for (const schema of made) await psql(connection, 'DROP SCHEMA IF EXISTS :"name";', undefined, cleanupFailed, { name: schema });
    },
  };
}

/** The selected tables (a JSON array of `[schema, name]` in `:'selected'`) that are partitioned and have no partition. */
const UNFILLED_PARTITIONED_SQL = `select n.nspname || '.' || c.relname from json_array_elements(:'selected'::json) s
  join pg_namespace n on n.nspname = s->>0 join pg_class c on c.relnamespace = n.oid and c.relname = s->>1
  where c.relkind = 'p' and not exists (select 1 from pg_inherits i where i.inhparent = c.oid);`;

/**
 * After a selective restore: pg_restore's `--table` restores a partitioned table without its
 * partitions (they are tables of their own in the archive, and the contents list names only the
 * parent), so its rows would be silently missing. Fails instead, dropping the database when this
 * restore created it, so the report never says restored for a table that came back empty.
 */
export async function refuseUnfilledPartitionedTables(prepared: PreparedTarget, signal?: AbortSignal): Promise<void> {
  const tables = prepared.selection.tables;
  if (!tables?.length) return;
  const selected = JSON.stringify(tables.map((t) => [t.schema, t.name]));
  const found = (await psql(prepared.connection, UNFILLED_PARTITIONED_SQL, signal, (exit) => new RestoreFailedError(`could not check the restored tables in ${prepared.connection.display}: ${lastLine(exit)}`, exit.stderrTail), { selected }))
    .split('\n')
    .filter(Boolean);
  if (found.length === 0) return;
  const created = prepared.createdDatabase;
  await prepared.undo({ schemas: false });
  const left = created ? 'the database it created is dropped' : `drop the empty ${preview(found)} from ${prepared.connection.display}`;
  throw new RestoreFailedError(
    `${preview(found)} is partitioned, and --tables restores no partition of it (its rows would be missing); ${left}. Restore its whole schema with --schemas ${tables[0]!.schema}, or everything, instead`,
    '',
  );
}

/**
 * What to do about a selective restore that failed on something missing. pg_restore's `--table`
 * brings no type, domain or function along (an enum column is enough to need one), and naming
 * more tables cannot add them; a missing table can be added to the selection.
 */
export function missingDependencyHint(selection: Selection, stderr: string): string {
  if (!selection.wanted || !/does not exist/.test(stderr)) return '';
  if (/\b(type|function|collation|operator|text search configuration) .* does not exist/.test(stderr)) {
    return ': --tables restores tables without the types, domains and functions they use; create those in the target first, or restore the whole schema (--schemas) into a scratch database';
  }
  return ': a selective restore needs what the selection references (add those tables, or restore into a database that has them)';
}

export function requireDatabase(target: PostgresSource): PostgresConnection {
  const connection = target.parts;
  if (!connection.env.PGDATABASE) throw new ConfigError('the restore target URL must name a database: postgres://user@host:port/<database>');
  return connection;
}

/** Where CREATE/DROP DATABASE run: the server's `postgres` database. */
export function maintenance(connection: PostgresConnection): PostgresConnection {
  return withDatabase(connection, 'postgres');
}

export interface Selection {
  /** pg_restore's arguments selecting what to restore (`--schema`, `--table`). */
  readonly args: string[];
  /** Schemas the selected objects live in: they must exist in the target before pg_restore runs. */
  readonly schemas: string[];
  /** The tables `--tables` selected (absent: no table selection). */
  readonly tables?: readonly { readonly schema: string; readonly name: string }[];
  /** Which `schema.name` objects the selection takes (absent: everything). */
  readonly wanted?: (object: string) => boolean;
}

/**
 * pg_restore's `-n`/`-t` filters combine as a cross product (every named table in every named
 * schema), so selective restore of `schema.table` names is exact only within one schema.
 * `-t` takes a name literally (no patterns), so tables come from the contents entries the
 * selection matched when the caller has them (`selectedTables`); the user's text is parsed only
 * without them, at its first dot.
 */
export function restoreSelection(options: RestoreOptions): Selection {
  const tables = options.tables ?? [];
  const schemas = [...(options.schemas ?? [])];
  if (tables.length === 0) {
    if (schemas.length === 0) return { args: [], schemas: [] };
    return { args: schemas.flatMap((s) => ['--schema', s]), schemas, wanted: (object) => schemas.includes(object.split('.')[0]!) };
  }
  const parsed = options.selectedTables?.length ? options.selectedTables.map((entry) => ({ schema: entry.schema ?? 'public', table: entry.name })) : tables.map(splitAtFirstDot);
  const tableSchemas = [...new Set(parsed.map((p) => p.schema).filter((s): s is string => s !== undefined))];
  if (tableSchemas.length > 1 || (tableSchemas.length === 1 && parsed.some((p) => p.schema === undefined))) {
    throw new ConfigError(`--tables names tables in several schemas (${tables.join(', ')}): pg_restore can select tables of one schema at a time; run one restore per schema`);
  }
  if (schemas.length > 0 && tableSchemas.length > 0 && !options.selectedTables?.length) throw new ConfigError('use either --schemas or schema-qualified --tables, not both');
  const schema = tableSchemas[0];
  const args = [...(schema ? ['--schema', schema] : []), ...parsed.flatMap((p) => ['--table', p.table])];
  const names = new Set(parsed.map((p) => p.table));
  if (options.selectedTables?.length) {
    const exact = new Set(parsed.map((p) => `${p.schema}.${p.table}`));
    return { args, schemas: [schema!], tables: parsed.map((p) => ({ schema: p.schema!, name: p.table })), wanted: (object) => exact.has(object) };
  }
  return {
    args,
    schemas: [schema ?? 'public'],
    tables: parsed.map((p) => ({ schema: p.schema ?? 'public', name: p.table })),
    wanted: (object) => names.has(object.slice(object.indexOf('.') + 1)) && (!schema || object.startsWith(`${schema}.`)),
  };
}

function splitAtFirstDot(name: string): { schema: string | undefined; table: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: undefined, table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

function preview(objects: readonly string[]): string {
  return objects.length <= 3 ? objects.join(', ') : `${objects.slice(0, 3).join(', ')}, …`;
}

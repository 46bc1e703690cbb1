import { RestoreFailedError, RunConflictError } from '../../../errors.js';
import type { ToolExit } from '../../process/child-process.js';
import { lastLine, queryJson } from './mysql-client.js';
import { withDatabase, type MysqlTarget } from './mysql-connection.js';
import { targetSql, type DatabaseObject } from './mysql-queries.js';

/** What a restore target holds: whether the database exists, the server version, its objects. */
export interface TargetDatabase {
  readonly exists: boolean;
  readonly version: string;
  readonly objects: DatabaseObject[];
}

export async function targetState(connection: MysqlTarget, signal?: AbortSignal): Promise<TargetDatabase> {
  const onFailure = (exit: ToolExit) => new RestoreFailedError(`cannot inspect restore target ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
  const rows = await queryJson<{ kind: string; name?: string; version?: string }>(withDatabase(connection, undefined), targetSql(connection.database), { signal, onFailure });
  return {
    exists: rows.some((row) => row.kind === 'database'),
    version: rows.find((row) => row.kind === 'server')?.version ?? '',
    objects: rows.filter((row) => row.name !== undefined).map((row) => ({ kind: row.kind as DatabaseObject['kind'], name: row.name! })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}

export function objectKey(object: DatabaseObject): string {
  // Tables, views and sequences share one namespace; routines and events have their own.
  const space = object.kind === 'table' || object.kind === 'view' || object.kind === 'sequence' ? 'relation' : object.kind;
  return `${space}:${object.name}`;
}

/** At most three names, for one-line messages. */
export function preview(names: readonly string[]): string {
  return names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')}, …`;
}

/**
 * Refuses (RunConflictError) a restore into a target that already holds what it would bring back —
 * everything, or the selected tables' relations — unless `force`. Returns those objects (what `force` replaces).
 */
export function refuseCollisions(connection: MysqlTarget, state: TargetDatabase, selection: ReadonlySet<string> | undefined, force: boolean | undefined): DatabaseObject[] {
  const isRelation = (object: DatabaseObject) => object.kind === 'table' || object.kind === 'view' || object.kind === 'sequence';
  const collisions = state.objects.filter((object) => !selection || (isRelation(object) && selection.has(object.name)));
  if (collisions.length > 0 && !force) {
    throw new RunConflictError(
      `restore target ${connection.display} already holds ${collisions.length} object(s) (${preview(collisions.map((o) => o.name))}): restore into a new or empty database, or pass --force to replace them`,
    );
  }
  return collisions;
}

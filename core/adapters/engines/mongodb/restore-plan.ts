import { ConfigError, RestoreFailedError } from '../../../errors.js';
import { isOplog, namespaceOf, type ArchivePrelude } from './mongo-archive.js';

/** What mongorestore is asked to do with an archive, decided from its prelude. */
export interface RestorePlan {
  /** mongorestore flags after `--config … --archive`. */
  readonly args: readonly string[];
  /** Source namespace → the namespace it is restored as. */
  readonly namespaces: ReadonlyMap<string, string>;
  /** The databases the restore writes into. */
  readonly databases: readonly string[];
  readonly oplogReplay: boolean;
}

export interface PlanRequest {
  /** The database to restore into (the target URL's), or undefined: every database under its own name. */
  readonly targetDatabase?: string;
  /** `--tables`: `coll`, `db.coll`, with `*` wildcards. */
  readonly tables?: readonly string[];
  /** The backed-up database (manifest), preferred when the archive holds several. */
  readonly sourceDatabase?: string;
  readonly force?: boolean;
}

const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/**
 * Decides mongorestore's flags from what the archive holds:
 * - into a named database: one source database (renamed with `--nsFrom/--nsTo` when the names
 *   differ), the oplog not replayed (its entries name the source's namespaces);
 * - into a whole instance (target URL without a database): every namespace under its own
 *   name, and `--oplogReplay` when the archive carries an oplog and nothing was selected.
 * A selection names exact namespaces (`--nsInclude`, escaped), matched the way the restore use
 * case matches `--tables`: `*` is any run of characters, against `coll` or `db.coll`.
 */
export function planRestore(prelude: ArchivePrelude, request: PlanRequest): RestorePlan {
  const patterns = (request.tables ?? []).map(namePattern);
  const all = prelude.namespaces.filter((ns) => !isOplog(ns));
  const selected = patterns.length === 0 ? all : all.filter((ns) => patterns.some((p) => p.test(ns.collection) || p.test(namespaceOf(ns.db, ns.collection))));
  const hasOplog = prelude.namespaces.some(isOplog);
  const common = ['--stopOnError', ...(request.force ? ['--drop'] : [])];

  if (request.targetDatabase === undefined) {
    const namespaces = new Map(selected.map((ns) => [namespaceOf(ns.db, ns.collection), namespaceOf(ns.db, ns.collection)]));
    const oplogReplay = hasOplog && patterns.length === 0;
    return {
      args: [...(patterns.length ? [...namespaces.keys()].flatMap((ns) => ['--nsInclude', escapeNamespace(ns)]) : []), ...(oplogReplay ? ['--oplogReplay'] : []), ...common],
      namespaces,
      databases: [...new Set(selected.map((ns) => ns.db))].sort(),
      oplogReplay,
    };
  }

  const target = request.targetDatabase;
  let databases = [...new Set(selected.map((ns) => ns.db))];
  // A whole-instance archive also carries admin (users, roles): restoring one database leaves it out.
  if (databases.length > 1) databases = databases.filter((db) => !SYSTEM_DATABASES.has(db));
  if (databases.length > 1 && request.sourceDatabase && databases.includes(request.sourceDatabase) && patterns.length === 0) databases = [request.sourceDatabase];
  if (databases.length === 0) throw new ConfigError('the backup holds nothing to restore for that selection');
  if (databases.length > 1) {
    throw new RestoreFailedError(
      `the backup holds several databases (${databases.join(', ')}): restore one at a time into a named database with --tables <database>.*, or restore them all into a target URL without a database`,
      '',
    );
  }
  const source = databases[0]!;
  const chosen = selected.filter((ns) => ns.db === source);
  const namespaces = new Map(chosen.map((ns) => [namespaceOf(ns.db, ns.collection), namespaceOf(target, ns.collection)]));
  const include = patterns.length ? [...namespaces.keys()].map(escapeNamespace) : [`${escapeNamespace(source)}.*`];
  const rename = source === target ? [] : ['--nsFrom', `${escapeNamespace(source)}.*`, '--nsTo', `${escapeNamespace(target)}.*`];
  return {
    args: [...include.flatMap((ns) => ['--nsInclude', ns]), ...rename, ...common],
    namespaces,
    databases: [target],
    oplogReplay: false,
  };
}

/** `name`, or a namespace pattern where `*` matches any run of characters (as the restore use case reads `--tables`). */
export function namePattern(name: string): RegExp {
  return new RegExp(`^${name.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** mongorestore's namespace syntax: `*` is a wildcard and `\` escapes. */
export function escapeNamespace(ns: string): string {
  return ns.replace(/\\/g, '\\\\').replace(/\*/g, '\\*');
}

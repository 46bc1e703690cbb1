import type { Writable } from 'node:stream';
import type { Db, MongoClient } from 'mongodb';
import type {
  ContentEntry,
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
import { DumpFailedError, IntegrityError, RestoreFailedError, RunConflictError, ToolMissingError } from '../../../errors.js';
import { toolInput, toolOutput, type ToolExit, type ToolProcess } from '../../process/child-process.js';
import { ArchiveSink, describeSummary, type ArchiveConsumer } from './archive-sink.js';
import { namespaceOf, type ArchiveSummary } from './mongo-archive.js';
import { collectionsOf, serverFacts, userDatabases, withClient, type ServerFacts } from './mongodb-client.js';
import type { MongoConnection } from './mongodb-connection.js';
import { describeToolExit, INSTALL_HINT, mongoToolVersion, spawnMongoTool } from './mongo-tools.js';
import { namePattern, planRestore, type RestorePlan } from './restore-plan.js';
import { mongodbDescriptor, type MongoSource } from './mongodb-descriptor.js';
import { dumpMongoStreams, openMongoStreamsRestore } from './mongodb-streams.js';
import type { SnapshotStream } from '../../../domain/snapshot-format.js';
import { MongodbLogArchiver } from './mongodb-log-archiver.js';
import { OplogBasePosition } from './oplog-base-position.js';

/** Extra, MongoDB-only options of a validation: with a target, `mongorestore --dryRun` checks it too. */
/** With a dry run's `target`, mongorestore connects, reads the prelude and plans the restore, writing nothing. */
export type MongoValidationOptions = Omit<ValidationOptions, 'target'> & { readonly target?: MongoSource };

/**
 * MongoDB (and servers that speak its protocol) through the official Database Tools.
 *
 * Backups are `mongodump --archive` on stdout: every collection of the URL's database, or of
 * the whole instance when the URL names none (then with `--oplog` on a replica set, which
 * mongodump allows only for whole-instance dumps). Without `--oplog` each collection is read
 * at its own moment: there is no point-in-time snapshot across collections, and the manifest
 * says so. Restores are `mongorestore --archive` from stdin, which is not transactional: on
 * failure the restore drops what it created (the whole database when the target was empty).
 *
 * Credentials reach the tools in a 0600 config file (`--config`), never argv (`--uri` would
 * expose the password in /proc). The archive is checked without a server while it streams
 * (magic number, prelude, BSON structure of every document, every namespace's CRC and end
 * marker) by verify and by every restore, before mongorestore sees the bytes.
 *
 * Point-in-time recovery (`logs`, mongodb-log-archiver.ts) needs a replica set: a dump of one
 * records where it sits in the oplog (`dump.details`, oplog-base-position.ts), log pushes
 * archive `local.oplog.rs`, and a restore replays them with `mongorestore --oplogReplay`.
 */
export class MongodbEngine implements DatabaseEngine<MongoSource> {
  readonly id = 'mongodb' as const;
  readonly descriptor = mongodbDescriptor;
  /** `describe` learns whether the source is a replica set; `dump` decides `--oplog` from it. */
  /** What describe learned of a source's server, for the dump of that same (parsed) source that follows. */
  private readonly facts = new WeakMap<MongoSource, ServerFacts>();
  /** Point-in-time recovery: the oplog of a replica set, archived and replayed. */
  readonly logs = new MongodbLogArchiver();

  parse(url: string): MongoSource {
    return mongodbDescriptor.parse(url);
  }

  nameOf(source: MongoSource): string {
    const connection = source.parts;
    return connection.database ?? connection.hosts.split(',')[0]!.replace(/:\d+$/, '');
  }

  async describe(source: MongoSource, signal?: AbortSignal): Promise<SourceDescription> {
    const connection = source.parts;
    const fail = (reason: string) => new DumpFailedError(`cannot read MongoDB ${connection.display}: ${reason}`, '');
    const described = await withClient(
      connection,
      async (client) => {
        // One round trip at a time made describe the slowest step before mongodump starts:
        // the server facts, the database list and every count go out together instead.
        const [facts, databases] = await Promise.all([serverFacts(client), connection.database ? [connection.database] : userDatabases(client)]);
        const contents = (await Promise.all(databases.map((name) => contentsOf(client, name)))).flat();
        return { facts, contents };
      },
      fail,
      signal,
    );
    if (connection.database && described.contents.length === 0) {
      // MongoDB has no empty databases: a misspelt name would back up nothing, every night.
      throw fail(`database ${connection.database} holds no collections (MongoDB databases exist only while they hold one): check the name`);
    }
    this.facts.set(source, described.facts);
    return { engine: 'mongodb', database: connection.database ?? '', serverVersion: described.facts.version, contents: described.contents };
  }

  async dump(source: MongoSource, options: { signal?: AbortSignal; directTo?: Writable } = {}): Promise<DumpOutput> {
    const connection = source.parts;
    const facts =
      this.facts.get(source) ??
      (await withClient(connection, serverFacts, (reason) => new DumpFailedError(`cannot read MongoDB ${connection.display}: ${reason}`, ''), options.signal));
    // mongodump takes --oplog only for whole-instance dumps, and only a replica set has an oplog.
    const oplog = connection.database === undefined && facts.replicaSet !== undefined;
    const args = ['--archive', ...(connection.database ? ['--db', connection.database] : []), ...(oplog ? ['--oplog'] : [])];
    // On a replica set the dump records where it sits in the oplog: a base for point-in-time recovery.
    const position = facts.replicaSet !== undefined ? new OplogBasePosition(connection) : undefined;
    await position?.markStart(options.signal);
    const [version, tool] = await Promise.all([mongoToolVersion('mongodump'), spawnMongoTool('mongodump', connection, args, { stdout: options.directTo ?? 'pipe' })]);
    const details: Record<string, string> = {
      oplog: String(oplog),
      scope: connection.database ? 'database' : 'instance',
      ...(facts.replicaSet !== undefined ? { replicaSet: facts.replicaSet } : {}),
    };
    const warnings: string[] = [];
    // The stream ends only once the end position is in `details` (the use case reads them after the end).
    const positionRead = position
      ? tool.exited.then(async (exit) => {
          if (exit.code !== 0) return undefined;
          const finished = await position.finish(options.signal);
          Object.assign(details, finished.details);
          warnings.push(...finished.warnings);
          return undefined;
        })
      : undefined;
    return {
      stream: toolOutput(tool, (exit) => new DumpFailedError(`mongodump of ${connection.display} failed (${describeToolExit(exit)})`, exit.stderrTail), positionRead),
      direct: options.directTo !== undefined,
      ...(tool.child.pid !== undefined ? { pid: tool.child.pid } : {}),
      tool: { name: 'mongodump', version: version ?? 'unknown' },
      format: 'mongodump-archive',
      consistency: consistencyOf(connection, facts, oplog),
      details,
      ...(position ? { warnings } : {}),
    };
  }

  async inspectTarget(target: MongoSource, signal?: AbortSignal): Promise<TargetState> {
    const connection = target.parts;
    const objects = await existingNamespaces(connection, signal);
    return { exists: connection.database === undefined || objects.length > 0, objects };
  }

  async openRestore(target: MongoSource, options: RestoreOptions): Promise<RestoreSink> {
    const connection = target.parts;
    if (!(await mongoToolVersion('mongorestore'))) throw new ToolMissingError('mongorestore', INSTALL_HINT);
    const before = await existingNamespaces(connection, options.signal);
    const existing = new Set(before);
    // Early refusal; the exact check follows once the archive says what it holds.
    if (connection.database !== undefined && !options.force) {
      const patterns = (options.tables ?? []).map(namePattern);
      const collection = (ns: string) => ns.slice(ns.indexOf('.') + 1);
      const collisions = patterns.length === 0 ? before : before.filter((ns) => patterns.some((p) => p.test(collection(ns)) || (options.sourceDatabase ? p.test(`${options.sourceDatabase}.${collection(ns)}`) : false)));
      if (collisions.length > 0) throw refusal(connection, collisions);
    }

    let plan: RestorePlan | undefined;
    let tool: ToolProcess | undefined;
    let replaces: string[] = [];
    const failed = (exit: ToolExit) => {
      const kept = replaces.length > 0 ? `; the ${replaces.length} collection(s) it was replacing (--force) may be left partly restored` : '';
      return new RestoreFailedError(`mongorestore into ${connection.display} failed (${describeToolExit(exit)}); mongorestore is not transactional: what it created is removed${kept}`, exit.stderrTail);
    };
    const sink = new ArchiveSink(async (prelude) => {
      plan = planRestore(prelude, { targetDatabase: connection.database, tables: options.tables, sourceDatabase: options.sourceDatabase, force: options.force });
      const collisions = [...plan.namespaces.values()].filter((ns) => existing.has(ns)).sort();
      if (collisions.length > 0 && !options.force) throw refusal(connection, collisions);
      replaces = collisions;
      tool = await spawnMongoTool('mongorestore', connection, ['--archive', ...plan.args], { stdin: 'pipe', stdout: 'ignore' });
      return consumerOf(tool, failed);
    });

    return {
      stream: sink,
      get replaces() {
        return replaces;
      },
      async commit() {
        if (!tool || !plan) throw new RestoreFailedError(`the restore into ${connection.display} never started: the archive ended before its prelude`, '');
        const exit = await tool.exited;
        if (exit.code !== 0) throw failed(exit);
        checkRestoredCount(exit, plan, sink.summary, connection);
      },
      async abort() {
        if (tool) {
          tool.kill();
          await tool.exited;
        }
        // Nothing to undo unless mongorestore ran.
        if (tool && plan) await removeCreated(connection, plan, existing);
      },
    };
  }

  /** One archive per collection for chunked snapshots (`mongo-streams/v1`, see mongodb-streams.ts); `jobs` is the caller's to use. */
  dumpStreams(source: MongoSource, options: { readonly jobs: number; readonly signal?: AbortSignal }): Promise<StreamedDump> {
    return dumpMongoStreams(source.parts, options);
  }

  /** Restores a `mongo-streams/v1` snapshot: each collection through this engine's ordinary restore of that one namespace. */
  async openStreamsRestore(target: MongoSource, streams: readonly SnapshotStream[], options: RestoreOptions & { readonly format: string }): Promise<StreamedRestoreSink> {
    const existing = await existingNamespaces(target.parts, options.signal);
    return openMongoStreamsRestore(target.parts, streams, options, existing, (one) => this.openRestore(target, one));
  }

  async openValidation(options: MongoValidationOptions = {}): Promise<ValidationSink> {
    const target = options.target?.parts;
    let dryRun: ToolProcess | undefined;
    const sink = new ArchiveSink(
      target &&
        (async (prelude) => {
          const plan = planRestore(prelude, { targetDatabase: target.database, tables: options.tables, sourceDatabase: options.sourceDatabase, force: options.force });
          dryRun = await spawnMongoTool('mongorestore', target, ['--archive', '--dryRun', ...plan.args], { stdin: 'pipe', stdout: 'ignore' });
          return consumerOf(dryRun, (exit) => new RestoreFailedError(`mongorestore --dryRun against ${target.display} failed (${describeToolExit(exit)})`, exit.stderrTail));
        }),
    );
    return {
      stream: sink,
      async result() {
        const summary = sink.summary;
        if (!summary) throw new IntegrityError('the MongoDB archive was not read to its end');
        checkContents(summary, options);
        return `${describeSummary(summary)}${dryRun && target ? `; mongorestore --dryRun accepted it for ${target.display}` : ''}`;
      },
      async abort() {
        sink.destroy();
        if (dryRun) {
          dryRun.kill();
          await dryRun.exited;
        }
      },
    };
  }
}

async function contentsOf(client: MongoClient, database: string): Promise<ContentEntry[]> {
  const db = client.db(database);
  // The counts run side by side over the driver's pool.
  return Promise.all(
    (await collectionsOf(db)).map(async (collection): Promise<ContentEntry> => {
      if (collection.type === 'view') return { kind: 'view', schema: database, name: collection.name };
      const rows = await documentCount(db, collection.name);
      return { kind: 'collection', schema: database, name: collection.name, rows, rowsExact: false };
    }),
  );
}

/**
 * A collection's document count from its metadata: `$collStats` (one document per shard, so
 * summed). MongoDB answers `estimatedDocumentCount` from metadata too, but FerretDB reads
 * every document for it (4.3 s before mongodump started, on a 17 MB database), and answers
 * `$collStats` from its storage statistics. A server that has no `$collStats` count (or
 * refuses it to this user) is asked `estimatedDocumentCount` instead, whose error, if any,
 * is the one reported.
 */
async function documentCount(db: Db, collection: string): Promise<number> {
  const stats = await db
    .collection(collection)
    .aggregate<{ count?: unknown }>([{ $collStats: { count: {} } }])
    .toArray()
    .catch((): { count?: unknown }[] => []);
  const counts = stats.map((shard) => shard.count);
  if (counts.length > 0 && counts.every((count): count is number => typeof count === 'number')) return counts.reduce((sum, count) => sum + count, 0);
  return db.collection(collection).estimatedDocumentCount();
}

/** `db.collection` of every collection and view in the target database (or, without one, the instance). */
async function existingNamespaces(connection: MongoConnection, signal?: AbortSignal): Promise<string[]> {
  return withClient(
    connection,
    async (client) => {
      const databases = connection.database ? [connection.database] : await userDatabases(client);
      const names: string[] = [];
      for (const database of databases) for (const c of await collectionsOf(client.db(database))) names.push(namespaceOf(database, c.name));
      return names;
    },
    (reason) => new RestoreFailedError(`cannot inspect restore target ${connection.display}: ${reason}`, ''),
    signal,
  );
}

/** Never dropped whole, whatever a failed restore did there. */
const SYSTEM_DATABASES = new Set(['admin', 'local', 'config']);

/**
 * After a failed restore: drop what it created; a database that held nothing before is dropped
 * whole. A killed mongorestore may leave an insert in flight that the server completes after
 * the drop (re-creating the collection), so the drop is checked again a few times.
 */
async function removeCreated(connection: MongoConnection, plan: RestorePlan, existing: ReadonlySet<string>): Promise<void> {
  await withClient(
    connection,
    async (client) => {
      for (let round = 0; round < 4; round++) {
        if (round > 0) await new Promise((resolve) => setTimeout(resolve, 150 * round));
        let dropped = 0;
        for (const database of plan.databases) {
          const db = client.db(database);
          const present = (await collectionsOf(db)).map((c) => namespaceOf(database, c.name));
          const created = present.filter((ns) => !existing.has(ns) && (plan.namespaces.size === 0 || [...plan.namespaces.values()].includes(ns)));
          if (created.length === 0) continue;
          dropped += created.length;
          const hadNothing = !SYSTEM_DATABASES.has(database) && ![...existing].some((ns) => ns.startsWith(`${database}.`));
          if (hadNothing) await db.dropDatabase();
          else for (const ns of created) await db.collection(ns.slice(database.length + 1)).drop();
        }
        if (dropped === 0 && round > 0) return;
      }
    },
    (reason) => new RestoreFailedError(`cannot remove what the failed restore created in ${connection.display}: ${reason}`, ''),
  );
}

/** The tool's stdin as the archive's consumer; a failed write is explained by the tool's exit. */
function consumerOf(tool: ToolProcess, onFailure: (exit: ToolExit) => Error): ArchiveConsumer {
  return {
    stream: toolInput(tool, onFailure),
    async explain(cause) {
      const exit = await tool.exited;
      return exit.code !== 0 ? onFailure(exit) : cause;
    },
  };
}

/**
 * mongorestore ends with "N document(s) restored successfully. M document(s) failed to
 * restore.": no failures, and at least the documents the archive held for what was restored
 * (system collections such as `system.views` aside: mongorestore treats them apart).
 */
function checkRestoredCount(exit: ToolExit, plan: RestorePlan, summary: ArchiveSummary | undefined, connection: MongoConnection): void {
  const match = /(\d+) document\(s\) restored successfully\. (\d+) document\(s\) failed to restore/.exec(exit.stderrTail);
  if (!match || !summary || plan.oplogReplay) return;
  const restored = Number(match[1]);
  const failed = Number(match[2]);
  let expected = 0;
  for (const source of plan.namespaces.keys()) if (!source.slice(source.indexOf('.') + 1).startsWith('system.')) expected += summary.documents.get(source) ?? 0;
  if (failed > 0 || restored < expected) {
    throw new RestoreFailedError(`mongorestore into ${connection.display} restored ${restored} of ${expected} document(s) (${failed} failed)`, exit.stderrTail);
  }
}

/** Every collection the manifest lists must be in the archive (a view needs only its metadata). */
function checkContents(summary: ArchiveSummary, options: ValidationOptions): void {
  const inArchive = new Set(summary.prelude.namespaces.map((ns) => namespaceOf(ns.db, ns.collection)));
  const missing = (options.contents ?? [])
    .filter((entry) => entry.kind === 'collection' || entry.kind === 'view')
    .map((entry) => namespaceOf(entry.schema ?? options.sourceDatabase ?? '', entry.name))
    .filter((ns) => !inArchive.has(ns));
  if (missing.length > 0) {
    throw new IntegrityError(`the MongoDB archive lacks ${missing.length} collection(s) its manifest lists (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''})`);
  }
}

function refusal(connection: MongoConnection, collisions: readonly string[]): RunConflictError {
  const shown = collisions.length <= 3 ? collisions.join(', ') : `${collisions.slice(0, 3).join(', ')}, …`;
  return new RunConflictError(
    `restore target ${connection.display} already holds ${collisions.length} collection(s) (${shown}): restore into a new or empty database, or pass --force to replace them`,
  );
}

function consistencyOf(connection: MongoConnection, facts: ServerFacts, oplog: boolean): string {
  if (oplog) return 'mongodump --oplog: the whole instance as of the end of the dump (the oplog written during the dump is in the archive; a whole-instance restore replays it)';
  const why = facts.replicaSet === undefined ? 'a standalone server has no oplog' : 'mongodump takes --oplog only for whole-instance dumps';
  return `mongodump without --oplog (${why}): each collection is read at its own moment, no point-in-time snapshot across collections${connection.database ? '' : ' or databases'}`;
}

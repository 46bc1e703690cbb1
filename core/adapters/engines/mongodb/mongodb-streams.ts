import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { RestoreOptions, RestoreSink, StreamedDump, StreamedRestoreSink } from '../../../ports/database-engine.js';
import type { SnapshotStream } from '../../../domain/snapshot-format.js';
import { DumpFailedError, IntegrityError, RunConflictError } from '../../../errors.js';
import { toolOutput, type ToolProcess } from '../../process/child-process.js';
import { namespaceOf } from './mongo-archive.js';
import { collectionsOf, userDatabases, withClient } from './mongodb-client.js';
import type { MongoConnection } from './mongodb-connection.js';
import { describeToolExit, mongoToolVersion, spawnMongoTool } from './mongo-tools.js';
import { namePattern } from './restore-plan.js';
import { inParallel } from '../../../pipeline/in-parallel.js';

/** Saved in the manifest: one `mongodump --archive` per collection, streams named `collection/<db>.<collection>`. */
export const MONGO_STREAMS_FORMAT = 'mongo-streams/v1';
const ROLE = 'collection';
const PREFIX = 'collection/';

/**
 * A streamed dump of a MongoDB database (or, for a URL without one, of every user database):
 * one `mongodump --archive --db <db> --collection <c>` per collection, each an archive of its
 * own (prelude with the collection's options and indexes, then its documents in natural order),
 * so an unchanged collection gives the same bytes and dedups whole. Natural order keeps documents
 * nobody touched where they were; where an updated document goes depends on the server (MongoDB's
 * WiredTiger keeps it in place; FerretDB on SQLite moves it to the end, so the bytes after it shift).
 *
 * Consistency, honestly: each collection is read at its own moment, as by `mongodump` without
 * `--oplog`; there is no snapshot across collections (mongodump cannot read at one
 * `atClusterTime`). Views are not in it: a warning says so.
 */
export async function dumpMongoStreams(connection: MongoConnection, options: { readonly signal?: AbortSignal }): Promise<StreamedDump> {
  const fail = (reason: string) => new DumpFailedError(`cannot read MongoDB ${connection.display}: ${reason}`, '');
  const listed = await withClient(
    connection,
    async (client) => {
      const databases = connection.database ? [connection.database] : await userDatabases(client);
      const all = await Promise.all(databases.map(async (db) => (await collectionsOf(client.db(db))).map((c) => ({ db, name: c.name, type: c.type }))));
      return all.flat();
    },
    fail,
    options.signal,
  );
  const collections = listed.filter((c) => c.type !== 'view' && !c.name.startsWith('system.')).sort((a, b) => compare(namespaceOf(a.db, a.name), namespaceOf(b.db, b.name)));
  const views = listed.filter((c) => c.type === 'view').map((c) => namespaceOf(c.db, c.name));
  if (connection.database && collections.length === 0) throw fail(`database ${connection.database} holds no collections (MongoDB databases exist only while they hold one): check the name`);
  const version = await mongoToolVersion('mongodump');
  const byName = new Map(collections.map((c) => [`${PREFIX}${namespaceOf(c.db, c.name)}`, c]));
  const running = new Set<ToolProcess>();

  return {
    tool: { name: 'mongodump', version: version ?? 'unknown' },
    format: MONGO_STREAMS_FORMAT,
    consistency: 'one mongodump per collection, without --oplog: each collection is read at its own moment, no point-in-time snapshot across collections',
    streams: [...byName.keys()].map((name) => ({ name, role: ROLE })),
    async open(stream: SnapshotStream, signal?: AbortSignal): Promise<Readable> {
      const collection = byName.get(stream.name);
      if (!collection) throw new DumpFailedError(`no stream named ${stream.name} in this dump of ${connection.display}`, '');
      const tool = await spawnMongoTool('mongodump', connection, ['--archive', '--db', collection.db, '--collection', collection.name], { stdout: 'pipe' });
      running.add(tool);
      void tool.exited.then(() => running.delete(tool));
      const output = toolOutput(tool, (exit) => new DumpFailedError(`mongodump of ${namespaceOf(collection.db, collection.name)} from ${connection.display} failed (${describeToolExit(exit)})`, exit.stderrTail));
      if (signal) {
        const stop = () => output.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        if (signal.aborted) stop();
        else signal.addEventListener('abort', stop, { once: true });
      }
      return output;
    },
    async finish() {
      return {
        details: { scope: connection.database ? 'database' : 'instance', collections: String(collections.length) },
        warnings: views.length > 0 ? [`views are not in a streamed MongoDB dump (${views.slice(0, 3).join(', ')}${views.length > 3 ? ', …' : ''}): re-create them after a restore, or back this source up as a single stream`] : [],
      };
    },
    async abort() {
      await Promise.all([...running].map(async (tool) => (tool.kill(), tool.exited)));
    },
  };
}

/**
 * Restores a `mongo-streams/v1` dump: one `mongorestore --archive` per selected collection, up
 * to `jobs` at once, each through the engine's ordinary restore of that one namespace (`openOne`:
 * renaming into the target database, `--drop` with force, its document-count check). Refuses a
 * target holding any of the collections before anything is loaded, unless `force`.
 * mongorestore is not transactional: a failure (or `abort()`) removes what each restore created.
 */
export async function openMongoStreamsRestore(
  target: MongoConnection,
  streams: readonly SnapshotStream[],
  options: RestoreOptions & { readonly format: string },
  existing: readonly string[],
  openOne: (options: RestoreOptions) => Promise<RestoreSink>,
): Promise<StreamedRestoreSink> {
  if (options.format !== MONGO_STREAMS_FORMAT) throw new IntegrityError(`this backup's streams are in format ${options.format}, not ${MONGO_STREAMS_FORMAT}: restore it with a Vaultra that knows that format`);
  const patterns = (options.tables ?? []).map(namePattern);
  const chosen = streams
    .filter((stream) => stream.role === ROLE && stream.name.startsWith(PREFIX))
    .map((stream) => ({ stream, ns: stream.name.slice(PREFIX.length) }))
    .filter(({ ns }) => patterns.length === 0 || patterns.some((p) => p.test(ns) || p.test(ns.slice(ns.indexOf('.') + 1))));
  if (chosen.length === 0) throw new IntegrityError(`the snapshot holds no collection${patterns.length ? ' matching that selection' : ''} to restore`);
  const targetNs = (ns: string) => (target.database ? namespaceOf(target.database, ns.slice(ns.indexOf('.') + 1)) : ns);
  const present = new Set(existing);
  const collisions = chosen.map(({ ns }) => targetNs(ns)).filter((ns) => present.has(ns));
  if (collisions.length > 0 && !options.force) {
    throw new RunConflictError(
      `restore target ${target.display} already holds ${collisions.length} collection(s) (${collisions.slice(0, 3).join(', ')}${collisions.length > 3 ? ', …' : ''}): restore into a new or empty database, or pass --force to replace them`,
    );
  }

  const sinks: RestoreSink[] = [];
  let loaded: Promise<void> | undefined;
  const abortAll = async () => {
    for (const sink of sinks.splice(0).reverse()) await sink.abort().catch(() => undefined);
  };
  return {
    replaces: collisions,
    load(open, { jobs, signal }) {
      loaded ??= inParallel(chosen, Math.max(1, Math.floor(jobs)), async ({ stream, ns }) => {
        const db = ns.slice(0, ns.indexOf('.'));
        const sink = await openOne({ ...options, tables: [ns], sourceDatabase: db, signal });
        sinks.push(sink);
        await pipeline(open(stream), sink.stream, { signal });
        await sink.commit();
      });
      return loaded;
    },
    async commit() {
      if (!loaded) throw new IntegrityError(`nothing was loaded into ${target.display}: load() comes before commit()`);
      try {
        await loaded;
      } catch (error) {
        await abortAll();
        throw error;
      }
    },
    abort: abortAll,
  };
}


function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

import type { Readable, Writable } from 'node:stream';
import type { ContentKind, EngineId } from '../domain/engine-vocabulary.js';
import type { EngineDescriptor } from './engine-descriptor.js';
import type { SnapshotStream } from '../domain/snapshot-format.js';
import type { LogArchiver } from './log-archiver.js';

// The saved vocabulary (domain); each engine descriptor says which of it the engine uses.
export type { ContentKind, EngineId };

/** One table (or view, collection, top-level path…) of a backup's contents list. */
export interface ContentEntry {
  readonly kind: ContentKind;
  /** PostgreSQL schema; MongoDB database (the collection is `name`). */
  readonly schema?: string;
  readonly name: string;
  /** Row (or document) count; `rowsExact` says whether it was counted or estimated (e.g. from planner statistics). */
  readonly rows?: number;
  readonly rowsExact?: boolean;
  /** Directories: bytes and regular files beneath this entry. */
  readonly bytes?: number;
  readonly files?: number;
}

export interface ToolVersion {
  readonly name: string;
  readonly version: string;
}

/** What an engine learns about a source before dumping it; it goes into the manifest. */
export interface SourceDescription {
  readonly engine: EngineId;
  /** Database name or file name, never credentials. */
  readonly database: string;
  readonly serverVersion: string;
  readonly contents: readonly ContentEntry[];
}

export interface DumpOutput {
  /**
   * The dump, as bytes. It ends only after the tool exited successfully; if the tool fails or
   * dies, it errors with `DumpFailedError` (stderr tail redacted). Destroying it kills the tool.
   * When `direct` is true the tool wrote into the pipe it was given instead, and this stream
   * carries no data: it only ends, or fails, with the tool.
   */
  readonly stream: Readable;
  readonly direct: boolean;
  /** The dump tool's process id, when there is one (progress: bytes written so far). */
  readonly pid?: number;
  readonly tool: ToolVersion;
  /** Saved in the manifest, e.g. `pg_dump-custom`, `sqlite-file`. */
  readonly format: string;
  /** How consistency was obtained, for the manifest (e.g. "single transaction snapshot"). */
  readonly consistency: string;
  /**
   * Engine-specific facts a restore or an operator needs, saved as the manifest's
   * `dump.details` (e.g. MySQL `gtidPurged`, MongoDB `oplog`). Never credentials.
   * Read once the dump has ended: an engine may learn some only from the tool's exit.
   */
  readonly details?: Readonly<Record<string, string>>;
  /** What an operator should hear about a dump that still succeeded (e.g. files that changed while read). Read once the dump has ended. */
  readonly warnings?: readonly string[];
}

export interface RestoreOptions {
  /**
   * Restore only these tables: PostgreSQL `schema.table` or `table`; MySQL and SQLite `table`;
   * MongoDB `db.collection` namespaces (wildcards `*` allowed).
   */
  readonly tables?: readonly string[];
  /**
   * The backup's contents entries that `tables` matched, wildcards resolved (the restore use case
   * sets it from the manifest). PostgreSQL selects by these: a schema or table name may itself
   * hold a dot, so `tables`' `schema.table` text alone cannot say where one ends.
   */
  readonly selectedTables?: readonly ContentEntry[];
  /** PostgreSQL only: restore only these schemas. */
  readonly schemas?: readonly string[];
  /** Directories only: restore only these paths (relative to the backed-up directory). */
  readonly paths?: readonly string[];
  /** The backed-up database's name (from the manifest), for engines that rename on restore (MongoDB `--nsFrom/--nsTo`). */
  readonly sourceDatabase?: string;
  /** Allow restoring into a target that already holds data; what it holds may be replaced. */
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * The tables a restore selects, by name: the contents entries `tables` matched when the caller
 * resolved them (wildcards expanded), else `tables` as given; undefined when nothing is selected.
 */
export function selectedTableNames(options: Pick<RestoreOptions | ValidationOptions, 'tables' | 'selectedTables'>): readonly string[] | undefined {
  if (!options.tables?.length) return undefined;
  return options.selectedTables?.length ? options.selectedTables.map((entry) => entry.name) : options.tables;
}

export interface TargetState {
  readonly exists: boolean;
  /** Objects already in the target that a restore would collide with, e.g. `public.users`. */
  readonly objects: readonly string[];
}

/**
 * Where a restore's plaintext goes. The stream is fed everything; the target changes only when
 * `commit()` succeeds. After `abort()` the target is as it was (a database created for the
 * restore is dropped, a temp file removed, a transaction rolled back).
 */
export interface RestoreSink {
  readonly stream: Writable;
  /** Objects already in the target that this restore replaces (only ever non-empty with `force`). */
  readonly replaces: readonly string[];
  /**
   * What the restore changed on the way in that an operator must hear about, one line each
   * (a directory restore leaving out device nodes or setuid bits). Complete once `commit()` resolved.
   */
  readonly notes?: readonly string[];
  /**
   * Present when the restore tool's stdin can take a decompressor's output directly (only sinks
   * whose `commit()` is the only step that changes the target: checks that end after the last
   * byte — the plaintext size — must still be able to abort). `pipe` is the tool's stdin, for
   * the decompressing process to take as its stdout; `handedOver()` releases this process's
   * copy (so the tool sees the end when the decompressor exits) and settles with the tool's
   * exit: its own error when it failed. `stream` is then not written.
   */
  readonly direct?: { readonly pipe: Writable; handedOver(): Promise<void> };
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** A structural check of a dump: consumes the whole stream, never touches a database. */
export interface ValidationSink {
  readonly stream: Writable;
  /** Resolves with a short description (e.g. "pg_restore read 42 TOC entries") or rejects with `IntegrityError`. */
  result(): Promise<string>;
  abort(): Promise<void>;
}

export interface ValidationOptions {
  readonly signal?: AbortSignal;
  /** The contents list from the manifest: a validator may check that every entry is present. */
  readonly contents?: readonly ContentEntry[];
  /** The backed-up database's name (from the manifest). */
  readonly sourceDatabase?: string;
  /** The manifest's `dump.details` (e.g. top-level entries a directory backup saw vanish). */
  readonly details?: Readonly<Record<string, string>>;
  /**
   * A dry run's restore target and selection: an engine whose restore tool has a dry-run mode
   * (`mongorestore --dryRun`) may also check the connection and the plan against it, writing nothing.
   */
  readonly target?: Connection;
  readonly tables?: readonly string[];
  /** As `RestoreOptions.selectedTables`: the contents entries `tables` matched. */
  readonly selectedTables?: readonly ContentEntry[];
  readonly force?: boolean;
}

/**
 * A source or restore target URL parsed once by its engine (`DatabaseEngine.parse`). It may carry
 * a password from a resolved secret, so it never prints one: `toString()`, `describe()` and
 * `JSON.stringify` give host, port and database (or the path), without user name or password.
 */
export interface Connection {
  readonly engine: EngineId;
  /** host:port/database or the path: safe for logs, errors and manifests. */
  describe(): string;
  toString(): string;
}

/**
 * A dump as several named streams, all from one consistent snapshot of the source (chunked
 * snapshots, docs/chunked-snapshots.md): PostgreSQL's schema before the data, each table's rows
 * ordered by primary key, the schema after; MariaDB's tables; MongoDB's collections. A stream's
 * bytes must be stable across runs for unchanged data: that is what deduplicates.
 */
export interface StreamedDump {
  readonly tool: ToolVersion;
  /** Saved in the manifest, e.g. `pg-streams/v1`. */
  readonly format: string;
  readonly consistency: string;
  /** Every stream, in the order a restore needs them; names unique. */
  readonly streams: readonly SnapshotStream[];
  /**
   * Starts producing one stream (the caller opens several at once, up to its `jobs`). The stream
   * ends only after its producer succeeded, errors with `DumpFailedError` otherwise; destroying
   * it stops the producer.
   */
  open(stream: SnapshotStream, signal?: AbortSignal): Promise<Readable>;
  /** After every stream ended: releases the snapshot. Facts for the manifest's `dump.details`, and warnings. */
  finish(): Promise<{ readonly details?: Readonly<Record<string, string>>; readonly warnings?: readonly string[] }>;
  /** On failure: stops every producer and releases the snapshot. Never rejects. */
  abort(): Promise<void>;
}

/** A restore from a streamed dump: the engine reads the streams it needs, in its order. */
export interface StreamedRestoreSink {
  /** Objects already in the target that this restore replaces (only ever non-empty with `force`). */
  readonly replaces: readonly string[];
  readonly notes?: readonly string[];
  /**
   * Loads the target. `open` gives a stream's bytes (each stream opened at most once); the engine
   * opens only the streams a selection needs, up to `jobs` at once (schema first, tables in
   * parallel, indexes and constraints after). Rejects on the first failure.
   */
  load(open: (stream: SnapshotStream) => Readable, options: { readonly jobs: number; readonly signal?: AbortSignal }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** `C` is the engine's own connection type: its methods take only what its `parse` returned. */
export interface DatabaseEngine<C extends Connection = Connection> {
  readonly id: EngineId;
  /** What the engine is: schemes, tools (for `doctor`), content kinds, capabilities. */
  readonly descriptor: EngineDescriptor<EngineId, ContentKind>;
  /**
   * Parses a source or restore target URL, without connecting. Throws `ConfigError` (one line
   * saying what is wrong, never quoting a password) for a URL this engine cannot use.
   */
  parse(url: string): C;
  /** A short name for a source (database or directory name, no credentials), for default job names. */
  nameOf(source: C): string;
  /** Connects, reads the server version and the contents list. Fails fast when unreachable. */
  describe(source: C, signal?: AbortSignal): Promise<SourceDescription>;
  /**
   * Starts a consistent dump of the source. An engine whose dump is a tool's stdout may write
   * it straight into `directTo` (another process's stdin pipe) and say so with `direct: true`;
   * otherwise it ignores `directTo`.
   */
  dump(source: C, options?: { signal?: AbortSignal; directTo?: Writable }): Promise<DumpOutput>;
  /** What a restore into `target` would collide with; writes nothing. */
  inspectTarget(target: C, signal?: AbortSignal): Promise<TargetState>;
  /** Prepares a restore; refuses (RunConflictError) a non-empty target unless `force`. */
  openRestore(target: C, options: RestoreOptions): Promise<RestoreSink>;
  /** A structural check of a whole dump that touches no database (used by verify and dry-run restores). */
  openValidation(options?: ValidationOptions): Promise<ValidationSink>;
  /**
   * Engines that can dump as separate, dedup-friendly streams (chunked snapshots). Without it, a
   * chunked snapshot holds the engine's ordinary `dump` as one stream named `dump`.
   */
  dumpStreams?(source: C, options: { readonly jobs: number; readonly signal?: AbortSignal }): Promise<StreamedDump>;
  /** Restores a streamed dump (`streams`: every stream of the snapshot, from its index). */
  openStreamsRestore?(target: C, streams: readonly SnapshotStream[], options: RestoreOptions & { readonly format: string }): Promise<StreamedRestoreSink>;
  /**
   * A physical copy of the server (PostgreSQL `pg_basebackup`): the base point-in-time recovery
   * replays the server's log onto. Its `details` carry the base's log position
   * (`baseLogDetails`); it restores through `openRestore` into a target this engine's `parse`
   * gives for a data directory (`pgdata:<path>`), never into a running server.
   */
  physicalDump?(source: C, options?: { signal?: AbortSignal; directTo?: Writable }): Promise<DumpOutput>;
  /** Engines whose server keeps a change log Vaultra can archive and replay (point-in-time recovery). */
  readonly logs?: LogArchiver<C>;
}

import type { ContentEntry, EngineId } from './database-engine.js';

/** What a restored target holds of one contents entry: rows (tables, collections), or bytes and files (directories). */
export interface ObservedEntry {
  readonly rows?: number;
  readonly bytes?: number;
  readonly files?: number;
}

/** The schema objects a restored database holds, by kind, as `schema.name` (or `name`). */
export interface SchemaInventory {
  readonly views: readonly string[];
  readonly materializedViews: readonly string[];
  readonly sequences: readonly string[];
  readonly routines: readonly string[];
  readonly triggers: readonly string[];
  readonly indexes: readonly string[];
  readonly events: readonly string[];
}

/**
 * Reads what a restore left in a scratch target, to prove it against the backup's manifest. Read
 * only: nothing here changes the target.
 */
export interface RestoredProbe {
  /**
   * What the target holds of each entry, in the same order: `undefined` where it has no such
   * table, view, collection or path; rows for tables, bytes and files for directory entries.
   */
  observe(entries: readonly ContentEntry[], signal?: AbortSignal): Promise<(ObservedEntry | undefined)[]>;
  inventory(signal?: AbortSignal): Promise<SchemaInventory>;
  /**
   * Runs a user check (one SQL query; engines without a query language reject) and resolves with
   * its first column of its first row as text (`''` for no row or NULL). Rejects with the
   * server's error in one line.
   */
  query(text: string, signal?: AbortSignal): Promise<string>;
  /**
   * Each table's checksum, computed the way this engine's backups record them
   * (domain/table-checksums.ts), `undefined` for a table the target lacks. Absent for engines
   * whose backups record none.
   */
  checksums?(tables: readonly string[], signal?: AbortSignal): Promise<(string | undefined)[]>;
}

/**
 * A restore target that exists only for one drill: a throwaway server started from the engine's
 * own binaries, a temp file or folder, or a database the drill created on a server the user named.
 */
export interface ScratchTarget {
  /** The restore target URL. It may carry a password: never print it. */
  readonly url: string;
  /** What it is, safe to print: `throwaway postgres 15.8 (socket /tmp/vaultra-drill-…)`. */
  readonly description: string;
  readonly probe: RestoredProbe;
  /**
   * Removes the target and everything it holds: the server stopped (SIGKILL when it does not stop
   * in time) and its folder deleted, or the scratch database dropped. Idempotent; never rejects,
   * resolves with a one-line reason when something could not be removed.
   */
  destroy(): Promise<string | undefined>;
}

/** Makes scratch targets for one engine. */
export interface ScratchProvider {
  readonly engine: EngineId;
  /** Starts a throwaway target. `signal` aborts the start; whatever was made by then is removed. */
  start(options: { readonly signal?: AbortSignal }): Promise<ScratchTarget>;
  /**
   * A scratch database on the server `url` names (its database is the scratch database's name),
   * created now and dropped by `destroy`. Refuses (`RunConflictError`) a database that exists,
   * unless an earlier drill created it (and was stopped before it could drop it).
   * Absent for engines without a server (SQLite, directories).
   */
  onServer?(url: string, options: { readonly signal?: AbortSignal }): Promise<ScratchTarget>;
}

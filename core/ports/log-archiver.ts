import type { Readable } from 'node:stream';
import type { BaseLogPosition, LogKind, LogRange } from '../domain/log-archive.js';
import type { Connection, ToolVersion } from './database-engine.js';

/**
 * What an engine does for point-in-time recovery (docs/point-in-time.md): read its server's
 * change log from where the archive ends, and replay archived ranges into a restored base up to a
 * time. The use cases store what `read` gives like any backup (compressed, encrypted, signed,
 * catalogued as a `log` run) and plan which base and ranges a restore needs.
 */
export interface LogArchiver<C extends Connection = Connection> {
  readonly kind: LogKind;
  /**
   * Starts reading the log from `since` (the archive's end, or a base's `logStart`) up to the
   * server's current end, then stops: a catch-up, not a follower. Without `since` it starts at
   * the server's current position (an empty range that starts the archive). When the server no
   * longer has the log at `since` (purged before it was archived), it reads from the oldest
   * position the server has and the range says so (`gapFrom`); it never fails for that alone.
   */
  read(source: C, since: string | undefined, options: LogReadOptions): Promise<LogRead>;
  /**
   * Replays archived ranges into `target`, which holds the restored base, up to `until`
   * (inclusive, to the second): every change committed at or before `until` and after the base,
   * nothing committed after it. `ranges` come in log order and cover `from.start` to `until`;
   * each is opened at most once. Rejects with a one-line error on the first failure.
   */
  replay(target: C, ranges: readonly ReplayRange[], options: ReplayOptions): Promise<ReplayReport>;
  /** The server settings point-in-time recovery needs, checked against a server (for `doctor`). */
  checkServer(source: C, signal?: AbortSignal): Promise<readonly ServerCheck[]>;
}

export interface LogReadOptions {
  readonly signal?: AbortSignal;
  /** The clock `coveredUntil` is read from when the engine cannot ask the server. */
  readonly now: () => Date;
}

/** A log read in progress. */
export interface LogRead {
  /**
   * The range's plaintext in the engine's `format`. Ends only after the reader succeeded; errors
   * with `DumpFailedError` (redacted) otherwise; destroying it stops the reader.
   */
  readonly stream: Readable;
  readonly tool: ToolVersion;
  /** e.g. `binlog-tar/v1`, `wal-tar/v1`, `oplog-bson/v1`: saved in the range. */
  readonly format: string;
  /** The server's version, when the read learnt it on the way (the manifest's `source.serverVersion`). */
  readonly serverVersion?: string;
  /** Once the stream ended: what it held (the use case adds `kind` and `format`). */
  range(): Promise<Omit<LogRange, 'kind' | 'format'>>;
  /** Releases what the read holds (a temp folder, a connection); after success or failure. Never rejects. */
  close(): Promise<void>;
}

/** One archived range handed to a replay: its facts, and its plaintext on demand. */
export interface ReplayRange {
  readonly range: LogRange;
  /** The run that stored it (for messages). */
  readonly runId: string;
  open(): Promise<Readable>;
}

export interface ReplayOptions {
  /** Replay up to this time (inclusive), or — `consistent` — only as far as the base needs to be consistent. */
  readonly until: Date | 'consistent';
  /** Where the base sits in the log: replay starts after `start`. */
  readonly from: BaseLogPosition;
  /** The backed-up database's name (from the base's manifest), for engines that rename on the way in. */
  readonly sourceDatabase?: string;
  /**
   * PostgreSQL: start a throwaway server on the data directory to carry out and check the
   * recovery, then stop it. Engines that replay by themselves ignore it.
   */
  readonly startServer?: boolean;
  readonly signal?: AbortSignal;
}

export interface ReplayReport {
  /** Transactions (or entries) applied, when the engine can count them. */
  readonly events?: number;
  /** The commit time of the last change applied, when known. */
  readonly reachedAt?: Date;
  /** One line each, for the operator (e.g. "recovery.signal written: start the server to replay"). */
  readonly notes?: readonly string[];
}

/** One setting of a server, as `doctor` reports it. */
export interface ServerCheck {
  /** e.g. `log_bin`, `wal_level`, `replication privilege`. */
  readonly name: string;
  readonly status: 'ok' | 'warn' | 'fail';
  /** What was found, one line. */
  readonly detail: string;
  /** What to do about it, one line (absent when ok). */
  readonly fix?: string;
}

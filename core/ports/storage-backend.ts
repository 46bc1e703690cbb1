import type { Readable } from 'node:stream';

/** What a listing returns for one object. Keys are relative to the backend's root, `/`-separated. */
export interface ObjectInfo {
  readonly key: string;
  readonly sizeBytes: number;
}

export interface IoOptions {
  readonly signal?: AbortSignal;
}

export interface ObjectWriter {
  /**
   * Stores `body` under `key`, atomically: a reader sees either no object or every byte.
   * Consumes `body` to its end; if `body` errors, or the signal aborts, or the store fails,
   * the promise rejects and nothing is left at `key` (no temp file, no partial upload).
   * Overwrites an existing object only once the new one is complete.
   */
  put(key: string, body: Readable, options?: IoOptions): Promise<{ readonly sizeBytes: number }>;
}

export interface ObjectReader {
  /** Opens `key` for streaming. Rejects with `NotFoundError` when it does not exist. */
  get(key: string, options?: IoOptions): Promise<Readable>;
  /**
   * Bytes `[start, end)` of `key` (chunked snapshots read chunks from packs this way). Rejects with
   * `NotFoundError` when it does not exist, and with a non-retryable `StorageError` when the
   * object ends before `end` (an empty range `[n, n)` of an object shorter than `n` too);
   * `RangeError` for a range that is not `0 <= start <= end`. Reads one version of the object as
   * it is when asked; may be retried (it changes nothing).
   */
  readRange(key: string, start: number, end: number, options?: IoOptions): Promise<Buffer>;
}

export interface ObjectLister {
  /**
   * Every object whose key starts with `prefix`, in no particular order. Never lists incomplete
   * writes, nor anything outside the backend's own location. A prefix with nothing under it
   * yields nothing; a location that does not exist or cannot be read (a missing bucket,
   * container or folder, no permission) rejects with a `StorageError`, never an empty listing.
   */
  list(prefix: string, options?: IoOptions): AsyncIterable<ObjectInfo>;
}

export interface ObjectDeleter {
  /** Removes `key`. Idempotent: deleting a missing object succeeds. */
  delete(key: string, options?: IoOptions): Promise<void>;
}

/** A place backups are kept: `file://`, later `s3://`, `gs://`, `azblob://`. */
export interface StorageBackend extends ObjectWriter, ObjectReader, ObjectLister, ObjectDeleter {
  /** Where this backend points, as a URL without credentials (safe to print and to store). */
  readonly location: string;
}

/**
 * Something a store keeps that `list` never shows: what an interrupted write left (a temp file,
 * an incomplete multipart upload, uncommitted blocks) or an empty folder.
 */
export interface Leftover {
  readonly kind: 'temp-file' | 'empty-folder' | 'multipart-upload' | 'uncommitted-blocks';
  /** The object (or folder) it belongs to, relative to the backend's root, `/`-separated. */
  readonly key: string;
  /** The store's id for it (an S3 upload id, a temp file's name). */
  readonly id?: string;
  readonly sizeBytes?: number;
  /** When it was started (modified, for a temp file), as far as the store knows. */
  readonly startedAt?: Date;
}

/**
 * A store that can find and remove its own leftovers: the capability `vaultra catalog repair`
 * and the sweep at the end of each backup use.
 */
export interface LeftoverSweeper {
  /**
   * What this store leaves that it cannot list, and how it goes away — e.g. Cloud Storage
   * resumable sessions, which the service discards a week after they start. `undefined`: none.
   */
  readonly unlistedLeftovers?: string;
  /** Leftovers whose key starts with `prefix`, in no particular order; empty folders after the folders they hold. */
  listLeftovers(prefix: string, options?: IoOptions): AsyncIterable<Leftover>;
  /**
   * Removes one leftover. Idempotent: one that is gone already is not an error. An empty folder
   * that is no longer empty is kept (someone wrote into it), without error.
   */
  removeLeftover(leftover: Leftover, options?: IoOptions): Promise<void>;
}

/** Whether `storage` can list and remove its leftovers. */
export function canSweep(storage: StorageBackend): storage is StorageBackend & LeftoverSweeper {
  const candidate = storage as Partial<LeftoverSweeper>;
  return typeof candidate.listLeftovers === 'function' && typeof candidate.removeLeftover === 'function';
}

/**
 * A store that locks what it writes (S3 Object Lock, Cloud Storage object retention, Azure
 * immutability policies) and can move an existing object's lock later. Chunked snapshots share
 * packs between runs: a pack a full wrote is locked from the full's date, so a later run that
 * reuses it extends its lock to its own (docs/chunked-snapshots.md, "Retention and deletion").
 */
export interface RetentionExtender {
  /**
   * Holds the existing object `key` at least as long as an object written now would be held.
   * Never shortens a lock and never weakens its mode; a no-op when this store locks nothing.
   * Idempotent, so it may be retried. Rejects with `NotFoundError` when `key` does not exist, and
   * with a `StorageError` when the store refuses or ignores the new date.
   */
  extendRetention(key: string, options?: IoOptions): Promise<void>;
}

/**
 * How far short of the goal an existing lock may fall and still count as held long enough. The
 * services round dates to the second, and runs seconds apart would otherwise each rewrite the lock
 * of every pack they reuse; a minute is nothing against a retention counted in days.
 */
export const RETENTION_SLACK_MS = 60_000;

/** Whether `storage` can extend an object's retention (see {@link RetentionExtender}). */
export function canExtendRetention(storage: StorageBackend): storage is StorageBackend & RetentionExtender {
  return typeof (storage as Partial<RetentionExtender>).extendRetention === 'function';
}

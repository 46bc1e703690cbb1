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

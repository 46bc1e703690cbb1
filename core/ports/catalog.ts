import type { RunKind, RunRecord, RunStatus } from '../domain/run.js';

export interface RunQuery {
  readonly job?: string;
  readonly status?: RunStatus;
  readonly kind?: RunKind;
  /** Only runs started at or after this ISO time. */
  readonly since?: string;
  /** Only runs started before this ISO time. */
  readonly until?: string;
  readonly limit?: number;
}

/**
 * What every catalog call may be given, like `StorageBackend`'s `IoOptions`: a signal that
 * cancels it. An aborted signal rejects the call promptly with the abort (an `AbortedError`),
 * cancels the service request where the SDK takes a signal, and leaves nothing written when it
 * was aborted before the call.
 */
export interface CatalogCallOptions {
  readonly signal?: AbortSignal;
}

/**
 * An index of runs. The manifests in storage are the truth; a catalog can always be rebuilt
 * from them, so losing one loses only the record of failed runs.
 */
export interface Catalog {
  /** Records a new run. Rejects with `RunConflictError` if the run id exists: a run is created once. */
  create(run: RunRecord, options?: CatalogCallOptions): Promise<void>;
  /** Replaces the record of an existing run (status changes, byte counts, errors). */
  update(run: RunRecord, options?: CatalogCallOptions): Promise<void>;
  get(job: string, runId: string, options?: CatalogCallOptions): Promise<RunRecord | undefined>;
  /** Runs matching `query`, newest first. */
  list(query?: RunQuery, options?: CatalogCallOptions): Promise<RunRecord[]>;
  /** The newest succeeded backup run of `job` (what an RPO check asks), or `undefined`. */
  latestSuccessful(job: string, options?: CatalogCallOptions): Promise<RunRecord | undefined>;
  /**
   * Takes the per-job lock for `owner` until `ttlMs` from now, so two triggers never dump the
   * same database at once. Resolves `true` when taken — also when `owner` already holds it (the
   * expiry is extended) or the holder's lock has expired (a crashed run) — and `false` when
   * another owner holds an unexpired lock. Atomic: of two concurrent callers, one wins.
   */
  acquireLock(job: string, owner: string, ttlMs: number, options?: CatalogCallOptions): Promise<boolean>;
  /** Releases the lock if `owner` holds it. Idempotent; never releases another owner's lock. */
  releaseLock(job: string, owner: string, options?: CatalogCallOptions): Promise<void>;
}

import { FieldValue, Firestore, Timestamp, v1, type Query } from '@google-cloud/firestore';
import type { Catalog, CatalogCallOptions, RunQuery } from '../../ports/catalog.js';
import { checkNotAborted, untilAborted } from './catalog-abort.js';
import { checkGoogleCredentials } from '../gcp/google-credentials.js';
import { jobNameSchema, runRecordSchema, type RunRecord } from '../../domain/run.js';
import { AbortedError, ConfigError, NotFoundError, RunConflictError, StorageError, oneLine, type VaultraError } from '../../errors.js';

/** Firestore's gRPC status codes this adapter acts on. */
const Code = { NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, FAILED_PRECONDITION: 9, ABORTED: 10, DEADLINE_EXCEEDED: 4, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;
const RETRYABLE = new Set<number>([Code.ABORTED, Code.DEADLINE_EXCEEDED, Code.RESOURCE_EXHAUSTED, Code.UNAVAILABLE]);

/** Google Cloud project ids (6-30 of a-z 0-9 -), and the emulator's looser ones. */
const PROJECT_ID = /^[a-z][a-z0-9-]{2,61}[a-z0-9]$/;
/** A collection id we accept: plain, so it is also a safe document-path segment. */
const COLLECTION_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/;
const DATABASE_ID = /^[a-z][a-z0-9-]{0,62}$|^\(default\)$/;

/**
 * The composite indexes a real project needs for the queries below (the emulator enforces none),
 * in `firestore.indexes.json` form for the infrastructure module:
 *
 * - every combination of the equality filters `job`, `kind`, `status` with `startedKey`
 *   descending: `list()` and its `since`/`until` ranges (a range is on `startedKey`, the sort
 *   field, so the same index serves it). Explicit rather than left to Firestore's index
 *   merging, so no query shape can meet a missing index in production;
 * - `job` + `succeededKey` descending: the newest succeeded backup of a job (sparse: only
 *   succeeded backups carry `succeededKey`), what the RPO watchdog asks;
 * - every-job listings use the automatic single-field index on `startedKey`;
 * - `run` (the record) is exempted from single-field indexing: nothing queries inside it, and a
 *   long error message then costs no index writes.
 */
export function firestoreCatalogIndexes(collection: string) {
  const filters = [['job'], ['kind'], ['status'], ['job', 'kind'], ['job', 'status'], ['kind', 'status'], ['job', 'kind', 'status']];
  const index = (fields: readonly (readonly [string, 'ASCENDING' | 'DESCENDING'])[]) => ({
    collectionGroup: collection,
    queryScope: 'COLLECTION',
    fields: fields.map(([fieldPath, order]) => ({ fieldPath, order })),
  });
  return {
    indexes: [
      ...filters.map((equal) => index([...equal.map((field) => [field, 'ASCENDING'] as const), ['startedKey', 'DESCENDING']])),
      index([
        ['job', 'ASCENDING'],
        ['succeededKey', 'DESCENDING'],
      ]),
    ],
    fieldOverrides: [{ collectionGroup: collection, fieldPath: 'run', indexes: [] }],
  };
}

export interface FirestoreCatalogOptions {
  readonly projectId: string;
  /** Runs are documents of this collection; job locks live in `<collection>-locks`. */
  readonly collection: string;
  /** @default '(default)' */
  readonly databaseId?: string;
  /** @default a client for `projectId`/`databaseId` (the emulator when `FIRESTORE_EMULATOR_HOST` is set) */
  readonly firestore?: Firestore;
}

/**
 * The run catalog in Cloud Firestore (native mode): `firestore://<project>/<collection>`.
 *
 * | document | id | fields |
 * | --- | --- | --- |
 * | a run | `<collection>/<job>__<runId>` | `run` (the record, a map), `job`, `runId`, `kind`, `status`, `startedKey`, `succeededKey` (succeeded backups only) |
 * | a job's lock | `<collection>-locks/<job>` | `job`, `owner`, `expiresAt` (a timestamp) |
 *
 * `startedKey` is `<startedAt as ISO 8601 with ms>#<runId>`, so ordering on it orders by start
 * time then run id (as the local catalog does), and a time range is a range on one field.
 *
 * - `create` is Firestore's `create()`, which fails when the document exists: a run id is
 *   recorded once however often a trigger is delivered (→ `RunConflictError`); `update`
 *   replaces an existing run only (→ `NotFoundError`).
 * - The lock is a document read and written in a transaction that checks `expiresAt` against
 *   the caller's clock: of concurrent takers exactly one commits, the others retry, see its lock
 *   and give up. A TTL policy on `expiresAt` (optional) only tidies expired locks.
 * - Queries read the newest first; the composite indexes they need are
 *   {@link firestoreCatalogIndexes}.
 */
export class FirestoreCatalog implements Catalog {
  readonly projectId: string;
  readonly collection: string;
  readonly #db: Firestore;
  /** Resolves once credentials were found (at once for an injected client or the emulator). */
  #credentials: Promise<void> | undefined;

  constructor(options: FirestoreCatalogOptions) {
    if (!PROJECT_ID.test(options.projectId)) throw new ConfigError(`"${options.projectId}" is not a Google Cloud project id`);
    if (!COLLECTION_ID.test(options.collection) || options.collection.startsWith('__')) {
      throw new ConfigError(`"${options.collection}" is not a usable Firestore collection id (1-100 of A-Z a-z 0-9 _ . -)`);
    }
    if (options.databaseId !== undefined && !DATABASE_ID.test(options.databaseId)) throw new ConfigError(`"${options.databaseId}" is not a Firestore database id`);
    this.projectId = options.projectId;
    this.collection = options.collection;
    if (options.firestore || process.env.FIRESTORE_EMULATOR_HOST) this.#credentials = Promise.resolve();
    this.#db =
      options.firestore ??
      new Firestore({
        projectId: options.projectId,
        ...(options.databaseId ? { databaseId: options.databaseId } : {}),
        // Run records may omit optional fields; never store `undefined`.
        ignoreUndefinedProperties: true,
        // gRPC, not `preferRest`: the REST transport asks for credentials even on the emulator,
        // so it could not be tested here.
        // The emulator needs no credentials: naming the universe spares the client a credentials
        // lookup that probes for a metadata server (3 s off Google Cloud) before the first call.
        ...(process.env.FIRESTORE_EMULATOR_HOST ? { universeDomain: 'googleapis.com' } : {}),
      });
  }

  /**
   * `firestore://<project>/<collection>[?database=<id>]`. Credentials come from Application
   * Default Credentials; `FIRESTORE_EMULATOR_HOST` points the client at an emulator.
   */
  static fromUrl(url: string): FirestoreCatalog {
    const malformed = (why: string): ConfigError => new ConfigError(`malformed catalog URL ${url.replace(/\?.*$/, '')}: ${why}; expected firestore://<project>/<collection>[?database=<id>]`);
    const match = /^firestore:\/\/([^/?#]+)\/([^/?#]+)\/?(?:\?([^#]*))?$/i.exec(url);
    if (!match) throw malformed('not a firestore://<project>/<collection> URL');
    let databaseId: string | undefined;
    for (const [name, value] of new URLSearchParams(match[3] ?? '')) {
      if (name === 'database' && DATABASE_ID.test(value) && databaseId === undefined) databaseId = value;
      else throw malformed(`unknown, repeated or invalid parameter "${name}"`);
    }
    const [, projectId, collection] = match as unknown as [string, string, string];
    if (!PROJECT_ID.test(projectId)) throw malformed(`"${projectId}" is not a project id`);
    if (!COLLECTION_ID.test(collection) || collection.startsWith('__')) throw malformed(`"${collection}" is not a collection id (1-100 of A-Z a-z 0-9 _ . -)`);
    return new FirestoreCatalog({ projectId, collection, ...(databaseId ? { databaseId } : {}) });
  }

  async create(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    const record = runRecordSchema.parse(run);
    const doing = `recording run ${record.runId}`;
    checkNotAborted(options, doing);
    try {
      await untilAborted(this.#ensureCredentials(), options, doing);
      checkNotAborted(options, doing);
      await untilAborted(this.#runDoc(record.job, record.runId).create(runDocument(record)), options, doing);
    } catch (error) {
      if (codeOf(error) === Code.ALREADY_EXISTS) throw new RunConflictError(`run ${record.runId} of job ${record.job} already exists`, { cause: error });
      throw this.#translate(error, doing);
    }
  }

  async update(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    const record = runRecordSchema.parse(run);
    const doing = `updating run ${record.runId}`;
    checkNotAborted(options, doing);
    try {
      await untilAborted(this.#ensureCredentials(), options, doing);
      checkNotAborted(options, doing);
      // update() fails when the document does not exist, and replaces each field given whole
      // (the `run` map included): the stored record becomes exactly `record`.
      await untilAborted(this.#runDoc(record.job, record.runId).update({ ...runDocument(record), succeededKey: succeededKeyOf(record) ?? FieldValue.delete() }), options, doing);
    } catch (error) {
      if (codeOf(error) === Code.NOT_FOUND) throw new NotFoundError(`run ${record.runId} of job ${record.job} is not in the catalog`, { cause: error });
      throw this.#translate(error, doing);
    }
  }

  async get(job: string, runId: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    const doing = `reading run ${runId}`;
    checkNotAborted(options, doing);
    try {
      await untilAborted(this.#ensureCredentials(), options, doing);
      const snapshot = await untilAborted(this.#runDoc(job, runId).get(), options, doing);
      return snapshot.exists ? recordOf(snapshot.data()) : undefined;
    } catch (error) {
      throw this.#translate(error, doing);
    }
  }

  async list(query: RunQuery = {}, options?: CatalogCallOptions): Promise<RunRecord[]> {
    checkNotAborted(options, 'listing runs');
    const since = query.since === undefined ? undefined : isoTime(query.since, 'since');
    const until = query.until === undefined ? undefined : isoTime(query.until, 'until');
    if (since !== undefined && until !== undefined && since >= until) return [];
    let q: Query = this.#db.collection(this.collection);
    if (query.job !== undefined) q = q.where('job', '==', jobNameSchema.parse(query.job));
    if (query.status !== undefined) q = q.where('status', '==', query.status);
    if (query.kind !== undefined) q = q.where('kind', '==', query.kind);
    // startedKey is `<iso>#<runId>`: `>= since` includes runs started at `since`, and every key
    // of a run started at `until` sorts above the bare `until`, so `< until` excludes them.
    if (since !== undefined) q = q.where('startedKey', '>=', since);
    if (until !== undefined) q = q.where('startedKey', '<', until);
    q = q.orderBy('startedKey', 'desc');
    if (query.limit !== undefined) q = q.limit(query.limit);
    return this.#read(q, 'listing runs', options);
  }

  async latestSuccessful(job: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    checkNotAborted(options, `finding the latest successful backup of job ${job}`);
    const q = this.#db.collection(this.collection).where('job', '==', jobNameSchema.parse(job)).orderBy('succeededKey', 'desc').limit(1);
    return (await this.#read(q, `finding the latest successful backup of job ${job}`, options))[0];
  }

  async acquireLock(job: string, owner: string, ttlMs: number, options?: CatalogCallOptions): Promise<boolean> {
    const doing = `taking the lock of job ${job}`;
    checkNotAborted(options, doing);
    const lock = this.#lockDoc(job);
    try {
      await untilAborted(this.#ensureCredentials(), options, doing);
      const taking = this.#db.runTransaction(
        async (transaction) => {
          const held = (await transaction.get(lock)).data() as LockDocument | undefined;
          // The SDK takes no signal: an abort is honoured here, before the write, so the transaction commits nothing.
          checkNotAborted(options, doing);
          const now = Date.now();
          // Free, ours (re-entrant: the expiry is extended), or expired (a crashed holder).
          if (held && held.owner !== owner && held.expiresAt.toMillis() > now) return false;
          transaction.set(lock, { job, owner, expiresAt: Timestamp.fromMillis(now + ttlMs) } satisfies LockDocument);
          return true;
        },
        // Concurrent takers make each other's transactions abort and retry; each retry sees the winner.
        { maxAttempts: 20 },
      );
      return await untilAborted(taking, options, doing);
    } catch (error) {
      throw this.#translate(error, doing);
    }
  }

  async releaseLock(job: string, owner: string, options?: CatalogCallOptions): Promise<void> {
    const doing = `releasing the lock of job ${job}`;
    checkNotAborted(options, doing);
    const lock = this.#lockDoc(job);
    try {
      await untilAborted(this.#ensureCredentials(), options, doing);
      const releasing = this.#db.runTransaction(
        async (transaction) => {
          const held = (await transaction.get(lock)).data() as LockDocument | undefined;
          checkNotAborted(options, doing);
          // Not held, or held by someone else (ours expired and was taken over): nothing to release.
          if (held?.owner === owner) transaction.delete(lock);
        },
        { maxAttempts: 20 },
      );
      await untilAborted(releasing, options, doing);
    } catch (error) {
      throw this.#translate(error, doing);
    }
  }

  /** Ends the client's connections (tests; a CLI exits anyway). */
  async close(): Promise<void> {
    await this.#db.terminate();
  }

  /**
   * Looks up Application Default Credentials once, on their own: without any, the first call
   * would fail and the SDK would also leave an unhandled rejection behind, which ends the process.
   */
  #ensureCredentials(): Promise<void> {
    this.#credentials ??= (async () => {
      const gapic = new v1.FirestoreClient({ projectId: this.projectId });
      try {
        await checkGoogleCredentials(gapic);
      } finally {
        await gapic.close().catch(() => undefined);
      }
    })().catch((error: unknown) => {
      this.#credentials = undefined;
      throw error;
    });
    return this.#credentials;
  }

  #runDoc(job: string, runId: string) {
    return this.#db.collection(this.collection).doc(`${jobNameSchema.parse(job)}__${runId}`);
  }

  #lockDoc(job: string) {
    return this.#db.collection(`${this.collection}-locks`).doc(jobNameSchema.parse(job));
  }

  async #read(q: Query, doing: string, options: CatalogCallOptions | undefined): Promise<RunRecord[]> {
    try {
      await untilAborted(this.#ensureCredentials(), options, doing);
      return (await untilAborted(q.get(), options, doing)).docs.map((doc) => recordOf(doc.data()));
    } catch (error) {
      throw this.#translate(error, doing);
    }
  }

  #translate(error: unknown, doing: string): VaultraError {
    if (error instanceof AbortedError) return error;
    const code = codeOf(error);
    const where = `${doing} in Firestore collection ${this.collection} of project ${this.projectId}`;
    const detail = oneLine(error).slice(0, 400);
    if (code === Code.FAILED_PRECONDITION && /index/i.test(detail)) {
      return new ConfigError(`${where} failed: the query needs a composite index (see firestoreCatalogIndexes): ${detail}`, { cause: error });
    }
    if (code === Code.UNAUTHENTICATED) {
      return new ConfigError(`${where} failed: no valid Google Cloud credentials (set GOOGLE_APPLICATION_CREDENTIALS or run on a service account): ${detail}`, { cause: error });
    }
    if (code === Code.PERMISSION_DENIED) {
      return new ConfigError(`${where} failed: permission denied (the service account needs roles/datastore.user): ${detail}`, { cause: error });
    }
    return new StorageError(`${where} failed: ${detail}`, code !== undefined && RETRYABLE.has(code), { cause: error });
  }
}

interface LockDocument {
  readonly job: string;
  readonly owner: string;
  readonly expiresAt: Timestamp;
}

function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** `<startedAt, normalized to ISO 8601 with milliseconds>#<runId>`. */
function startedKeyOf(run: RunRecord): string {
  return `${new Date(run.startedAt).toISOString()}#${run.runId}`;
}

function succeededKeyOf(run: RunRecord): string | undefined {
  return run.kind === 'backup' && run.status === 'succeeded' ? startedKeyOf(run) : undefined;
}

function runDocument(run: RunRecord): Record<string, unknown> {
  const succeededKey = succeededKeyOf(run);
  return {
    run,
    job: run.job,
    runId: run.runId,
    kind: run.kind,
    status: run.status,
    startedKey: startedKeyOf(run),
    ...(succeededKey ? { succeededKey } : {}),
  };
}

function recordOf(data: Record<string, unknown> | undefined): RunRecord {
  return runRecordSchema.parse(data?.run);
}

function isoTime(value: string, field: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new ConfigError(`${field} ${JSON.stringify(value)} is not a date and time`);
  return new Date(time).toISOString();
}

import { AzureNamedKeyCredential, AzureSASCredential, odata, TableClient, type TableEntityResult } from '@azure/data-tables';
import type { Catalog, CatalogCallOptions, RunQuery } from '../../ports/catalog.js';
import { catalogAborted, checkNotAborted } from './catalog-abort.js';
import { jobNameSchema, runRecordSchema, type RunRecord } from '../../domain/run.js';
import { ConfigError, NotFoundError, RunConflictError, StorageError } from '../../errors.js';
import { azureStorageAccess, checkAccountName, isInsecure, parseEndpoint, type AzureStorageAccess } from '../azure/azure-storage-access.js';
import { codeOf, describeAzureError, isCredentialError, isRetryableAzureError, statusOf } from '../azure/azure-errors.js';

/** Run entities have PartitionKey = job; the locks live in their own partition, which no job name can take. */
const LOCK_PARTITION = '_locks';
const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;
const DAY_MS = 86_400_000;
/**
 * Newest-first queries with a limit read these time windows (days back from now) one after
 * the other, newest first, and stop once they have enough: the service returns rows in
 * ascending key order only, so "the latest run of a job" must not mean reading all of them.
 */
const WINDOWS_DAYS = [1, 7, 31, 366];
/** Tries of a lock decision whose write lost a race (409/412) before giving up as contended. */
const LOCK_ROUNDS = 5;

interface RunEntity {
  readonly kind: string;
  readonly status: string;
  readonly startedAt: string;
  /** The whole run record as JSON (well under the 64 KiB limit of a string property). */
  readonly record: string;
}

interface LockEntity {
  readonly owner: string;
  /** Epoch milliseconds (a Double, exact for millisecond timestamps). */
  readonly expiresAt: number;
}

/**
 * Runs recorded in Azure Table Storage: `aztable://<account>/<table>`, with
 * `?endpoint=<table service URL>` for emulators (Azurite: `http://127.0.0.1:10002/devstoreaccount1`).
 * Credentials come from the environment like the Blob adapter's (`azure-storage-access.ts`).
 * The table must exist.
 *
 * - One entity per run: PartitionKey = job, RowKey = run id. Run ids start with their UTC start
 *   time, so a job's runs sort by time, and `since`/`until` become RowKey ranges.
 * - `create` is the service's Insert Entity, which fails with 409 when the key exists: a run id
 *   is created once (→ `RunConflictError`). If an Insert's answer is lost and the SDK retries
 *   it, the retry meets the run the first try created and reports a conflict: the run exists,
 *   which is what an idempotent trigger needs to know; it never creates a second one.
 * - The lock of a job is one entity (PartitionKey `_locks`, RowKey = job) with its owner and
 *   `expiresAt`. Taking it is an Insert (when absent) or a Replace conditioned on the ETag read
 *   (If-Match), so of two writers deciding from the same state, one gets 409/412 and decides
 *   again. Expiry compares `expiresAt` with this machine's clock: keep clocks in sync (NTP) and
 *   TTLs well above any skew.
 * - Retries: the SDK's default policy (exponential backoff with jitter on 408/429/5xx and
 *   network errors, 3 retries), deliberately: reads, Replace and conditional writes are safe to
 *   repeat (a repeated conditional write that had in fact succeeded gets 409/412, and the lock
 *   code reads again and finds itself the owner).
 */
export class AzureTableCatalog implements Catalog {
  readonly location: string;

  constructor(
    private readonly table: TableClient,
    location: string,
  ) {
    this.location = location;
  }

  /** `aztable://<account>/<table>[?endpoint=…]`; credentials from `env` (see `azure-storage-access.ts`). */
  static fromUrl(url: string, env: NodeJS.ProcessEnv = process.env): AzureTableCatalog {
    const match = /^aztable:\/\/([^/?#]*)\/([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(url);
    if (!match) throw new ConfigError(`catalog URL ${url} is not aztable://<account>/<table>`);
    const [, account = '', tableName = '', query = ''] = match;
    if (account.includes('@') || account.includes(':')) throw new ConfigError('catalog URL carries credentials: put them in AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_KEY, never in the URL');
    checkAccountName(account, url);
    if (!TABLE_NAME.test(tableName)) throw new ConfigError(`table "${tableName}" in ${url} is not a table name (3-63 letters and digits, starting with a letter)`);
    const params = new URLSearchParams(query);
    for (const name of params.keys()) if (name !== 'endpoint') throw new ConfigError(`unknown option "${name}" in ${url} (known: endpoint)`);
    const endpoint = params.get('endpoint');
    const access = azureStorageAccess('table', account, endpoint ? parseEndpoint(endpoint, url) : undefined, env);
    const location = `aztable://${account}/${tableName}${endpoint ? `?endpoint=${parseEndpoint(endpoint, url)}` : ''}`;
    return new AzureTableCatalog(tableClient(access, tableName), location);
  }

  async create(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    runRecordSchema.parse(run);
    checkNotAborted(options, `recording run ${run.runId}`);
    try {
      await this.table.createEntity(runEntity(run), sdkOptions(options));
    } catch (error) {
      if (statusOf(error) === 409) throw new RunConflictError(`run ${run.runId} of job ${run.job} already exists`);
      throw this.translate(error, `recording run ${run.runId}`, options);
    }
  }

  async update(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    runRecordSchema.parse(run);
    checkNotAborted(options, `updating run ${run.runId}`);
    try {
      await this.table.updateEntity(runEntity(run), 'Replace', sdkOptions(options));
    } catch (error) {
      if (statusOf(error) === 404 && codeOf(error) !== 'TableNotFound') throw new NotFoundError(`run ${run.runId} of job ${run.job} is not in ${this.location}`);
      throw this.translate(error, `updating run ${run.runId}`, options);
    }
  }

  async get(job: string, runId: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    checkNotAborted(options, `reading run ${runId}`);
    try {
      return recordOf(await this.table.getEntity<RunEntity>(job, runId, sdkOptions(options)));
    } catch (error) {
      if (statusOf(error) === 404 && codeOf(error) !== 'TableNotFound') return undefined;
      throw this.translate(error, `reading run ${runId}`, options);
    }
  }

  async list(query: RunQuery = {}, options?: CatalogCallOptions): Promise<RunRecord[]> {
    checkNotAborted(options, 'listing runs');
    if (!query.limit) return newestFirst(await this.query(query, query.since, query.until, options));
    // Newest windows first, until `limit` runs are found (each window is older than the one before).
    const runs: RunRecord[] = [];
    const now = Date.now();
    const bounds = [Infinity, ...WINDOWS_DAYS.map((days) => now - days * DAY_MS), -Infinity];
    const since = query.since ? Date.parse(query.since) : -Infinity;
    const until = query.until ? Date.parse(query.until) : Infinity;
    for (let i = 0; i + 1 < bounds.length && runs.length < query.limit; i++) {
      const upper = Math.min(until, bounds[i]!);
      const lower = Math.max(since, bounds[i + 1]!);
      if (lower >= upper) continue;
      runs.push(...newestFirst(await this.query(query, Number.isFinite(lower) ? new Date(lower).toISOString() : undefined, Number.isFinite(upper) ? new Date(upper).toISOString() : undefined, options)));
    }
    return runs.slice(0, query.limit);
  }

  async latestSuccessful(job: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    return (await this.list({ job, kind: 'backup', status: 'succeeded', limit: 1 }, options))[0];
  }

  async acquireLock(job: string, owner: string, ttlMs: number, options?: CatalogCallOptions): Promise<boolean> {
    jobNameSchema.parse(job);
    for (let round = 0; round < LOCK_ROUNDS; round++) {
      checkNotAborted(options, `taking the lock of job ${job}`);
      const now = Date.now();
      const lock = { partitionKey: LOCK_PARTITION, rowKey: job, owner, expiresAt: now + ttlMs };
      const current = await this.readLock(job, options);
      try {
        if (!current) {
          await this.table.createEntity<LockEntity>(lock, sdkOptions(options));
          return true;
        }
        if (current.owner !== owner && current.expiresAt > now) return false;
        // Ours (extend it) or expired (take it over): only if nobody changed it since we read it.
        await this.table.updateEntity<LockEntity>(lock, 'Replace', { etag: current.etag, ...sdkOptions(options) });
        return true;
      } catch (error) {
        const status = statusOf(error);
        if (status === 409 || status === 412) continue; // another writer got there first: decide again
        throw this.translate(error, `taking the lock of job ${job}`, options);
      }
    }
    return false;
  }

  async releaseLock(job: string, owner: string, options?: CatalogCallOptions): Promise<void> {
    jobNameSchema.parse(job);
    for (let round = 0; round < LOCK_ROUNDS; round++) {
      checkNotAborted(options, `releasing the lock of job ${job}`);
      const current = await this.readLock(job, options);
      if (!current || current.owner !== owner) return;
      try {
        await this.table.deleteEntity(LOCK_PARTITION, job, { etag: current.etag, ...sdkOptions(options) });
        return;
      } catch (error) {
        const status = statusOf(error);
        if (status === 404) return;
        if (status === 412) continue;
        throw this.translate(error, `releasing the lock of job ${job}`, options);
      }
    }
  }

  private async readLock(job: string, options: CatalogCallOptions | undefined): Promise<TableEntityResult<LockEntity> | undefined> {
    try {
      return await this.table.getEntity<LockEntity>(LOCK_PARTITION, job, sdkOptions(options));
    } catch (error) {
      if (statusOf(error) === 404 && codeOf(error) !== 'TableNotFound') return undefined;
      throw this.translate(error, `reading the lock of job ${job}`, options);
    }
  }

  /** Every run matching the query's filters with `since <= start < until`, by RowKey range; in no order. */
  private async query(query: RunQuery, since: string | undefined, until: string | undefined, options: CatalogCallOptions | undefined): Promise<RunRecord[]> {
    const filters = [query.job ? odata`PartitionKey eq ${query.job}` : odata`PartitionKey ne ${LOCK_PARTITION}`];
    if (query.status) filters.push(odata`status eq ${query.status}`);
    if (query.kind) filters.push(odata`kind eq ${query.kind}`);
    if (since) filters.push(odata`RowKey ge ${runIdStamp(since)}`);
    if (until) filters.push(odata`RowKey lt ${runIdStamp(until)}`);
    const runs: RunRecord[] = [];
    try {
      for await (const entity of this.table.listEntities<RunEntity>({ queryOptions: { filter: filters.join(' and '), select: ['record'] }, ...sdkOptions(options) })) {
        runs.push(recordOf(entity));
      }
    } catch (error) {
      throw this.translate(error, 'listing runs', options);
    }
    return runs;
  }

  private translate(error: unknown, doing: string, options: CatalogCallOptions | undefined): unknown {
    if (error instanceof Error && 'kind' in error) return error;
    if (options?.signal?.aborted) return catalogAborted(options.signal, `${doing} in ${this.location}`);
    if (codeOf(error) === 'TableNotFound') return new ConfigError(`${doing} failed: the table of ${this.location} does not exist; create it first`);
    const status = statusOf(error);
    const hint = status === 401 || status === 403 || isCredentialError(error)
      ? ': check the credential (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, or an Entra ID identity with the "Storage Table Data Contributor" role)'
      : '';
    return new StorageError(`${doing} in ${this.location} failed: ${describeAzureError(error)}${hint}`, isRetryableAzureError(error), { cause: error });
  }
}

/** The SDK cancels the request when the call's signal aborts. */
function sdkOptions(options: CatalogCallOptions | undefined): { abortSignal?: AbortSignal } {
  return options?.signal ? { abortSignal: options.signal } : {};
}

function tableClient(access: AzureStorageAccess, tableName: string): TableClient {
  const options = { allowInsecureConnection: isInsecure(access.serviceUrl) };
  const { serviceUrl, credential } = access;
  switch (credential.kind) {
    case 'shared-key':
      return new TableClient(serviceUrl, tableName, new AzureNamedKeyCredential(credential.accountName, credential.accountKey), options);
    case 'sas':
      return new TableClient(serviceUrl, tableName, new AzureSASCredential(credential.sas), options);
    case 'token':
      return new TableClient(serviceUrl, tableName, credential.credential, options);
  }
}

function runEntity(run: RunRecord): RunEntity & { partitionKey: string; rowKey: string } {
  return { partitionKey: run.job, rowKey: run.runId, kind: run.kind, status: run.status, startedAt: run.startedAt, record: JSON.stringify(run) };
}

function recordOf(entity: { record?: unknown }): RunRecord {
  return runRecordSchema.parse(JSON.parse(String(entity.record)));
}

/** An ISO time as the start of a run id (`20261102T120000.000Z`): run ids at or after it sort at or after it. */
function runIdStamp(iso: string): string {
  const time = Date.parse(iso);
  if (Number.isNaN(time)) throw new ConfigError(`"${iso}" is not an ISO time`);
  return new Date(time).toISOString().replace(/[-:]/g, '');
}

function newestFirst(runs: RunRecord[]): RunRecord[] {
  return runs.sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
}

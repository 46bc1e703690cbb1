import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Catalog, CatalogCallOptions, RunQuery } from '../../ports/catalog.js';
import { catalogAborted, checkNotAborted } from './catalog-abort.js';
import { jobNameSchema, runRecordSchema, type RunRecord } from '../../domain/run.js';
import { ConfigError, NotFoundError, RunConflictError, type VaultraError } from '../../errors.js';
import { awsErrorName, genericAwsError } from '../aws/aws-errors.js';
import { CATALOG_INDEX, CATALOG_TTL_ATTRIBUTE } from './dynamodb-table-schema.js';

/** DynamoDB's own rule for table names. */
const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const LOCK_SK = 'LOCK';
const ALL_RUNS = 'RUN';

export interface DynamoDbCatalogOptions {
  readonly tableName: string;
  /** @default a `DynamoDBClient` with the SDK's default settings */
  readonly client?: DynamoDBClient;
}

/**
 * The run catalog in one DynamoDB table (layout and indexes: `dynamodb-table-schema.ts`).
 *
 * - `create` is a conditional put (`attribute_not_exists(pk)`), so a run id is recorded once
 *   however often a trigger is delivered; `update` replaces an existing run only.
 * - The job lock is one item whose condition expression compares `expiresAtMs` with the
 *   caller's clock: of concurrent takers exactly one wins; an expired lock is taken over.
 * - `get`, `latestSuccessful` and per-job `list` read consistently (table and LSIs); listing
 *   every job reads a GSI, which lags writes by a moment.
 *
 * Each item's record is the validated run record as a DynamoDB map; nothing else of the run is
 * stored, and no secret ever is (run records hold none).
 */
export class DynamoDbCatalog implements Catalog {
  readonly tableName: string;
  readonly #documents: DynamoDBDocumentClient;

  constructor(options: DynamoDbCatalogOptions) {
    if (!TABLE_NAME.test(options.tableName)) throw new ConfigError(`"${options.tableName}" is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)`);
    this.tableName = options.tableName;
    this.#documents = DynamoDBDocumentClient.from(options.client ?? new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true } });
  }

  /**
   * `dynamodb://<table>[?region=<region>&endpoint=<url>]`. Without `endpoint`, the SDK's own
   * settings apply (`AWS_ENDPOINT_URL_DYNAMODB`, then `AWS_ENDPOINT_URL`), and credentials and
   * region come from the usual chain. The table must exist: this never creates it.
   */
  static fromUrl(url: string): DynamoDbCatalog {
    const malformed = (why: string): ConfigError => new ConfigError(`malformed catalog URL ${url}: ${why}; expected dynamodb://<table>[?region=…&endpoint=…]`);
    const match = /^dynamodb:\/\/([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(url);
    if (!match) throw malformed('not a dynamodb://<table> URL');
    const config: DynamoDBClientConfig = {};
    for (const [name, value] of new URLSearchParams(match[2] ?? '')) {
      if (name === 'region' && REGION.test(value)) config.region = value;
      else if (name === 'endpoint' && /^https?:\/\/[^\s/?#]+\/?$/.test(value)) config.endpoint = value;
      else throw malformed(`unknown or invalid parameter "${name}"`);
    }
    if (!TABLE_NAME.test(match[1]!)) throw malformed(`"${match[1]}" is not a DynamoDB table name`);
    return new DynamoDbCatalog({ tableName: match[1]!, client: new DynamoDBClient(config) });
  }

  async create(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    checkNotAborted(options, `recording run ${run.runId}`);
    try {
      await this.#documents.send(new PutCommand({ TableName: this.tableName, Item: runItem(run), ConditionExpression: 'attribute_not_exists(pk)' }), sendOptions(options));
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') throw new RunConflictError(`run ${run.runId} of job ${run.job} already exists`, { cause: error });
      throw this.#translate(error, `recording run ${run.runId}`, options);
    }
  }

  async update(run: RunRecord, options?: CatalogCallOptions): Promise<void> {
    checkNotAborted(options, `updating run ${run.runId}`);
    try {
      await this.#documents.send(new PutCommand({ TableName: this.tableName, Item: runItem(run), ConditionExpression: 'attribute_exists(pk)' }), sendOptions(options));
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') throw new NotFoundError(`run ${run.runId} of job ${run.job} is not in the catalog`, { cause: error });
      throw this.#translate(error, `updating run ${run.runId}`, options);
    }
  }

  async get(job: string, runId: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    checkNotAborted(options, `reading run ${runId}`);
    try {
      const { Item } = await this.#documents.send(new GetCommand({ TableName: this.tableName, Key: { pk: jobKey(job), sk: `RUN#${runId}` }, ConsistentRead: true }), sendOptions(options));
      return Item ? recordOf(Item) : undefined;
    } catch (error) {
      throw this.#translate(error, `reading run ${runId}`, options);
    }
  }

  async list(query: RunQuery = {}, options?: CatalogCallOptions): Promise<RunRecord[]> {
    checkNotAborted(options, 'listing runs');
    const since = query.since === undefined ? undefined : isoTime(query.since, 'since');
    const until = query.until === undefined ? undefined : isoTime(query.until, 'until');
    if (since !== undefined && until !== undefined && since >= until) return [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    if (query.job !== undefined) {
      names['#partition'] = 'pk';
      values[':partition'] = jobKey(query.job);
    } else {
      names['#partition'] = 'allRuns';
      values[':partition'] = ALL_RUNS;
    }
    let keyCondition = '#partition = :partition';
    if (since !== undefined || until !== undefined) {
      names['#started'] = 'startedKey';
      // startedKey is `<iso>#<runId>`: `>= since` includes runs started at `since`, and every
      // key of a run started at `until` sorts above the bare `until`, so BETWEEN excludes them.
      if (since !== undefined && until !== undefined) keyCondition += ' AND #started BETWEEN :since AND :until';
      else keyCondition += since !== undefined ? ' AND #started >= :since' : ' AND #started < :until';
      if (since !== undefined) values[':since'] = since;
      if (until !== undefined) values[':until'] = until;
    }
    const filters: string[] = [];
    if (query.status !== undefined) {
      names['#run'] = 'run';
      names['#status'] = 'status';
      values[':status'] = query.status;
      filters.push('#run.#status = :status');
    }
    if (query.kind !== undefined) {
      names['#run'] = 'run';
      names['#kind'] = 'kind';
      values[':kind'] = query.kind;
      filters.push('#run.#kind = :kind');
    }
    return this.#query(
      {
        TableName: this.tableName,
        IndexName: query.job !== undefined ? CATALOG_INDEX.byStartedAt : CATALOG_INDEX.allRunsByStartedAt,
        KeyConditionExpression: keyCondition,
        ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        // A GSI cannot be read consistently; LSIs and the table can.
        ConsistentRead: query.job !== undefined,
      },
      // Like the local catalog: no limit (or 0) lists everything.
      query.limit ? query.limit : undefined,
      filters.length > 0,
      options,
    );
  }

  async latestSuccessful(job: string, options?: CatalogCallOptions): Promise<RunRecord | undefined> {
    checkNotAborted(options, 'listing runs');
    const [latest] = await this.#query(
      {
        TableName: this.tableName,
        IndexName: CATALOG_INDEX.latestSucceeded,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': jobKey(job) },
        ScanIndexForward: false,
        ConsistentRead: true,
      },
      1,
      false,
      options,
    );
    return latest;
  }

  async acquireLock(job: string, owner: string, ttlMs: number, options?: CatalogCallOptions): Promise<boolean> {
    checkNotAborted(options, `taking the lock of job ${job}`);
    const now = Date.now();
    const expiresAtMs = now + ttlMs;
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { pk: jobKey(job), sk: LOCK_SK, owner, expiresAtMs, [CATALOG_TTL_ATTRIBUTE]: Math.ceil(expiresAtMs / 1000) },
          // Free, ours (re-entrant: the expiry is extended), or expired (a crashed holder). TTL
          // may delete expired locks days later; this condition never depends on it.
          ConditionExpression: 'attribute_not_exists(pk) OR #owner = :owner OR expiresAtMs <= :now',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner, ':now': now },
        }),
        sendOptions(options),
      );
      return true;
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return false;
      throw this.#translate(error, `taking the lock of job ${job}`, options);
    }
  }

  async releaseLock(job: string, owner: string, options?: CatalogCallOptions): Promise<void> {
    checkNotAborted(options, `releasing the lock of job ${job}`);
    try {
      await this.#documents.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { pk: jobKey(job), sk: LOCK_SK },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
        sendOptions(options),
      );
    } catch (error) {
      // Not held, or held by someone else (ours expired and was taken over): nothing to release.
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return;
      throw this.#translate(error, `releasing the lock of job ${job}`, options);
    }
  }

  /** Runs a query page by page until `limit` records matched (a filter applies after DynamoDB's own Limit, so it is only passed on without one). */
  async #query(input: QueryCommandInput, limit: number | undefined, filtered: boolean, options: CatalogCallOptions | undefined): Promise<RunRecord[]> {
    const records: RunRecord[] = [];
    let startKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await this.#documents.send(
          new QueryCommand({ ...input, ...(limit !== undefined && !filtered ? { Limit: limit - records.length } : {}), ...(startKey ? { ExclusiveStartKey: startKey } : {}) }),
          sendOptions(options),
        );
        for (const item of page.Items ?? []) records.push(recordOf(item));
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined && (limit === undefined || records.length < limit));
    } catch (error) {
      throw this.#translate(error, 'listing runs', options);
    }
    return limit === undefined ? records : records.slice(0, limit);
  }

  #translate(error: unknown, doing: string, options: CatalogCallOptions | undefined): VaultraError {
    if (options?.signal?.aborted) return catalogAborted(options.signal, `${doing} in DynamoDB table ${this.tableName}`);
    if (awsErrorName(error) === 'ResourceNotFoundException') {
      return new ConfigError(`${doing} failed: the DynamoDB catalog table ${this.tableName} does not exist (deploy the Vaultra stack, or create it with the documented schema)`, { cause: error });
    }
    return genericAwsError(error, `${doing} in DynamoDB table ${this.tableName}`, 'DynamoDB');
  }
}

/** The SDK cancels the request when the call's signal aborts. */
function sendOptions(options: CatalogCallOptions | undefined): { abortSignal?: AbortSignal } {
  return options?.signal ? { abortSignal: options.signal } : {};
}

function jobKey(job: string): string {
  return `JOB#${jobNameSchema.parse(job)}`;
}

/** `<startedAt, normalized to ISO 8601 with milliseconds>#<runId>`: sorts like the local catalog (time, then id). */
function startedKey(run: RunRecord): string {
  return `${new Date(run.startedAt).toISOString()}#${run.runId}`;
}

function runItem(run: RunRecord): Record<string, unknown> {
  const record = runRecordSchema.parse(run);
  const sortKey = startedKey(record);
  return {
    pk: jobKey(record.job),
    sk: `RUN#${record.runId}`,
    run: record,
    startedKey: sortKey,
    allRuns: ALL_RUNS,
    ...(record.kind === 'backup' && record.status === 'succeeded' ? { succeededKey: sortKey } : {}),
  };
}

function recordOf(item: Record<string, unknown>): RunRecord {
  return runRecordSchema.parse(item.run);
}

function isoTime(value: string, field: string): string {
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new ConfigError(`${field} ${JSON.stringify(value)} is not a date and time`);
  return new Date(time).toISOString();
}

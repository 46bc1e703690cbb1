import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The one DynamoDB table a `dynamodb://<table>` catalog uses. The catalog never creates it: the
 * infrastructure stack does (mirroring {@link dynamoDbCatalogTableSchema}), and tests create it
 * in the emulator from the same function.
 *
 * | item | pk | sk | other attributes |
 * | --- | --- | --- | --- |
 * | a run | `JOB#<job>` | `RUN#<runId>` | `run` (the run record, a map), `startedKey`, `allRuns`, `succeededKey` |
 * | a job's lock | `JOB#<job>` | `LOCK` | `owner`, `expiresAtMs`, `expiresAtEpochSeconds` (the TTL attribute) |
 *
 * `startedKey` is `<startedAt as ISO 8601, ms>#<runId>`: sorting on it is sorting by start time
 * (then run id), and a time range is one `BETWEEN` on it.
 *
 * Indexes:
 * - LSI `byStartedAt` (pk, `startedKey`): a job's runs by time, with consistent reads.
 * - LSI `latestSucceeded` (pk, `succeededKey`): sparse, only succeeded backups carry
 *   `succeededKey` (= `startedKey`); the newest is one item, read consistently — what an RPO
 *   check asks. It stays right when a run's status changes, because every write replaces the item.
 * - GSI `allRunsByStartedAt` (`allRuns` = `RUN`, `startedKey`): every job's runs by time. One
 *   partition: a catalog writes a few items per backup, far below a partition's 1,000 writes/s.
 *
 * LSIs cap one job's items at 10 GB (millions of runs), and must exist when the table is created.
 * TTL on `expiresAtEpochSeconds` only cleans up expired locks, lazily (up to days later); the
 * lock's condition checks `expiresAtMs` itself, so correctness never waits for TTL.
 */
export const CATALOG_INDEX = {
  byStartedAt: 'byStartedAt',
  latestSucceeded: 'latestSucceeded',
  allRunsByStartedAt: 'allRunsByStartedAt',
} as const;

/** The attribute DynamoDB's TTL must be enabled on (`UpdateTimeToLive`). */
export const CATALOG_TTL_ATTRIBUTE = 'expiresAtEpochSeconds';

export interface DynamoDbCatalogTableSchema {
  /** The `CreateTable` input (on-demand billing). */
  readonly createTable: CreateTableCommandInput;
  /** The `UpdateTimeToLive` specification to apply once the table exists. */
  readonly timeToLive: { readonly AttributeName: string; readonly Enabled: true };
}

/** What a catalog table looks like; the infrastructure stack mirrors it. */
export function dynamoDbCatalogTableSchema(tableName: string): DynamoDbCatalogTableSchema {
  const allAttributes = { ProjectionType: 'ALL' } as const;
  const createTable: CreateTableCommandInput = {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: 'pk', AttributeType: 'S' },
      { AttributeName: 'sk', AttributeType: 'S' },
      { AttributeName: 'startedKey', AttributeType: 'S' },
      { AttributeName: 'succeededKey', AttributeType: 'S' },
      { AttributeName: 'allRuns', AttributeType: 'S' },
    ],
    KeySchema: [
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ],
    LocalSecondaryIndexes: [
      {
        IndexName: CATALOG_INDEX.byStartedAt,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'startedKey', KeyType: 'RANGE' },
        ],
        Projection: allAttributes,
      },
      {
        IndexName: CATALOG_INDEX.latestSucceeded,
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'succeededKey', KeyType: 'RANGE' },
        ],
        Projection: allAttributes,
      },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: CATALOG_INDEX.allRunsByStartedAt,
        KeySchema: [
          { AttributeName: 'allRuns', KeyType: 'HASH' },
          { AttributeName: 'startedKey', KeyType: 'RANGE' },
        ],
        Projection: allAttributes,
      },
    ],
  };
  return { createTable, timeToLive: { AttributeName: CATALOG_TTL_ATTRIBUTE, Enabled: true } };
}

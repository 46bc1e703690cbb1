// What test/support/global-setup.ts hands to every test file through `inject()`.
import type { PgConnection } from './psql.js';
import type { MariadbConnection } from './mariadb-server.js';
import type { MongoConnection } from './mongo-server.js';
import type { MotoConnection } from './moto-server.js';
import type { LocalStackConnection } from './localstack-server.js';
import type { FakeGcsConnection } from './fake-gcs-server.js';
import type { FirestoreConnection } from './firestore-emulator.js';
import type { AzuriteConnection } from './azurite-server.js';
import type { PubsubConnection } from './pubsub-emulator.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Absolute path of the repository root (with a trailing slash removed). */
    repoRoot: string;
    /** The run's shared PostgreSQL server; absent when it could not start outside CI. */
    pg?: PgConnection;
    /** One-line reason the PostgreSQL server is unavailable (only set outside CI). */
    pgUnavailable?: string;
    /** The run's shared MariaDB server; absent when it could not start outside CI. */
    mariadb?: MariadbConnection;
    mariadbUnavailable?: string;
    /** The run's MongoDB-compatible server (or `VAULTRA_TEST_MONGODB_URI`); absent when unavailable outside CI. */
    mongodb?: MongoConnection;
    mongodbUnavailable?: string;
    /** The run's moto server (S3, DynamoDB, KMS, Secrets Manager, SNS). */
    moto?: MotoConnection;
    motoUnavailable?: string;
    /** The run's LocalStack (S3, KMS, Secrets Manager, SNS, SQS, STS): the contract suites run on it as well as on moto. */
    localstack?: LocalStackConnection;
    localstackUnavailable?: string;
    fakeGcs?: FakeGcsConnection;
    fakeGcsUnavailable?: string;
    firestore?: FirestoreConnection;
    firestoreUnavailable?: string;
    azurite?: AzuriteConnection;
    azuriteUnavailable?: string;
    /** The run's Cloud Pub/Sub emulator. */
    pubsub?: PubsubConnection;
    pubsubUnavailable?: string;
  }
}

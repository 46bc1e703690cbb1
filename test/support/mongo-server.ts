/** Placeholder: the throwaway MongoDB-compatible server for tests is being built. */
export interface MongoConnection {
  /** `mongodb://…` without a database. */
  readonly url: string;
  /** What serves it, e.g. `FerretDB 1.24.0 (SQLite)` or `MongoDB 7.0 (VAULTRA_TEST_MONGODB_URI)`. */
  readonly server: string;
}

export interface MongoServer extends MongoConnection {
  stop(): Promise<void>;
}

export async function startMongo(): Promise<MongoServer> {
  throw new Error('the test MongoDB server is not built yet');
}

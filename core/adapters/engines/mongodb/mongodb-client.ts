import type { Db, MongoClient } from 'mongodb';
import type * as MongoDriverModule from 'mongodb';
import { AbortedError, oneLine } from '../../../errors.js';
import { redact } from '../../../domain/redact.js';
import { connectionUri, optionOf, type MongoConnection } from './mongodb-connection.js';

/** How long to look for a server before saying it is unreachable, unless the URL says otherwise. */
const SERVER_SELECTION_TIMEOUT_MS = 10_000;

/** What `hello` and `buildInfo` say about a server. */
export interface ServerFacts {
  /** e.g. `7.0.14`, or `7.0.42 (FerretDB v1.24.0)` when another server speaks the protocol. */
  readonly version: string;
  /** `hello.setName`: the replica set this server belongs to. */
  readonly replicaSet?: string;
}

/**
 * Runs `work` with a connected driver client, and closes it. The driver is loaded on first
 * use, so commands that never talk to MongoDB do not pay for it. Errors come back as one
 * redacted line, built by `fail(reason)`.
 */
export type MongoDriver = typeof MongoDriverModule;

/**
 * The driver, imported on first use. It is CommonJS: in the split bundle its named exports
 * sit on the namespace's `default`, under tsc/vitest on the namespace itself.
 */
export async function loadDriver(): Promise<MongoDriver> {
  const driver = (await import('mongodb')) as unknown as MongoDriver & { default?: MongoDriver };
  return driver.default?.MongoClient ? driver.default : driver;
}

export async function withClient<T>(
  connection: MongoConnection,
  work: (client: MongoClient) => Promise<T>,
  fail: (reason: string) => Error,
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) throw new AbortedError('cancelled');
  const client = await newClient(connection, fail);
  const onAbort = () => void client.close(true).catch(() => undefined);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await work(client);
  } catch (error) {
    if (signal?.aborted) throw new AbortedError('cancelled', { cause: error });
    throw fail(describeDriverError(error, connection));
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await client.close().catch(() => undefined);
  }
}

/**
 * A driver client for `connection`, not yet connected (the first operation connects): for work
 * that outlives one call, such as a log read that streams. The caller closes it.
 */
export async function newClient(connection: MongoConnection, fail: (reason: string) => Error): Promise<MongoClient> {
  const { MongoClient } = await loadDriver();
  const explicitTimeout = optionOf(connection, 'serverSelectionTimeoutMS') !== undefined;
  try {
    return new MongoClient(connectionUri(connection), {
      ...(explicitTimeout ? {} : { serverSelectionTimeoutMS: SERVER_SELECTION_TIMEOUT_MS }),
      appName: 'vaultra',
    });
  } catch (error) {
    throw fail(describeDriverError(error, connection));
  }
}

export async function serverFacts(client: MongoClient): Promise<ServerFacts> {
  const admin = client.db('admin');
  const [hello, build] = await Promise.all([admin.command({ hello: 1 }), admin.command({ buildInfo: 1 })]);
  const version = typeof build.version === 'string' ? build.version : 'unknown';
  // FerretDB answers as the MongoDB version it emulates, and says what it is in buildInfo.
  const ferret = typeof build.ferretdbVersion === 'string' ? build.ferretdbVersion : typeof build.ferretdb === 'object' && build.ferretdb && typeof build.ferretdb.version === 'string' ? build.ferretdb.version : undefined;
  return {
    version: ferret ? `${version} (FerretDB ${ferret})` : version,
    ...(typeof hello.setName === 'string' ? { replicaSet: hello.setName } : {}),
  };
}

/** Collections and views of a database, system collections left out, sorted by name. */
export async function collectionsOf(db: Db): Promise<{ name: string; type: string }[]> {
  const listed = await db.listCollections({}, { nameOnly: false, authorizedCollections: true }).toArray();
  return listed
    .map((c) => ({ name: String(c.name), type: typeof c.type === 'string' ? c.type : 'collection' }))
    .filter((c) => !c.name.startsWith('system.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Databases of the instance that hold users' data (not `admin`, `local`, `config`). */
export async function userDatabases(client: MongoClient): Promise<string[]> {
  const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true, authorizedDatabases: true });
  return databases
    .map((d) => d.name)
    .filter((name) => !['admin', 'local', 'config'].includes(name))
    .sort();
}

/** One line saying what went wrong talking to the server, without secrets. */
export function describeDriverError(error: unknown, connection: MongoConnection): string {
  const e = error as { name?: string; code?: number; codeName?: string; message?: string };
  const name = e?.name ?? '';
  let reason: string;
  if (name === 'MongoServerSelectionError' || name === 'MongoNetworkTimeoutError' || name === 'MongoNetworkError' || name === 'MongoTopologyClosedError') {
    reason = `cannot reach the server at ${connection.hosts}: ${oneLine(error)}`;
  } else if (e?.code === 18 || e?.codeName === 'AuthenticationFailed' || /authentication failed/i.test(e?.message ?? '')) {
    const source = optionOf(connection, 'authSource') ?? connection.database ?? 'admin';
    reason = `authentication failed for user ${connection.username ?? '(none)'} (authSource ${source}): check the user name, password and authSource`;
  } else if (e?.code === 13 || e?.codeName === 'Unauthorized') {
    reason = `not authorized: ${oneLine(error)}`;
  } else if (name === 'MongoParseError' || name === 'MongoInvalidArgumentError' || name === 'MongoAPIError') {
    reason = `invalid connection settings: ${oneLine(error)}`;
  } else {
    reason = oneLine(error);
  }
  return redact(reason);
}

/**
 * The MongoDB-compatible server the tests talk to.
 *
 * By default a throwaway FerretDB 1.x (built by scripts/setup-mongo.sh) on SQLite files in a
 * temp folder, on a random free port of 127.0.0.1, with authentication on: one admin user
 * whose password starts with the `canary-` prefix. No real `mongod` is reachable from any
 * registry this project uses.
 *
 * `VAULTRA_TEST_MONGODB_URI=mongodb://user:pass@host:port/?authSource=admin` runs the same
 * suite against that real MongoDB instead (nothing is started; the tests create and drop
 * their own `vaultra_*` databases there).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { connectionUri, parseMongoUrl } from '../../core/adapters/engines/mongodb/mongodb-connection.js';
import { serverFacts } from '../../core/adapters/engines/mongodb/mongodb-client.js';
import { killTree, spawnTracked, tail, waitForExit, which } from './exec.js';
import { freePort, PASSWORD_CANARY_PREFIX } from './postgres-server.js';
import { sleep } from './processes.js';

export interface MongoConnection {
  /** `mongodb://…` without a database. */
  readonly url: string;
  /** What serves it, e.g. `FerretDB 1.24.0 (SQLite)` or `MongoDB 7.0 (VAULTRA_TEST_MONGODB_URI)`. */
  readonly server: string;
}

export interface MongoServer extends MongoConnection {
  stop(): Promise<void>;
}

export const MONGO_ADMIN_USER = 'vaultra_admin';

/** Whether the suite runs against FerretDB (true) or a real MongoDB from `VAULTRA_TEST_MONGODB_URI`. */
export function isFerret(connection: MongoConnection): boolean {
  return connection.server.startsWith('FerretDB');
}

export async function startMongo(): Promise<MongoServer> {
  const external = process.env.VAULTRA_TEST_MONGODB_URI;
  if (external) {
    const url = connectionUri(parseMongoUrl(external));
    const facts = await withTestClient(url, (client) => serverFacts(client));
    return { url, server: `MongoDB ${facts.version}${facts.replicaSet ? ` replica set ${facts.replicaSet}` : ''} (VAULTRA_TEST_MONGODB_URI)`, stop: async () => undefined };
  }
  return startFerret();
}

/** Options for a FerretDB of a test's own (the shared one comes from global setup). */
export interface StartFerretOptions {
  /** Report this replica set name in `hello` (FerretDB keeps no oplog: mongodump --oplog fails). */
  readonly replicaSet?: string;
  /** Turn authentication on with an admin user (default true). */
  readonly auth?: boolean;
}

export async function startFerret(options: StartFerretOptions = {}): Promise<MongoServer> {
  const ferretdb = which('ferretdb');
  if (!ferretdb) throw new Error('ferretdb not found on PATH; run scripts/setup-system.sh (scripts/setup-mongo.sh builds it)');
  const baseDir = mkdtempSync(join(tmpdir(), 'vaultra-ferret-'));
  const dataDir = join(baseDir, 'data');
  mkdirSync(dataDir);
  const auth = options.auth ?? true;
  const password = `${PASSWORD_CANARY_PREFIX}${randomBytes(12).toString('hex')}`;
  const port = await freePort();
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${dataDir}/`,
    `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=-',
    '--telemetry=disable',
    `--state-dir=${baseDir}`,
    '--log-level=warn',
    '--log-format=text',
    ...(options.replicaSet ? [`--repl-set-name=${options.replicaSet}`] : []),
  ];
  // The setup password travels in FerretDB's environment, not its argv.
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (auth) {
    args.push('--test-enable-new-auth', '--setup-database=admin', `--setup-username=${MONGO_ADMIN_USER}`);
    env.FERRETDB_SETUP_PASSWORD = password;
  }
  const child = spawnTracked(ferretdb, args, { env });
  const log: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => log.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));
  const exited = waitForExit(child);
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    killTree(child, 'SIGTERM');
    const timer = setTimeout(() => killTree(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(baseDir, { recursive: true, force: true });
  };
  const userinfo = auth ? `${MONGO_ADMIN_USER}:${encodeURIComponent(password)}@` : '';
  const url = `mongodb://${userinfo}127.0.0.1:${port}/${auth ? '?authSource=admin' : ''}`;
  try {
    const deadline = Date.now() + 30_000;
    let lastError: unknown;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`ferretdb exited at start (${child.exitCode ?? child.signalCode}): ${tail(Buffer.concat(log).toString('utf8'), 5)}`);
      }
      try {
        const facts = await withTestClient(url, (client) => serverFacts(client), 2_000);
        return { url, server: `FerretDB ${/\(FerretDB (.*)\)/.exec(facts.version)?.[1] ?? facts.version} (SQLite)`, stop };
      } catch (error) {
        lastError = error;
      }
      if (Date.now() > deadline) throw new Error(`ferretdb did not answer within 30 s: ${String(lastError)}; log: ${tail(Buffer.concat(log).toString('utf8'), 5)}`);
      await sleep(100);
    }
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A driver client on `url` for test setup and assertions; always closed. */
export async function withTestClient<T>(url: string, work: (client: MongoClient) => Promise<T>, serverSelectionTimeoutMS = 10_000): Promise<T> {
  const client = new MongoClient(url, { serverSelectionTimeoutMS });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

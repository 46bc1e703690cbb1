import type { MongoClient } from 'mongodb';
import type { ServerCheck } from '../../../ports/log-archiver.js';
import { withClient, serverFacts } from './mongodb-client.js';
import type { MongoConnection } from './mongodb-connection.js';
import { newestEntry, oldestEntry, OPLOG_COLLECTION, OPLOG_DATABASE } from './oplog-collection.js';
import { NOT_A_REPLICA_SET } from './oplog-reader.js';

/** An oplog shorter than this loses changes when log pushes pause for a weekend night. */
const MIN_WINDOW_MS = 24 * 60 * 60 * 1000;

const READ_LOCAL_FIX = "grant the backup user read access to the local database, e.g. db.getSiblingDB('admin').grantRolesToUser('<user>', [{ role: 'read', db: 'local' }])";

/**
 * What point-in-time recovery needs of a MongoDB server, for `doctor`: a replica set (only
 * those keep an oplog), read access to `local.oplog.rs`, and an oplog that reaches back far
 * enough (its window: the time between its oldest and newest entry). Managed Atlas clusters
 * get a note: Atlas has its own continuous backup.
 */
export async function checkOplogServer(connection: MongoConnection, signal?: AbortSignal): Promise<readonly ServerCheck[]> {
  const checks: ServerCheck[] = [];
  if (isAtlas(connection)) {
    checks.push({
      name: 'managed service',
      status: 'warn',
      detail: 'MongoDB Atlas: Atlas has its own continuous cloud backup with point-in-time restore',
      fix: "use Atlas's continuous backup, or give Vaultra's user the read role on local (a custom role with find on local.oplog.rs) to archive the oplog itself",
    });
  }
  try {
    await withClient(connection, (client) => checkServer(client, checks), (reason) => new Error(reason), signal);
  } catch (error) {
    checks.push({ name: 'connection', status: 'fail', detail: error instanceof Error ? error.message : String(error), fix: 'check the URL, the credentials and that the server is reachable' });
  }
  return checks;
}

async function checkServer(client: MongoClient, checks: ServerCheck[]): Promise<void> {
  const facts = await serverFacts(client);
  if (facts.replicaSet === undefined) {
    checks.push({ name: 'replica set', status: 'fail', detail: `a standalone server (${facts.version}): it keeps no oplog`, fix: NOT_A_REPLICA_SET });
    return;
  }
  checks.push({ name: 'replica set', status: 'ok', detail: `member of replica set ${facts.replicaSet} (${facts.version})` });
  let ends: Awaited<ReturnType<typeof oplogEnds>>;
  try {
    ends = await oplogEnds(client);
  } catch (error) {
    const e = error as { code?: number; codeName?: string; message?: string };
    if (e.code === 13 || e.codeName === 'Unauthorized') {
      checks.push({ name: 'oplog read access', status: 'fail', detail: `the user may not read ${OPLOG_DATABASE}.${OPLOG_COLLECTION}`, fix: READ_LOCAL_FIX });
      return;
    }
    throw error;
  }
  checks.push({ name: 'oplog read access', status: 'ok', detail: `${OPLOG_DATABASE}.${OPLOG_COLLECTION} is readable` });
  if (!ends) {
    checks.push({ name: 'oplog window', status: 'fail', detail: 'the oplog is empty', fix: 'initiate the replica set (rs.initiate()) and write once' });
    return;
  }
  const windowMs = ends.newest.at.getTime() - ends.oldest.at.getTime();
  const size = await oplogSizeBytes(client);
  const detail = `${formatDuration(windowMs)} between its oldest (${ends.oldest.at.toISOString()}) and newest entry (${ends.newest.at.toISOString()})${size !== undefined ? `, capped at ${formatBytes(size)}` : ''}`;
  checks.push(
    windowMs >= MIN_WINDOW_MS
      ? { name: 'oplog window', status: 'ok', detail }
      : { name: 'oplog window', status: 'warn', detail, fix: 'push logs more often than the window, or grow the oplog (db.adminCommand({ replSetResizeOplog: 1, size: <MB> }))' },
  );
}

async function oplogEnds(client: MongoClient) {
  const [oldest, newest] = await Promise.all([oldestEntry(client), newestEntry(client)]);
  return oldest && newest ? { oldest, newest } : undefined;
}

/** The oplog's cap (`collStats.maxSize`), when the server says. */
async function oplogSizeBytes(client: MongoClient): Promise<number | undefined> {
  const stats = await client
    .db(OPLOG_DATABASE)
    .command({ collStats: OPLOG_COLLECTION })
    .catch(() => undefined);
  const max: unknown = stats?.maxSize;
  return typeof max === 'number' && max > 0 ? max : undefined;
}

function isAtlas(connection: MongoConnection): boolean {
  return connection.hosts.split(',').some((host) => /\.mongodb\.net(?::\d+)?$/i.test(host));
}

function formatDuration(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48 ? `${(hours / 24).toFixed(1)} days` : hours >= 1 ? `${hours.toFixed(1)} hours` : `${Math.max(0, Math.round(ms / 60_000))} minutes`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${Math.round(bytes / 1024 ** 2)} MiB`;
}

import type { Collection, MongoClient, Timestamp } from 'mongodb';
import { entryTime, positionOf } from './oplog-position.js';

/** Where a replica set member keeps its oplog. */
export const OPLOG_DATABASE = 'local';
export const OPLOG_COLLECTION = 'oplog.rs';

/** The server gives up on reading an end of the oplog after this long (it reads one entry). */
const END_READ_MAX_TIME_MS = 20_000;

/** One end of the oplog: an entry's position and server time. */
export interface OplogMark {
  readonly ts: Timestamp;
  readonly position: string;
  readonly at: Date;
}

export function oplogOf(client: MongoClient): Collection {
  return client.db(OPLOG_DATABASE).collection(OPLOG_COLLECTION);
}

/** The newest entry (the log's current end), or undefined when the oplog is empty. */
export function newestEntry(client: MongoClient): Promise<OplogMark | undefined> {
  return endOf(client, -1);
}

/** The oldest entry the server still keeps (older ones rolled over), or undefined when the oplog is empty. */
export function oldestEntry(client: MongoClient): Promise<OplogMark | undefined> {
  return endOf(client, 1);
}

async function endOf(client: MongoClient, direction: 1 | -1): Promise<OplogMark | undefined> {
  // $natural is the order entries were written in: the oplog is a capped collection.
  const entry = await oplogOf(client).findOne<{ ts: Timestamp; wall?: Date }>({}, { sort: { $natural: direction }, projection: { ts: 1, wall: 1 }, maxTimeMS: END_READ_MAX_TIME_MS });
  return entry ? { ts: entry.ts, position: positionOf(entry.ts), at: entryTime(entry) } : undefined;
}

import { Readable } from 'node:stream';
import type { Document, MongoClient, Timestamp } from 'mongodb';
import type { LogRange } from '../../../domain/log-archive.js';
import { compareLogPositions, isLogPosition } from '../../../domain/log-archive.js';
import type { LogRead, LogReadOptions } from '../../../ports/log-archiver.js';
import { AbortedError, ConfigError, DumpFailedError } from '../../../errors.js';
import { describeDriverError, loadDriver, newClient, serverFacts } from './mongodb-client.js';
import type { MongoConnection } from './mongodb-connection.js';
import { newestEntry, oldestEntry, oplogOf, type OplogMark } from './oplog-collection.js';
import { OPLOG_FORMAT } from './oplog-entries.js';
import { entryTime, timestampParts } from './oplog-position.js';

/** What a log read says when the server keeps no oplog. */
export const NOT_A_REPLICA_SET =
  'point-in-time recovery reads the oplog, which only a replica set keeps: start mongod with --replSet <name> and run rs.initiate() once (a single-node replica set is enough)';

/**
 * A log catch-up of `local.oplog.rs` through the driver: every entry after `since` up to the
 * entry that was newest when the read began, in the order they were written, as raw BSON
 * documents concatenated (`oplog-bson/v1`, what mongorestore's `oplog.bson` takes).
 *
 * The server's clock is read before the newest entry, so every change committed before
 * `coveredUntil` has its entry at or before `end`. When the oplog no longer reaches back to
 * `since` (it rolled over), the read starts at the oldest entry and the range says what was
 * lost (`gapFrom`). Without `since` the range is empty and starts the archive at the newest entry.
 */
export async function readOplog(connection: MongoConnection, since: string | undefined, options: LogReadOptions): Promise<LogRead> {
  if (options.signal?.aborted) throw new AbortedError('cancelled');
  if (since !== undefined && !isLogPosition('oplog', since)) throw new ConfigError(`"${since.slice(0, 40)}" is not an oplog position (seconds:increment): the archive's end belongs to another kind of log`);
  const fail = (reason: string) => new DumpFailedError(`cannot read the oplog of ${connection.display}: ${reason}`, '');
  const driver = await loadDriver();
  const client = await newClient(connection, fail);
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.close().catch(() => undefined);
  };
  try {
    const plan = await planRead(client, connection, since, options);
    const counted: { events: number; first?: Date; last?: Date } = { events: 0 };
    let finished: (range: Omit<LogRange, 'kind' | 'format'>) => void;
    let failed: (error: Error) => void;
    const done = new Promise<Omit<LogRange, 'kind' | 'format'>>((resolve, reject) => {
      finished = resolve;
      failed = reject;
    });
    // The use case awaits range() only after the stream ended; a failed read is reported by the stream.
    done.catch(() => undefined);

    async function* entries(): AsyncGenerator<Buffer> {
      try {
        if (plan.from !== undefined) {
          const cursor = oplogOf(client).find(plan.filter, { sort: { $natural: 1 }, raw: true } as Document);
          for await (const raw of cursor as AsyncIterable<Buffer>) {
            const entry = driver.BSON.deserialize(raw) as { ts: Timestamp; wall?: Date };
            const at = entryTime(entry);
            counted.first ??= at;
            counted.last = at;
            counted.events += 1;
            yield raw;
          }
        }
      } catch (error) {
        const reason = options.signal?.aborted ? new AbortedError('cancelled', { cause: error }) : fail(describeDriverError(error, connection));
        failed!(reason);
        throw reason;
      }
      finished!({
        start: plan.start,
        end: plan.end.position,
        ...(counted.first ? { firstEventAt: counted.first.toISOString() } : {}),
        ...(counted.last ? { lastEventAt: counted.last.toISOString() } : {}),
        coveredUntil: plan.coveredUntil.toISOString(),
        events: counted.events,
        ...(plan.gapFrom !== undefined ? { gapFrom: plan.gapFrom } : {}),
      });
    }

    // Destroying the stream returns the generator, which closes the cursor.
    const stream = Readable.from(entries(), { objectMode: false });
    const onAbort = () => stream.destroy(new AbortedError('cancelled'));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    stream.once('close', () => options.signal?.removeEventListener('abort', onAbort));
    return {
      stream,
      // No tool runs: the server's own oplog, read through the driver, is what the range holds.
      tool: { name: 'mongodb-oplog', version: plan.serverVersion },
      format: OPLOG_FORMAT,
      range: () => done,
      close,
    };
  } catch (error) {
    await close();
    if (error instanceof ConfigError || error instanceof DumpFailedError) throw error;
    if (options.signal?.aborted) throw new AbortedError('cancelled', { cause: error });
    throw fail(describeDriverError(error, connection));
  }
}

interface ReadPlan {
  /** Entries after this position (undefined: none to read). */
  readonly from?: string;
  readonly filter: Document;
  readonly start: string;
  readonly end: OplogMark;
  readonly coveredUntil: Date;
  readonly gapFrom?: string;
  readonly serverVersion: string;
}

/** Where the read starts and ends, decided before any entry is read. */
async function planRead(client: MongoClient, connection: MongoConnection, since: string | undefined, options: LogReadOptions): Promise<ReadPlan> {
  const facts = await serverFacts(client);
  if (facts.replicaSet === undefined) throw new ConfigError(`${connection.display} is not a replica set: ${NOT_A_REPLICA_SET}`);
  // The clock first, the newest entry second: a change committed before that clock reading is at or before `end`.
  const coveredUntil = await serverTime(client, options.now);
  const [end, oldest] = await Promise.all([newestEntry(client), oldestEntry(client)]);
  if (!end || !oldest) throw new DumpFailedError(`the oplog of ${connection.display} is empty: initiate the replica set (rs.initiate()) and write once before pushing logs`, '');
  const base = { end, coveredUntil, serverVersion: facts.version };
  if (since === undefined) return { ...base, start: end.position, filter: {} };
  if (compareLogPositions('oplog', since, end.position) > 0) {
    throw new DumpFailedError(
      `the archive ends at ${since}, after the newest oplog entry of ${connection.display} (${end.position}): the archive belongs to another replica set, or this one was rebuilt; take a new base backup into a new archive`,
      '',
    );
  }
  const { Timestamp } = await loadDriver();
  const upTo = { $lte: end.ts };
  if (compareLogPositions('oplog', oldest.position, since) > 0) {
    // Rolled over: what lay between `since` and the oldest entry is gone.
    return { ...base, from: oldest.position, start: oldest.position, gapFrom: since, filter: { ts: { $gte: oldest.ts, ...upTo } } };
  }
  return { ...base, from: since, start: since, filter: { ts: { $gt: new Timestamp(timestampParts(since)), ...upTo } } };
}

/** The server's clock (`hello.localTime`), or the caller's when the server does not say. */
async function serverTime(client: MongoClient, now: () => Date): Promise<Date> {
  const hello = await client.db('admin').command({ hello: 1 });
  const localTime: unknown = hello.localTime;
  return localTime instanceof Date && !Number.isNaN(localTime.getTime()) ? localTime : now();
}


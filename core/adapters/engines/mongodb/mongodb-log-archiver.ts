import type { LogArchiver, LogRead, LogReadOptions, ReplayOptions, ReplayRange, ReplayReport, ServerCheck } from '../../../ports/log-archiver.js';
import type { MongoSource } from './mongodb-descriptor.js';
import { checkOplogServer } from './oplog-checks.js';
import { readOplog } from './oplog-reader.js';
import { replayOplog } from './oplog-replay.js';

/**
 * MongoDB's side of point-in-time recovery: archives a replica set's oplog (`oplog-bson/v1`,
 * oplog-reader.ts) and replays archived ranges with mongorestore (oplog-replay.ts).
 */
export class MongodbLogArchiver implements LogArchiver<MongoSource> {
  readonly kind = 'oplog' as const;

  read(source: MongoSource, since: string | undefined, options: LogReadOptions): Promise<LogRead> {
    return readOplog(source.parts, since, options);
  }

  replay(target: MongoSource, ranges: readonly ReplayRange[], options: ReplayOptions): Promise<ReplayReport> {
    return replayOplog(target.parts, ranges, options);
  }

  checkServer(source: MongoSource, signal?: AbortSignal): Promise<readonly ServerCheck[]> {
    return checkOplogServer(source.parts, signal);
  }
}

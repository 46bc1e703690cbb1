import { baseLogDetails } from '../../../domain/log-archive.js';
import { oneLine } from '../../../errors.js';
import { withClient } from './mongodb-client.js';
import type { MongoConnection } from './mongodb-connection.js';
import { newestEntry, type OplogMark } from './oplog-collection.js';

/**
 * Where a dump of a replica set sits in the oplog, for point-in-time recovery: replay starts
 * after the newest entry seen before mongodump began (`logStart`), and the base is consistent
 * once replay has passed the newest entry seen after it ended (`logConsistent`): every
 * collection had been read by then (with `--oplog`, the archive's own replay reaches about
 * there too). Reading the end after the tool exited can only place it later than the dump's
 * true end: a restore then starts a little later, never inconsistent.
 *
 * Best effort: a user who may dump but not read `local` gets a backup without a log position
 * (and a warning), not a failed backup.
 */
/** How long the position read before and after a dump may take (it is one indexed read). */
const POSITION_READ_TIMEOUT_MS = 30_000;

export class OplogBasePosition {
  private start?: OplogMark;
  private readonly problems: string[] = [];

  constructor(private readonly connection: MongoConnection) {}

  /** Before the dump starts. */
  async markStart(signal?: AbortSignal): Promise<void> {
    this.start = await this.newest(signal);
  }

  /** After the dump ended successfully: the details to save (empty when a mark could not be read), and warnings. */
  async finish(signal?: AbortSignal): Promise<{ details: Record<string, string>; warnings: string[] }> {
    const end = this.start ? await this.newest(signal) : undefined;
    const details = this.start && end ? baseLogDetails({ kind: 'oplog', start: this.start.position, consistent: end.position, consistentAt: end.at }) : {};
    return { details, warnings: this.problems };
  }

  private async newest(signal?: AbortSignal): Promise<OplogMark | undefined> {
    // Best effort must not become a hung backup: the read gets a bounded time of its own.
    const timeout = AbortSignal.timeout(POSITION_READ_TIMEOUT_MS);
    const bounded = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      return await withClient(this.connection, newestEntry, (reason) => new Error(reason), bounded);
    } catch (error) {
      if (signal?.aborted) throw error;
      const why = timeout.aborted ? `no answer within ${POSITION_READ_TIMEOUT_MS / 1000} s` : oneLine(error);
      this.problems.push(`the dump's oplog position could not be read (${why}): this backup cannot be a base for point-in-time recovery; check that the user may read the local database`);
      return undefined;
    }
  }
}

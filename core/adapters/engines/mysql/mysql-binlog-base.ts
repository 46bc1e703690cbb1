import { Transform, type TransformCallback } from 'node:stream';
import { baseLogDetails } from '../../../domain/log-archive.js';
import { DumpFailedError } from '../../../errors.js';
import type { ToolExit } from '../../process/child-process.js';
import { lastLine, queryJson } from './mysql-client.js';
import type { MysqlConnection } from './mysql-connection.js';

/** `-- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000001', MASTER_LOG_POS=1370;` (mariadb-dump --master-data=2). */
export const POSITION_COMMENT = /^-- CHANGE MASTER TO MASTER_LOG_FILE='([^']+)', MASTER_LOG_POS=(\d+);$/m;
/** The position comment comes in the dump's header, before any table: no need to look further. */
export const HEADER_BYTES = 256 * 1024;

/** The server's clock, in UTC, as `DATE_FORMAT` prints it for `new Date`. */
export const UTC_NOW_SQL = `DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ')`;

/**
 * A dump's place in the binary log, as `dump.details` records it: replay starts at
 * `file:position` (the first change not in the dump, which is consistent right there), and
 * `at` is a server time read once the snapshot had been taken, so a restore to any time from
 * `at` on may start from this dump.
 */
export function binlogBaseDetails(file: string, position: number | string, at: Date): Record<string, string> {
  const start = `${file}:${position}`;
  return baseLogDetails({ kind: 'binlog', start, consistent: start, consistentAt: at });
}

/**
 * Passes a `mariadb-dump --single-transaction --master-data=2` dump through and picks out the
 * snapshot's binlog position, which the tool writes (commented out) into the dump's header: the
 * exact position of the very snapshot it dumps (MariaDB's `binlog_snapshot_*`, no lock). As soon
 * as the position is seen, the server's clock is read (`consistentAt`, at or after the snapshot);
 * the dump ends only once that answered, with `details` filled in.
 */
export class BinlogPositionTap extends Transform {
  private header: Buffer[] = [];
  private headerBytes = 0;
  private found: Promise<Record<string, string>> | undefined;

  constructor(
    private readonly connection: MysqlConnection,
    /** Filled in (mutated) at the end of the dump: what the engine returned as `details`. */
    private readonly details: Record<string, string>,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.found && this.headerBytes < HEADER_BYTES) {
      this.header.push(chunk);
      this.headerBytes += chunk.length;
      const m = POSITION_COMMENT.exec(Buffer.concat(this.header).toString('latin1'));
      if (m) {
        const [, file, position] = m;
        this.header = [];
        this.found = serverTime(this.connection).then((at) => binlogBaseDetails(file!, position!, at));
        // Seen, and nothing to wait on: an unhandled rejection would be reported before _flush awaits it.
        this.found.catch(() => undefined);
      } else if (this.headerBytes >= HEADER_BYTES) this.header = [];
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.found) {
      this.details.logPosition = 'none: the dump has no CHANGE MASTER comment, so no binlog position was recorded';
      return callback();
    }
    this.found.then(
      (position) => {
        Object.assign(this.details, position);
        callback();
      },
      (error: unknown) => callback(error as Error),
    );
  }
}

/** The server's clock (UTC). */
export async function serverTime(connection: MysqlConnection, signal?: AbortSignal): Promise<Date> {
  const onFailure = (exit: ToolExit) => new DumpFailedError(`cannot read the server time of ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
  const [row] = await queryJson<{ now: string }>(connection, `SELECT JSON_OBJECT('now', ${UTC_NOW_SQL});`, { signal, onFailure });
  const at = new Date(row?.now ?? '');
  if (Number.isNaN(at.getTime())) throw new DumpFailedError(`${connection.display} answered no usable time (${String(row?.now).slice(0, 40)})`, '');
  return at;
}

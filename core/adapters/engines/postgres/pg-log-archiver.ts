import type { LogArchiver, LogRead, LogReadOptions, ReplayOptions, ReplayRange, ReplayReport, ServerCheck } from '../../../ports/log-archiver.js';
import { requireServer } from './postgres-connection.js';
import type { PostgresSource } from './postgres-descriptor.js';
import { replayIntoDataDirectory } from './pg-recovery.js';
import { checkWalArchiving } from './pg-wal-checks.js';
import { readWalSince } from './pg-wal-reader.js';

/**
 * PostgreSQL's WAL for point-in-time recovery (docs/point-in-time.md): a catch-up reads WAL
 * with pg_receivewal (pg-wal-reader.ts), a replay stages it into a restored physical base and
 * lets the server recover (pg-recovery.ts). `archive_command` mode reads one finished file at a
 * time instead (`readWalFile`, pg-wal-segment-file.ts).
 */
export class PostgresLogArchiver implements LogArchiver<PostgresSource> {
  readonly kind = 'wal' as const;

  read(source: PostgresSource, since: string | undefined, options: LogReadOptions): Promise<LogRead> {
    return readWalSince(requireServer(source.parts, 'a log push'), since, options);
  }

  replay(target: PostgresSource, ranges: readonly ReplayRange[], options: ReplayOptions): Promise<ReplayReport> {
    return replayIntoDataDirectory(target.parts, ranges, options);
  }

  checkServer(source: PostgresSource, signal?: AbortSignal): Promise<readonly ServerCheck[]> {
    return checkWalArchiving(requireServer(source.parts, 'a server check'), signal);
  }
}

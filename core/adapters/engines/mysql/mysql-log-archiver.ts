import type { LogArchiver, LogRead, LogReadOptions, ReplayOptions, ReplayRange, ReplayReport, ServerCheck } from '../../../ports/log-archiver.js';
import { checkBinlogServer } from './mysql-binlog-checks.js';
import { readBinlog } from './mysql-binlog-reader.js';
import { replayBinlog } from './mysql-binlog-replay.js';
import type { MysqlSource } from './mysql-descriptor.js';

/**
 * MySQL/MariaDB point-in-time recovery through the binary log: `read` copies it as raw pieces
 * (`binlog-tar/v1`, mysql-binlog-reader.ts), `replay` applies them to a restored base up to a
 * time (mysql-binlog-replay.ts), `checkServer` says which server settings are missing
 * (mysql-binlog-checks.ts). A dump records where it sits in the log (`logStart`, see
 * mysql-binlog-base.ts).
 */
export class MysqlLogArchiver implements LogArchiver<MysqlSource> {
  readonly kind = 'binlog' as const;

  read(source: MysqlSource, since: string | undefined, options: LogReadOptions): Promise<LogRead> {
    return readBinlog(source.parts, since, options);
  }

  replay(target: MysqlSource, ranges: readonly ReplayRange[], options: ReplayOptions): Promise<ReplayReport> {
    return replayBinlog(target.parts, ranges, options);
  }

  checkServer(source: MysqlSource, signal?: AbortSignal): Promise<readonly ServerCheck[]> {
    return checkBinlogServer(source.parts, signal);
  }
}

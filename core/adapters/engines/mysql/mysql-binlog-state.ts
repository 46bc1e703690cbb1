import { ConfigError, DumpFailedError } from '../../../errors.js';
import type { ToolExit } from '../../process/child-process.js';
import { lastLine } from './mysql-client.js';
import type { MysqlConnection } from './mysql-connection.js';
import { MysqlSession } from './mysql-session.js';
import { chooseTool, majorVersion, serverFlavor, type Flavor } from './mysql-tools.js';

/** A binlog file the server still has. */
export interface BinlogFile {
  readonly name: string;
  readonly bytes: number;
}

/** Where a server's binary log stands, read in one session. */
export interface BinlogState {
  readonly flavor: Flavor;
  readonly version: string;
  /**
   * The server's clock (UTC) read just *before* its position: every transaction committed before
   * this time is in the log before `file:position`.
   */
  readonly readAt: Date;
  readonly file: string;
  readonly position: number;
  /** The files the server has, oldest first (SHOW BINARY LOGS). */
  readonly files: readonly BinlogFile[];
  /** The GTID position at `file:position` (MariaDB: BINLOG_GTID_POS; MySQL: Executed_Gtid_Set), when there is one. */
  readonly gtid?: string;
}

/** How to turn on what point-in-time recovery needs, said wherever the binary log is found off. */
export const BINLOG_OFF_FIX =
  'turn the binary log on: start the server with log_bin (e.g. log-bin=mysql-bin), server_id=1 and binlog_format=ROW in its [mysqld] options (on RDS: set a backup retention period above 0), then restart it';

const TIME_FORMAT = `'%Y-%m-%dT%H:%i:%s.%fZ'`;

/**
 * Reads the server's binary-log position, the files it still has and its clock. Rejects with
 * ConfigError when the binary log is off or the account may not read it.
 */
export async function readBinlogState(connection: MysqlConnection, signal?: AbortSignal): Promise<BinlogState> {
  const { tool } = await chooseTool('client', connection.scheme);
  const session = await MysqlSession.open(tool, connection, stateFailure(connection));
  const onAbort = () => void session.kill();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [server] = await session.run(`SELECT @@log_bin + 0, VERSION(), DATE_FORMAT(UTC_TIMESTAMP(6), ${TIME_FORMAT});`);
    const [logBin, version = '', now = ''] = (server ?? '').split('\t');
    if (logBin !== '1') throw new ConfigError(`the binary log is off on ${connection.display}: ${BINLOG_OFF_FIX}`);
    const flavor = serverFlavor(version);
    // MySQL 8.4 dropped SHOW MASTER STATUS for SHOW BINARY LOG STATUS.
    const statusSql = flavor === 'mysql' && (majorVersion(version) > 8 || /^8\.([4-9]|\d\d)\./.test(version)) ? 'SHOW BINARY LOG STATUS;' : 'SHOW MASTER STATUS;';
    const [status] = await session.run(statusSql);
    const [file, position, , , executed] = (status ?? '').split('\t');
    if (!file || !position || !/^\d+$/.test(position)) throw new ConfigError(`${connection.display} reports no binary-log position (${statusSql.replace(';', '')} is empty): ${BINLOG_OFF_FIX}`);
    const files = (await session.run('SHOW BINARY LOGS;')).map((line) => {
      const [name = '', bytes = '0'] = line.split('\t');
      return { name, bytes: Number(bytes) };
    });
    let gtid = flavor === 'mysql' ? (executed ?? '').replace(/\\n|\s+/g, '') : undefined;
    if (flavor === 'mariadb') {
      const [pos] = await session.run(`SELECT BINLOG_GTID_POS(${sqlText(file)}, ${position});`);
      gtid = pos && pos !== 'NULL' ? pos : undefined;
    }
    return { flavor, version, readAt: new Date(now), file, position: Number(position), files, ...(gtid ? { gtid } : {}) };
  } finally {
    signal?.removeEventListener('abort', onAbort);
    await session.close();
  }
}

/** A failed state query: a missing privilege says which to grant. */
function stateFailure(connection: MysqlConnection): (exit: ToolExit) => Error {
  return (exit) =>
    /\bERROR 1227\b|Access denied; you need/.test(exit.stderrTail)
      ? new ConfigError(
          `the account may not read the binary log on ${connection.display} (${lastLine(exit)}): GRANT BINLOG MONITOR, REPLICATION SLAVE ON *.* (MariaDB 10.5+; MySQL: REPLICATION CLIENT, REPLICATION SLAVE)`,
        )
      : new DumpFailedError(`cannot read the binary-log position of ${connection.display}: ${lastLine(exit)}`, exit.stderrTail);
}

/** A string literal for a binlog file name (letters, digits, dots, dashes: nothing to escape in practice). */
function sqlText(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

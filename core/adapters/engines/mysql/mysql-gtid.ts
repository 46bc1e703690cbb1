import type { ToolExit } from '../../process/child-process.js';
import type { MysqlConnection } from './mysql-connection.js';
import { queryJson } from './mysql-client.js';
import { MARIADB_GTID_SQL, MYSQL_GTID_SQL } from './mysql-queries.js';
import type { Flavor, MysqlTool } from './mysql-tools.js';

/** How a dump handles GTIDs: the dump tool's options, and what the manifest records about it. */
export interface GtidPlan {
  readonly args: readonly string[];
  /** Saved in the manifest's `dump.details`. */
  readonly details: Readonly<Record<string, string>>;
}

/**
 * Decides the dump's GTID options, and reads the server's GTID state just before the dump.
 *
 * - MariaDB with the binary log on, dumped by `mariadb-dump`: `--master-data=2 --gtid`. With
 *   `--single-transaction` MariaDB reads the binary-log position of the very snapshot the dump
 *   is taken from (`binlog_snapshot_*`, no FLUSH TABLES WITH READ LOCK, no extra privilege),
 *   and writes it into the dump *commented out* (`-- SET GLOBAL gtid_slave_pos='0-1-42';`,
 *   `-- CHANGE MASTER TO …`): exact, for whoever builds a replica from the backup, while a
 *   restore never touches the target's replication state.
 * - MySQL, dumped by `mysqldump`: `--set-gtid-purged=OFF`. The default (AUTO) writes
 *   `SET @@GLOBAL.GTID_PURGED=…` and `SET @@SESSION.SQL_LOG_BIN=0` when GTIDs are on: such a
 *   dump fails on any target that has executed transactions of its own, and its restore is not
 *   written to the target's binary log (replicas of the target would never see it). A backup
 *   must restore into any database, as ordinary binlogged transactions. The server's
 *   `gtid_executed` just before the dump is recorded instead (approximate: read before the
 *   snapshot, not in it).
 * - The other family's tool (a fallback): no GTID options (each family's options fail against
 *   the other's server); the state read before the dump is recorded.
 */
export async function planGtid(
  connection: MysqlConnection,
  server: { flavor: Flavor; logBin: boolean },
  tool: MysqlTool,
  options: { signal?: AbortSignal; onFailure: (exit: ToolExit) => Error },
): Promise<GtidPlan> {
  if (server.flavor === 'mariadb') {
    const [state] = await queryJson<{ binlogPos: string; currentPos: string }>(connection, MARIADB_GTID_SQL, options);
    const details: Record<string, string> = {
      binaryLog: server.logBin ? 'on' : 'off',
      gtidBinlogPosBeforeDump: state?.binlogPos ?? '',
      gtidCurrentPosBeforeDump: state?.currentPos ?? '',
    };
    if (!server.logBin) {
      return { args: [], details: { ...details, gtidHandling: 'none: the binary log is off, so the server has no binary-log GTID position to record' } };
    }
    if (tool.flavor !== 'mariadb') {
      return { args: ['--set-gtid-purged=OFF'], details: { ...details, gtidHandling: `MySQL's ${tool.command} cannot record a MariaDB GTID position: gtidBinlogPosBeforeDump (read just before the dump) is the closest` } };
    }
    return {
      args: ['--master-data=2', '--gtid'],
      details: {
        ...details,
        gtidHandling:
          "--master-data=2 --gtid: the snapshot's exact GTID position is in the dump as a comment (-- SET GLOBAL gtid_slave_pos='…'), for building a replica; a restore does not change the target's replication state",
      },
    };
  }
  const [state] = await queryJson<{ gtidMode: string | null; executed: string | null }>(connection, MYSQL_GTID_SQL, options);
  const details: Record<string, string> = {
    binaryLog: server.logBin ? 'on' : 'off',
    gtidMode: state?.gtidMode ?? 'unknown',
    gtidExecutedBeforeDump: (state?.executed ?? '').replace(/\s+/g, ''),
  };
  if (tool.flavor !== 'mysql') {
    return { args: [], details: { ...details, gtidHandling: `MariaDB's ${tool.command} writes no MySQL GTID state: gtidExecutedBeforeDump (read just before the dump) is the closest` } };
  }
  return {
    args: ['--set-gtid-purged=OFF'],
    details: {
      ...details,
      gtidHandling:
        '--set-gtid-purged=OFF: no SET @@GLOBAL.GTID_PURGED in the dump, so it restores into any server as new, binlogged transactions; gtidExecutedBeforeDump was read just before the snapshot',
    },
  };
}

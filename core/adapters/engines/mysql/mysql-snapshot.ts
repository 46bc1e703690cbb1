import type { ToolExit } from '../../process/child-process.js';
import { lastLine } from './mysql-client.js';
import { binlogBaseDetails, UTC_NOW_SQL } from './mysql-binlog-base.js';
import type { MysqlConnection } from './mysql-connection.js';
import { MysqlSession } from './mysql-session.js';
import { DUMP_SESSION_SQL } from './mysql-table-rows.js';
import type { Flavor, MysqlTool } from './mysql-tools.js';

/** Sessions that all read one and the same consistent snapshot, and what the manifest records about it. */
export interface SnapshotSessions {
  readonly sessions: readonly MysqlSession[];
  readonly consistency: string;
  /** Facts for `dump.details`: how the snapshot was taken and its binary-log / GTID position. */
  readonly details: Readonly<Record<string, string>>;
  readonly warnings: readonly string[];
}

/**
 * How long FLUSH TABLES WITH READ LOCK may wait for running statements. While it waits, writes
 * wait behind it: a long query on the source must cost a parallel dump, not stall the application.
 */
const LOCK_WAIT_SECONDS = 10;

const START_SNAPSHOT_SQL = `SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ; START TRANSACTION WITH CONSISTENT SNAPSHOT; ${DUMP_SESSION_SQL}`;

/**
 * Opens `wanted` sessions on one consistent InnoDB snapshot.
 *
 * One session needs nothing but `START TRANSACTION WITH CONSISTENT SNAPSHOT`. Several separate
 * transactions see the same data only if nothing commits between their starts: a control
 * session holds `FLUSH TABLES WITH READ LOCK` (which waits for running statements and blocks
 * every commit) while the others start theirs, then `UNLOCK TABLES` — mydumper's method; the
 * lock lasts as long as it takes to start the clients. Without the RELOAD privilege the lock
 * is refused: then one session reads every table in turn, said in the warnings.
 *
 * The binary-log position: MariaDB reports the very snapshot's (`binlog_snapshot_file/position`,
 * GTID by `BINLOG_GTID_POS`); MySQL's `gtid_executed` is read under the lock (exact) or, with one
 * session, just before the snapshot (approximate), and said so.
 */
export async function openSnapshotSessions(
  client: MysqlTool,
  connection: MysqlConnection,
  server: { readonly flavor: Flavor; readonly logBin: boolean },
  wanted: number,
  onFailure: (exit: ToolExit) => Error,
): Promise<SnapshotSessions> {
  const warnings: string[] = [];
  const details: Record<string, string> = { binaryLog: server.logBin ? 'on' : 'off' };
  const opened: MysqlSession[] = [];
  let control: MysqlSession | undefined;
  try {
    if (wanted > 1) {
      control = await MysqlSession.open(client, connection, onFailure);
      const locked = await control.run(`SET SESSION lock_wait_timeout = ${LOCK_WAIT_SECONDS}; FLUSH TABLES WITH READ LOCK;`).then(
        () => true,
        () => false,
      );
      if (!locked) {
        const exit = await control.exited;
        control = undefined;
        warnings.push(`FLUSH TABLES WITH READ LOCK was refused or timed out (${lastLine(exit)}): the tables were read by one session in turn (jobs 1); grant RELOAD to the backup user, and avoid statements running for more than ${LOCK_WAIT_SECONDS} s at backup time, for parallel reads`);
        wanted = 1;
      } else if (server.flavor === 'mysql') {
        const [executed] = await control.run('SELECT @@GLOBAL.gtid_executed;');
        details.gtidExecuted = unescape(executed ?? '').replace(/\s+/g, '');
      }
    }
    if (!control && server.flavor === 'mysql') {
      const before = await MysqlSession.open(client, connection, onFailure);
      const [executed] = await before.run('SELECT @@GLOBAL.gtid_executed;');
      await before.close();
      details.gtidExecutedBeforeDump = unescape(executed ?? '').replace(/\s+/g, '');
    }
    for (let i = 0; i < wanted; i++) opened.push(await MysqlSession.open(client, connection, onFailure));
    await Promise.all(opened.map((session) => session.run(START_SNAPSHOT_SQL)));
    if (control) {
      await control.run('UNLOCK TABLES;');
      await control.close();
    }
    if (server.flavor === 'mariadb' && server.logBin) Object.assign(details, await mariadbSnapshotPosition(opened[0]!));
  } catch (error) {
    await Promise.all([control?.kill(), ...opened.map((session) => session.kill())]);
    throw error;
  }
  const how =
    opened.length > 1
      ? `${opened.length} sessions started START TRANSACTION WITH CONSISTENT SNAPSHOT under one FLUSH TABLES WITH READ LOCK (released once they had started): one consistent snapshot of every InnoDB table`
      : 'one session, START TRANSACTION WITH CONSISTENT SNAPSHOT, reading every table in turn: one consistent snapshot of every InnoDB table';
  return {
    sessions: opened,
    consistency: `${how}; non-transactional tables (MyISAM, Aria, MEMORY) are not covered by it; the schema, triggers and events are read by the dump tool with --single-transaction, a snapshot of their own (DDL during the dump is not guarded against)`,
    details: { ...details, snapshotSessions: String(opened.length) },
    warnings,
  };
}

/** MariaDB's binary-log coordinates of the session's snapshot, and the GTID position they mean. */
async function mariadbSnapshotPosition(session: MysqlSession): Promise<Record<string, string>> {
  const status = await session.run("SHOW STATUS LIKE 'binlog_snapshot_%';");
  const value = (name: string) => status.map((line) => line.split('\t')).find(([key]) => key?.toLowerCase() === name)?.[1];
  const file = value('binlog_snapshot_file');
  const position = value('binlog_snapshot_position');
  if (!file || !position || !/^\d+$/.test(position)) return {};
  // The clock after the snapshot started: a restore to any time from here on may start from it.
  const [gtid, now] = (await session.run(`SELECT BINLOG_GTID_POS(${sqlString(file)}, ${position}), ${UTC_NOW_SQL};`))[0]?.split('\t') ?? [];
  const at = new Date(now ?? '');
  return {
    ...(Number.isNaN(at.getTime()) ? {} : binlogBaseDetails(file, position, at)),
    binlogFile: file,
    binlogPosition: position,
    gtidBinlogPos: gtid && gtid !== 'NULL' ? unescape(gtid) : '',
    gtidHandling: "the snapshot's exact binary-log position and GTID (gtidBinlogPos), for building a replica: SET GLOBAL gtid_slave_pos to it; a restore does not change the target's replication state",
  };
}

/** The text of a single-column batch output line. */
function unescape(line: string): string {
  return line.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c === '0' ? '\0' : c));
}

function sqlString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/**
 * The pure parts of MySQL/MariaDB binlog archiving: the filter between `mariadb-binlog` and the
 * client (GTID/origin lines dropped, applied groups counted), the server checks over settings
 * (Amazon RDS included, which no test server here can be), and the binlog file reader on
 * hand-made events. Real servers and tools: test/integration/mysql-binlog-*.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { binlogChecks } from '../../core/adapters/engines/mysql/mysql-binlog-checks.js';
import { BINLOG_EVENT, BINLOG_MAGIC, localOffsetOf, summarizeBinlogPiece } from '../../core/adapters/engines/mysql/mysql-binlog-events.js';
import { BinlogSqlFilter } from '../../core/adapters/engines/mysql/mysql-binlog-sql-filter.js';

/** What `mariadb-binlog` prints (trimmed): a transaction, another database's emptied one, a DDL, and a transaction cut short by --stop-datetime. */
const DECODED = `/*!50530 SET @@SESSION.PSEUDO_SLAVE_MODE=1*/;
DELIMITER /*!*/;
# at 4
#261206 18:57:42 server id 1  end_log_pos 256 CRC32 0xc63fd19c 	Start: binlog v 4
BINLOG '
JrAVaw8BAAAA/AAAAAAAAAAAAAQAMTAuMTEuMTktTWFyaWFEQi0wK2RlYjEydTEtbG9nAAAAAAAAAAAA
'/*!*/;
# at 256
#261206 18:58:00 server id 1  end_log_pos 1412 CRC32 0x3751599f 	GTID 0-1-7 trans
/*M!100101 SET @@session.skip_parallel_replication=0*//*!*/;
/*M!100001 SET @@session.gtid_domain_id=0*//*!*/;
/*M!100001 SET @@session.server_id=1*//*!*/;
/*M!100001 SET @@session.gtid_seq_no=7*//*!*/;
START TRANSACTION
/*!*/;
# at 353
#261206 18:58:00 server id 1  end_log_pos 1513 CRC32 0xb8478d39 	Table_map: \`src\`.\`t\` mapped to number 18
# at 399
#261206 18:58:00 server id 1  end_log_pos 1553 CRC32 0x4acd80dc 	Write_rows: table id 18 flags: STMT_END_F
BINLOG '
OLAVaxMBAAAALgAAAOkFAAAAABIAAAAAAAEAA2RzdAABdAACAw8CUAACOY1HuA==
OLAVaxcBAAAAKAAAABEGAAAAABIAAAAAAAEAAv/8AwAAAAFj3ILSMg==
'/*!*/;
# at 439
#261206 18:58:01 server id 1  end_log_pos 1584 CRC32 0xd7e8e3c1 	Xid = 51
COMMIT/*!*/;
# at 470
#261206 18:58:02 server id 1  end_log_pos 1626 CRC32 0x85b550d7 	GTID 0-1-8 trans
/*M!100001 SET @@session.gtid_seq_no=8*//*!*/;
START TRANSACTION
/*!*/;
# at 512
#261206 18:58:02 server id 1  end_log_pos 1657 CRC32 0x0fff4c6c 	Xid = 60
COMMIT/*!*/;
# at 543
#261206 18:58:03 server id 1  end_log_pos 1685 CRC32 0x0fff4c6d 	GTID 0-1-9 ddl
/*M!100001 SET @@session.gtid_seq_no=9*//*!*/;
# at 585
#261206 18:58:03 server id 1  end_log_pos 1790 CRC32 0x0fff4c6e 	Query	thread_id=5	exec_time=0	error_code=0
use \`dst\`/*!*/;
SET TIMESTAMP=1765047483/*!*/;
CREATE TABLE t2 (id INT PRIMARY KEY)
/*!*/;
# at 690
#261206 18:58:05 server id 1  end_log_pos 1832 CRC32 0x0fff4c6f 	GTID 0-1-10 trans
/*M!100001 SET @@session.gtid_seq_no=10*//*!*/;
START TRANSACTION
/*!*/;
# at 732
#261206 18:58:05 server id 1  end_log_pos 1878 CRC32 0xb8478d3a 	Table_map: \`src\`.\`t\` mapped to number 18
BINLOG '
OLAVaxMBAAAALgAAAOkFAAAAABIAAAAAAAEAA2RzdAABdAACAw8CUAACOY1HuA==
'/*!*/;
DELIMITER ;
# End of log file
ROLLBACK /* added by mysqlbinlog */;
/*!50003 SET COMPLETION_TYPE=@OLD_COMPLETION_TYPE*/;
`;

describe('BinlogSqlFilter', () => {
  it('drops the GTID and origin lines, keeps everything else, and counts the groups that changed something', async () => {
    // Prepare: cut into small chunks, so lines span chunks.
    const bytes = Buffer.from(DECODED);
    const chunks = Array.from({ length: Math.ceil(bytes.length / 7) }, (_, i) => bytes.subarray(i * 7, i * 7 + 7));
    const filter = new BinlogSqlFilter();

    // Act
    const out = Buffer.concat((await Readable.from(chunks).pipe(filter).toArray()) as Buffer[]).toString('utf8');
    const replayed = filter.finish();

    // Assess
    expect(out).not.toMatch(/gtid_domain_id|@@session\.server_id|gtid_seq_no/);
    expect(out.split('\n').length).toBe(DECODED.split('\n').length - 6);
    expect(out).toContain('skip_parallel_replication');
    expect(out).toContain('CREATE TABLE t2');
    // The row transaction and the DDL; not the emptied transaction, not the one cut short.
    expect(replayed).toEqual({ groups: 2, lastAt: Date.UTC(2026, 11, 6, 18, 58, 3) / 1000 });
  });
});

describe('binlogChecks', () => {
  const settings = (variables: Record<string, string>, grants: string[] = ["GRANT ALL PRIVILEGES ON *.* TO `admin`@`%`"], rdsRetentionHours?: number | null) => ({
    variables: new Map(Object.entries({ log_bin: 'ON', binlog_format: 'ROW', binlog_row_image: 'FULL', server_id: '1', expire_logs_days: '0', version: '10.11.19-MariaDB', basedir: '/usr', ...variables })),
    grants,
    ...(rdsRetentionHours !== undefined ? { rdsRetentionHours } : {}),
  });
  const statusOf = (checks: ReturnType<typeof binlogChecks>, name: string) => checks.find((check) => check.name === name);

  it('RDS: retention from rds_show_configuration; NULL and under a day warn with the call that fixes it', () => {
    const rds = { basedir: '/rdsdbbin/mysql-8.0.35.R2/', version: '8.0.35' };
    expect(statusOf(binlogChecks(settings(rds, undefined, 48)), 'binlog retention')).toMatchObject({ status: 'ok', detail: 'Amazon RDS: binlog retention hours 48' });
    expect(statusOf(binlogChecks(settings(rds, undefined, null)), 'binlog retention')).toMatchObject({ status: 'warn', fix: expect.stringContaining("mysql.rds_set_configuration('binlog retention hours', 48)") });
    expect(statusOf(binlogChecks(settings(rds, undefined, 6)), 'binlog retention')).toMatchObject({ status: 'warn', detail: expect.stringContaining('6, under a day') });
    expect(statusOf(binlogChecks(settings(rds)), 'binlog retention')).toMatchObject({ status: 'warn', detail: expect.stringContaining('did not answer') });
  });

  it('retention: binlog_expire_logs_seconds wins over expire_logs_days; several days are ok', () => {
    expect(statusOf(binlogChecks(settings({ expire_logs_days: '7' })), 'binlog retention')).toMatchObject({ status: 'ok', detail: 'binary logs are kept 7 day(s)' });
    expect(statusOf(binlogChecks(settings({ expire_logs_days: '7', binlog_expire_logs_seconds: '7200' })), 'binlog retention')).toMatchObject({ status: 'warn' });
  });

  it('privileges: MariaDB wants BINLOG MONITOR and REPLICATION SLAVE on *.*, MySQL REPLICATION CLIENT', () => {
    const granted = ['GRANT BINLOG MONITOR, REPLICATION SLAVE ON *.* TO `backup`@`%`', 'GRANT SELECT ON `shop`.* TO `backup`@`%`'];
    expect(statusOf(binlogChecks(settings({}, granted)), 'replication privileges')).toMatchObject({ status: 'ok' });
    expect(statusOf(binlogChecks(settings({}, ['GRANT REPLICATION SLAVE ON `shop`.* TO `backup`@`%`'])), 'replication privileges')).toMatchObject({
      status: 'fail',
      detail: 'the account lacks BINLOG MONITOR and REPLICATION SLAVE on *.*',
    });
    expect(statusOf(binlogChecks(settings({ version: '8.0.36' }, ['GRANT REPLICATION SLAVE ON *.* TO `backup`@`%`'])), 'replication privileges')).toMatchObject({
      status: 'fail',
      fix: 'GRANT REPLICATION CLIENT, REPLICATION SLAVE ON *.* TO the backup account',
    });
  });

  it('MINIMAL row images warn; server_id 0 fails', () => {
    const checks = binlogChecks(settings({ binlog_row_image: 'MINIMAL', server_id: '0' }));
    expect(statusOf(checks, 'binlog_row_image')?.status).toBe('warn');
    expect(statusOf(checks, 'server_id')?.status).toBe('fail');
  });
});

describe('binlog pieces', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  /** An event: 19-byte header, then `body` bytes. */
  const event = (timestamp: number, type: number, endPosition: number, body = 8) => {
    const bytes = Buffer.alloc(19 + body);
    bytes.writeUInt32LE(timestamp, 0);
    bytes[4] = type;
    bytes.writeUInt32LE(1, 5);
    bytes.writeUInt32LE(19 + body, 9);
    bytes.writeUInt32LE(endPosition, 13);
    return bytes;
  };

  it('summarises a piece read from a position, cuts it at a planned end, and finds the local offset of a server position', async () => {
    // Prepare: magic, a copied format description (end 0), two groups from server position 1000 on.
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-binlog-unit-'));
    dirs.push(dir);
    const path = join(dir, 'binlog.000001');
    const events = [
      event(100, BINLOG_EVENT.formatDescription, 0, 80),
      event(200, BINLOG_EVENT.mariadbGtid, 1027),
      event(200, BINLOG_EVENT.xid, 1054),
      event(205, BINLOG_EVENT.mariadbGtid, 1081),
      event(206, BINLOG_EVENT.xid, 1108),
    ];
    await writeFile(path, Buffer.concat([BINLOG_MAGIC, ...events]));

    // Act
    const whole = await summarizeBinlogPiece(path);
    const cut = await summarizeBinlogPiece(path, 1054);

    // Assess
    expect(whole).toEqual({ groups: 2, firstAt: 200, lastAt: 206, endPosition: 1108, keepBytes: 4 + 99 + 4 * 27 });
    expect(cut).toEqual({ groups: 1, firstAt: 200, lastAt: 200, endPosition: 1054, keepBytes: 4 + 99 + 2 * 27 });
    expect(await localOffsetOf(path, 1054)).toBe(4 + 99 + 2 * 27);
    expect(await localOffsetOf(path, 1108)).toBeUndefined();
    await writeFile(path, Buffer.concat([BINLOG_MAGIC, events[0]!, events[1]!.subarray(0, 10)]));
    await expect(summarizeBinlogPiece(path)).rejects.toThrow(/ends inside an event header/);
  });
});

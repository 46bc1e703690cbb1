/**
 * MariaDB binary-log archiving for point-in-time recovery (the mysql engine's `logs`), against
 * a real MariaDB 10.11 with the binary log on — a server of this suite's own, since it flushes
 * and purges binary logs — and the real `mariadb-binlog`, `mariadb-dump`, `mariadb` and tar:
 * the base position both dump forms record; reads that continue exactly where the last one
 * ended, over a binlog rotation; an empty range; a purged binlog read as a gap; replay into a
 * new database up to three times between writes, each giving exactly the rows committed up to
 * it; the server checks; a server with the binary log off. Times come from the server's clock.
 */
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlEngine } from '../../core/adapters/engines/mysql/mysql-engine.js';
import type { MysqlSource } from '../../core/adapters/engines/mysql/mysql-descriptor.js';
import { baseLogPositionOf, compareLogPositions, type BaseLogPosition, type LogRange } from '../../core/domain/log-archive.js';
import { ConfigError } from '../../core/errors.js';
import type { LogRead, ReplayRange } from '../../core/ports/log-archiver.js';
import { startMariadb, type MariadbServer } from '../support/mariadb-server.js';
import { mysqlQuery, mysqlRows, mysqlUrl } from '../support/mysql-client.js';
import { requireMariadb, requireTools } from '../support/requirements.js';

const engine = new MysqlEngine();
const logs = engine.logs;

/** A read, consumed: the segment's bytes and its range, as the use case would store them. */
interface Pushed {
  readonly bytes: Buffer;
  readonly range: LogRange;
  readonly tool: string;
}

async function push(source: MysqlSource, since: string | undefined): Promise<Pushed> {
  const read: LogRead = await logs.read(source, since, { now: () => new Date(0) });
  try {
    const parts: Buffer[] = [];
    for await (const part of read.stream) parts.push(part as Buffer);
    return { bytes: Buffer.concat(parts), range: { kind: 'binlog', format: read.format, ...(await read.range()) }, tool: read.tool.name };
  } finally {
    await read.close();
  }
}

function replayRange(pushed: Pushed, runId: string): ReplayRange {
  return { range: pushed.range, runId, open: async () => Readable.from([pushed.bytes]) };
}

/** The members of a segment's tar, in order. */
function tarMembers(bytes: Buffer): string[] {
  return execFileSync('tar', ['-t', '-f', '-'], { input: bytes }).toString('utf8').split('\n').filter(Boolean);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('mysql binlog archive (MariaDB)', () => {
  const shared = requireMariadb();
  const tools = requireTools('mariadb', 'mariadb-dump', 'mariadb-binlog', 'tar');
  if (!shared || !tools) return;

  let server: MariadbServer;
  const url = (database: string) => engine.parse(mysqlUrl(server, database));
  const sql = (database: string | undefined, text: string) => mysqlQuery(server, database, text);
  /** The server's clock, UTC. */
  const serverNow = async () => new Date(`${(await sql(undefined, "SELECT DATE_FORMAT(UTC_TIMESTAMP(6), '%Y-%m-%dT%H:%i:%s.%fZ');")).trim()}`);
  const masterPosition = async () => {
    const [row] = await mysqlRows(server, undefined, 'SHOW MASTER STATUS;');
    return `${row![0]}:${row![1]}`;
  };
  const rowsOf = (database: string) => mysqlRows(server, database, 'SELECT id, v FROM t ORDER BY id;');

  beforeAll(async () => {
    server = await startMariadb();
    await sql(undefined, 'CREATE DATABASE shop; CREATE DATABASE other;');
    await sql('shop', "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB; INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');");
    await sql('other', 'CREATE TABLE o (id INT PRIMARY KEY) ENGINE=InnoDB;');
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  it('records the base position in both dump forms', async () => {
    // Prepare
    const before = await serverNow();
    const position = await masterPosition();

    // Act
    const dump = await engine.dump(url('shop'), { directTo: undefined });
    const text: Buffer[] = [];
    for await (const part of dump.stream) text.push(part as Buffer);
    const streamed = await engine.dumpStreams(url('shop'), { jobs: 1 });
    for (const stream of streamed.streams) for await (const _ of await streamed.open(stream)) void _;
    const finished = await streamed.finish();

    // Assess
    for (const details of [dump.details, finished.details]) {
      const base = baseLogPositionOf(details);
      expect(base).toMatchObject({ kind: 'binlog', start: position, consistent: position });
      expect(base!.consistentAt.getTime()).toBeGreaterThanOrEqual(before.getTime());
    }
    expect(Buffer.concat(text).toString('utf8')).toContain(`MASTER_LOG_POS=${position.split(':')[1]};`);
  });

  it('an empty range without since, and from the current end', async () => {
    // Prepare
    const position = await masterPosition();

    // Act
    const first = await push(url('shop'), undefined);
    const again = await push(url('shop'), first.range.end);

    // Assess
    for (const pushed of [first, again]) {
      expect(pushed.range).toMatchObject({ format: 'binlog-tar/v1', start: position, end: position, events: 0, files: [] });
      expect(pushed.range.firstEventAt).toBeUndefined();
      expect(tarMembers(pushed.bytes)).toEqual([]);
      expect(pushed.tool).toBe('mariadb-binlog');
    }
    expect(first.range.gtidEnd).toMatch(/^0-1-\d+$/);
  });

  describe('writes, pushes and replays', () => {
    let base: BaseLogPosition;
    let baseDump: Buffer;
    /** Each checkpoint: a server time after a batch of writes, and the rows `shop.t` held then. */
    const checkpoints: { at: Date; rows: string[][] }[] = [];
    const pushed: Pushed[] = [];
    let baseGtid = 0;

    beforeAll(async () => {
      const dump = await engine.dump(url('shop'));
      const parts: Buffer[] = [];
      for await (const part of dump.stream) parts.push(part as Buffer);
      baseDump = Buffer.concat(parts);
      base = baseLogPositionOf(dump.details)!;
      const [file, offset] = base.start.split(':');
      baseGtid = Number((await sql(undefined, `SELECT BINLOG_GTID_POS('${file}', ${offset});`)).split('-')[2]);

      const batch = async (statements: string) => {
        await sleep(1100); // event times are whole seconds: each batch in a second of its own
        await sql('shop', statements);
        await sql('other', `INSERT INTO o VALUES (${checkpoints.length + 1});`); // another database: never replayed
        checkpoints.push({ at: await serverNow(), rows: await rowsOf('shop') });
      };
      await batch("INSERT INTO t VALUES (4, 'four'); UPDATE t SET v = 'ONE' WHERE id = 1; DELETE FROM t WHERE id = 2;");
      pushed.push(await push(url('shop'), base.start));
      await batch("BEGIN; INSERT INTO t VALUES (5, 'five'), (6, 'six'); UPDATE t SET v = CONCAT(v, '!') WHERE id >= 3; COMMIT;");
      await sql(undefined, 'FLUSH BINARY LOGS;');
      await batch("INSERT INTO t VALUES (7, 'seven'); DELETE FROM t WHERE id = 5;");
      await sleep(1100);
      pushed.push(await push(url('shop'), pushed[0]!.range.end));
    }, 120_000);

    it('the second read starts where the first ended; every transaction is in exactly one range', async () => {
      const [first, second] = pushed as [Pushed, Pushed];
      expect(first.range.start).toBe(base.start);
      expect(second.range.start).toBe(first.range.end);
      expect(compareLogPositions('binlog', first.range.end, second.range.end)).toBeLessThan(0);
      // A FLUSH BINARY LOGS between the writes: the second range spans two files.
      expect(second.range.files).toHaveLength(2);
      expect(tarMembers(second.bytes)).toEqual(second.range.files);
      expect(tarMembers(first.bytes)).toEqual(first.range.files);
      // GTIDs count every transaction of the server (both databases): none lost, none twice.
      const endGtid = Number(second.range.gtidEnd!.split('-')[2]);
      expect(first.range.events! + second.range.events!).toBe(endGtid - baseGtid);
      expect(first.range.events).toBe(Number(first.range.gtidEnd!.split('-')[2]) - baseGtid);
      expect(second.range.end).toBe(await masterPosition());
      // Commit times: the first range's events lie before the first checkpoint, the second's after it.
      expect(new Date(first.range.lastEventAt!).getTime()).toBeLessThanOrEqual(checkpoints[0]!.at.getTime());
      expect(new Date(second.range.firstEventAt!).getTime()).toBeGreaterThan(Math.floor(checkpoints[0]!.at.getTime() / 1000) * 1000);
      expect(new Date(second.range.coveredUntil).getTime()).toBeGreaterThanOrEqual(checkpoints[2]!.at.getTime());
    });

    it.each([0, 1, 2])('restore the base and replay to checkpoint %i: exactly the rows committed by then, in a new database', async (index) => {
      // Prepare
      const target = `shop_at_${index}`;
      const sink = await engine.openRestore(url(target), {});
      sink.stream.end(baseDump);
      await new Promise((resolve, reject) => sink.stream.once('finish', resolve).once('error', reject));
      await sink.commit();
      const checkpoint = checkpoints[index]!;

      // Act
      const report = await logs.replay(url(target), pushed.map((p, i) => replayRange(p, `run-${i}`)), { until: checkpoint.at, from: base, sourceDatabase: 'shop' });

      // Assess
      expect(await rowsOf(target)).toEqual(checkpoint.rows);
      // Autocommit statements, one transaction each: 3 in the first batch, 1 in the second, 2 in the third.
      expect(report.events).toBe([3, 4, 6][index]);
      expect(Math.floor(report.reachedAt!.getTime() / 1000)).toBeLessThanOrEqual(Math.floor(checkpoint.at.getTime() / 1000));
      expect(await mysqlRows(server, undefined, `SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${target}';`)).toEqual([['1']]);
    });

    it('replay gives the target new GTIDs of its own, in order, and leaves the source untouched', async () => {
      // Prepare
      const target = 'shop_gtid';
      const sink = await engine.openRestore(url(target), {});
      sink.stream.end(baseDump);
      await new Promise((resolve, reject) => sink.stream.once('finish', resolve).once('error', reject));
      await sink.commit();
      const sourceRows = await rowsOf('shop');
      const before = Number((await sql(undefined, 'SELECT @@gtid_binlog_pos;')).split('-')[2]);

      // Act: strict mode refuses any GTID logged out of order.
      await sql(undefined, 'SET GLOBAL gtid_strict_mode = 1;');
      try {
        const report = await logs.replay(url(target), pushed.map((p, i) => replayRange(p, `run-${i}`)), { until: checkpoints[2]!.at, from: base, sourceDatabase: 'shop' });
        expect(report.events).toBe(6);
      } finally {
        await sql(undefined, 'SET GLOBAL gtid_strict_mode = 0;');
      }

      // Assess
      expect(await rowsOf(target)).toEqual(sourceRows);
      expect(await rowsOf('shop')).toEqual(sourceRows);
      expect(Number((await sql(undefined, 'SELECT @@gtid_binlog_pos;')).split('-')[2])).toBe(before + 6);
    });

    it('replays as an account with the target database and BINLOG REPLAY only', async () => {
      // Prepare
      const target = 'shop_limited';
      const sink = await engine.openRestore(url(target), {});
      sink.stream.end(baseDump);
      await new Promise((resolve, reject) => sink.stream.once('finish', resolve).once('error', reject));
      await sink.commit();
      await sql(undefined, "CREATE USER 'replayer'@'%' IDENTIFIED BY 'replayer-pw-1'; GRANT ALL ON shop_limited.* TO 'replayer'@'%'; GRANT BINLOG REPLAY ON *.* TO 'replayer'@'%';");
      const limited = engine.parse(`mariadb://replayer:replayer-pw-1@${server.host}:${server.port}/${target}`);

      // Act
      const report = await logs.replay(limited, pushed.map((p, i) => replayRange(p, `run-${i}`)), { until: checkpoints[1]!.at, from: base, sourceDatabase: 'shop' });

      // Assess
      expect(report.events).toBe(4);
      expect(await rowsOf(target)).toEqual(checkpoints[1]!.rows);
    });

    it('until consistent, or before the first change: the base as it was', async () => {
      const target = 'shop_at_base';
      const sink = await engine.openRestore(url(target), {});
      sink.stream.end(baseDump);
      await new Promise((resolve, reject) => sink.stream.once('finish', resolve).once('error', reject));
      await sink.commit();
      const baseRows = await rowsOf(target);
      const ranges = pushed.map((p, i) => replayRange(p, `run-${i}`));

      expect(await logs.replay(url(target), ranges, { until: 'consistent', from: base, sourceDatabase: 'shop' })).toMatchObject({ events: 0 });
      const early = await logs.replay(url(target), ranges, { until: new Date(Math.floor(checkpoints[0]!.at.getTime() / 1000) * 1000 - 1500), from: base, sourceDatabase: 'shop' });
      expect(early.events).toBe(0);
      expect(await rowsOf(target)).toEqual(baseRows);
      expect(baseRows).toEqual([['1', 'one'], ['2', 'two'], ['3', 'three']]);
    });
    it('a transaction that committed after the time, though it started before it, is not replayed', async () => {
      // Prepare: one session holds the transaction open over two seconds.
      await sleep(1100);
      await sql('shop', "BEGIN; INSERT INTO t VALUES (50, 'long'); DO SLEEP(2.2); COMMIT;");
      const committed = await serverNow();
      const third = await push(url('shop'), pushed[1]!.range.end);
      const ranges = [...pushed, third].map((p, i) => replayRange(p, `run-${i}`));
      const restoreBase = async (target: string) => {
        const sink = await engine.openRestore(url(target), {});
        sink.stream.end(baseDump);
        await new Promise((resolve, reject) => sink.stream.once('finish', resolve).once('error', reject));
        await sink.commit();
      };
      await restoreBase('shop_mid_long');
      await restoreBase('shop_after_long');

      // Act
      const mid = await logs.replay(url('shop_mid_long'), ranges, { until: new Date(committed.getTime() - 1200), from: base, sourceDatabase: 'shop' });
      const after = await logs.replay(url('shop_after_long'), ranges, { until: committed, from: base, sourceDatabase: 'shop' });

      // Assess
      // The range holds the whole server's transactions (the restores above too); only shop's are replayed.
      expect(third.range.events).toBeGreaterThan(1);
      expect(mid.events).toBe(6);
      expect(await rowsOf('shop_mid_long')).toEqual(checkpoints[2]!.rows);
      expect(after.events).toBe(7);
      expect(await rowsOf('shop_after_long')).toEqual(await rowsOf('shop'));
      expect(await rowsOf('shop_after_long')).toContainEqual(['50', 'long']);
    });
  });

  it('a purged binlog: the read starts at the oldest file the server has and says where the gap begins', async () => {
    // Prepare
    const since = await masterPosition();
    await sql('shop', "INSERT INTO t VALUES (100, 'lost');");
    await sql(undefined, 'FLUSH BINARY LOGS;');
    const [[oldest]] = (await mysqlRows(server, undefined, 'SHOW MASTER STATUS;')) as [[string]];
    // The server keeps a file until InnoDB has flushed its commits (once a second on this test server): purge until it is gone.
    for (let attempt = 0; ; attempt++) {
      await sql(undefined, `PURGE BINARY LOGS TO '${oldest}';`);
      const files = await mysqlRows(server, undefined, 'SHOW BINARY LOGS;');
      if (files[0]![0] === oldest) break;
      if (attempt === 50) throw new Error(`PURGE BINARY LOGS left ${files.map((f) => f[0]).join(', ')}`);
      await sleep(200);
    }
    await sql('shop', "INSERT INTO t VALUES (101, 'kept');");

    // Act
    const read = await push(url('shop'), since);

    // Assess
    expect(read.range).toMatchObject({ gapFrom: since, start: `${oldest}:4`, files: [oldest], events: 1 });
    expect(read.range.end).toBe(await masterPosition());
  });

  it('checkServer: all ok on this server; STATEMENT format warns; an account without replication privileges fails', async () => {
    const checks = await logs.checkServer(url('shop'));
    expect(checks.map((check) => [check.name, check.status])).toEqual([
      ['log_bin', 'ok'],
      ['binlog_format', 'ok'],
      ['binlog_row_image', 'ok'],
      ['server_id', 'ok'],
      ['binlog retention', 'ok'],
      ['replication privileges', 'ok'],
    ]);

    await sql(undefined, "SET GLOBAL binlog_format = 'STATEMENT', GLOBAL binlog_expire_logs_seconds = 3600;");
    try {
      const changed = await logs.checkServer(url('shop'));
      expect(changed.find((check) => check.name === 'binlog_format')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^STATEMENT: /), fix: expect.stringContaining('ROW') });
      expect(changed.find((check) => check.name === 'binlog retention')).toMatchObject({ status: 'warn', detail: expect.stringContaining('3600 s, under a day') });
    } finally {
      await sql(undefined, "SET GLOBAL binlog_format = 'ROW', GLOBAL binlog_expire_logs_seconds = 0;");
    }

    await sql(undefined, "CREATE USER 'reader'@'%' IDENTIFIED BY 'reader-pw-1'; GRANT SELECT ON shop.* TO 'reader'@'%';");
    const limited = engine.parse(`mariadb://reader:reader-pw-1@${server.host}:${server.port}/shop`);
    const refused = await logs.checkServer(limited);
    expect(refused.find((check) => check.name === 'replication privileges')).toMatchObject({ status: 'fail', detail: expect.stringContaining('BINLOG MONITOR and REPLICATION SLAVE') });
    await expect(logs.read(limited, undefined, { now: () => new Date(0) })).rejects.toThrow(/may not read the binary log.*GRANT BINLOG MONITOR, REPLICATION SLAVE/);
  });

  it('a server with the binary log off: read refuses with how to turn it on, checkServer fails log_bin', async () => {
    const off = await startMariadb({ binaryLog: false });
    try {
      await mysqlQuery(off, undefined, 'CREATE DATABASE d;');
      const source = engine.parse(mysqlUrl(off, 'd'));
      const error = await logs.read(source, undefined, { now: () => new Date(0) }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(/^the binary log is off on .*: turn the binary log on: start the server with log_bin/);
      const checks = await logs.checkServer(source);
      expect(checks.find((check) => check.name === 'log_bin')).toMatchObject({ status: 'fail' });
      // A dump of it records no log position.
      const dump = await engine.dump(source);
      for await (const _ of dump.stream) void _;
      expect(baseLogPositionOf(dump.details)).toBeUndefined();
    } finally {
      await off.stop();
    }
  }, 120_000);
});

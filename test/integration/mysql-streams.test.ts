/**
 * MySQL/MariaDB streamed dumps (`dumpStreams`) and their restores (`openStreamsRestore`) against
 * the run's real MariaDB server: every kind of value a row can hold, tables with and without
 * keys, a view, a trigger, a routine, an event and a foreign key; dumps with one and with two
 * sessions, restored with two, compared table by table (CHECKSUM TABLE, MD5 of the ordered rows)
 * and object by object; a selective restore; one snapshot under concurrent transfers between two
 * tables; and streams whose bytes do not change when the data did not.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { MysqlEngine } from '../../core/adapters/engines/mysql/mysql-engine.js';
import type { SnapshotStream } from '../../core/domain/snapshot-format.js';
import { DumpFailedError, RunConflictError } from '../../core/errors.js';
import { mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import { createMysqlDatabase, dropMysqlDatabase, loadMysqlFixture, mysqlDatabaseExists, mysqlFingerprints, mysqlSchemaObjects, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { requireMariadb, requireTools } from '../support/requirements.js';

/** Rows of every shape the row streams must carry: tabs, newlines, backslashes, quotes, NUL, NULL vs 'NULL', unicode, bytes, bits. */
const FIXTURE_SQL = `
SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO'), max_recursive_iterations = 100000;
CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(60) NOT NULL) ENGINE=InnoDB;
CREATE TABLE child (a INT NOT NULL, b INT NOT NULL, parent_id INT, note TEXT, PRIMARY KEY (b, a),
  CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id)) ENGINE=InnoDB;
CREATE TABLE bytes (id INT PRIMARY KEY, data LONGBLOB, small VARBINARY(16), flags BIT(10), fixed BINARY(4)) ENGINE=InnoDB;
CREATE TABLE heap (x INT, s VARCHAR(100)) ENGINE=InnoDB;
CREATE TABLE keyed (code CHAR(3) NOT NULL, v INT, UNIQUE KEY code (code)) ENGINE=InnoDB;
CREATE TABLE texts (id INT AUTO_INCREMENT PRIMARY KEY, t TEXT, latin VARCHAR(100) CHARACTER SET latin1, j JSON,
  ts TIMESTAMP NULL, d DATE, amount DECIMAL(12,4), ratio DOUBLE, twice INT GENERATED ALWAYS AS (id * 2) VIRTUAL) ENGINE=InnoDB;
CREATE TABLE empty_one (id INT PRIMARY KEY) ENGINE=InnoDB;
CREATE TABLE \`odd\`\`name é\` (id INT PRIMARY KEY, v VARCHAR(10)) ENGINE=InnoDB;

INSERT INTO parent
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
  SELECT i, CONCAT('parent ', i) FROM n;
INSERT INTO child
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
  SELECT i % 97, i, 1 + i % 3000, IF(i % 7 = 0, NULL, CONCAT('note\\t', i, '\\n', REPEAT('x', i % 50))) FROM n;
INSERT INTO bytes VALUES
  (1, UNHEX('000102030405060708090A0B0C0D0E0F5C275C6E0D0A1A2200FF'), X'00FF', b'1010101010', X'00000000'),
  (2, '', '', b'0', X'61626364'),
  (3, NULL, NULL, NULL, NULL);
INSERT INTO bytes
  WITH RECURSIVE n(i) AS (SELECT 4 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
  SELECT i, RANDOM_BYTES(1 + i % 1000), RANDOM_BYTES(1 + i % 16), i % 1024, RANDOM_BYTES(4) FROM n;
INSERT INTO heap VALUES (1, 'a'), (1, 'a'), (NULL, NULL), (2, 'NULL'), (0, '');
INSERT INTO keyed VALUES ('b', 2), ('a', NULL), ('c', 3);
INSERT INTO texts (id, t, latin, j, ts, d, amount, ratio) VALUES
  (0, 'zero id kept as 0', 'caf\\xe9', '{"a": [1, "two"]}', '2020-02-29 12:34:56', '2020-02-29', 1234.5678, 0.1),
  (NULL, 'tab\\there\\nnewline\\\\backslash ''quote" \\0nul', 'Ünïcødé', NULL, NULL, NULL, NULL, NULL),
  (NULL, 'NULL', '', '[]', '1970-01-01 00:00:01', '1000-01-01', -0.0001, 1e300),
  (NULL, 'emoji 🎉 and 中文', 'plain', '"s"', '2038-01-19 03:14:07', '9999-12-31', 99999999.9999, -2.5e-300),
  (NULL, '', NULL, 'null', NULL, NULL, 0, 0);
INSERT INTO \`odd\`\`name é\` VALUES (1, 'odd');

CREATE VIEW parent_names AS SELECT id, name FROM parent WHERE id <= 10;
CREATE FUNCTION plus_one(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;
-- Would upper-case every restored name if it fired while rows are loaded.
CREATE TRIGGER parent_upper BEFORE INSERT ON parent FOR EACH ROW SET NEW.name = UPPER(NEW.name);
CREATE EVENT nightly ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM heap WHERE x = 999;
`;

type Dumped = { streams: readonly SnapshotStream[]; bytes: Map<string, Buffer>; format: string; details?: Readonly<Record<string, string>>; warnings?: readonly string[] };

describe('mysql streamed dumps', () => {
  const server = requireMariadb();
  const tools = requireTools('mariadb', 'mariadb-dump');
  if (!server || !tools) return;

  const engine = new MysqlEngine();
  const databases = new Set<string>();
  const newDatabase = (prefix: string) => {
    const name = uniqueMysqlName(prefix);
    databases.add(name);
    return name;
  };
  const source = newDatabase('my_streams');
  let fixtureLoaded: Promise<void> | undefined;
  const fixture = () => (fixtureLoaded ??= (async () => {
    await createMysqlDatabase(server, source);
    await mysqlQuery(server, source, FIXTURE_SQL, { keepComments: true });
  })());

  afterAll(async () => {
    for (const name of databases) await dropMysqlDatabase(server, name).catch(() => undefined);
  });

  /** Dumps `database` the way the chunked backup does: up to `jobs` streams read at once. */
  async function dump(database: string, jobs: number, first: readonly string[] = []): Promise<Dumped> {
    const streamed = await engine.dumpStreams(engine.parse(mysqlUrl(server!, database)), { jobs });
    const bytes = new Map<string, Buffer>();
    // `first`: streams opened before the others, read at the same time (by different sessions).
    const order = [...first.map((name) => streamed.streams.find((stream) => stream.name === name)!), ...streamed.streams.filter((stream) => !first.includes(stream.name))];
    try {
      let next = 0;
      const worker = async () => {
        while (next < order.length) {
          const stream = order[next++]!;
          const readable = await streamed.open(stream);
          const parts: Buffer[] = [];
          for await (const part of readable) parts.push(part as Buffer);
          bytes.set(stream.name, Buffer.concat(parts));
        }
      };
      await Promise.all(Array.from({ length: jobs }, worker));
    } catch (error) {
      await streamed.abort();
      throw error;
    }
    const finished = await streamed.finish();
    return { streams: streamed.streams, bytes, format: streamed.format, ...finished };
  }

  async function restore(dumped: Dumped, database: string, options: { jobs: number; tables?: string[]; force?: boolean }) {
    const target = engine.parse(mysqlUrl(server!, database));
    const sink = await engine.openStreamsRestore(target, dumped.streams, { format: dumped.format, tables: options.tables, force: options.force });
    const opened: string[] = [];
    const open = (stream: SnapshotStream) => {
      opened.push(stream.name);
      return Readable.from([dumped.bytes.get(stream.name)!]);
    };
    try {
      await sink.load(open, { jobs: options.jobs });
      await sink.commit();
    } catch (error) {
      await sink.abort();
      throw error;
    }
    return { opened, sink };
  }

  it.each([1, 2])('dumps with %i session(s) and restores with two: same rows, same objects', async (jobs) => {
    // Prepare
    await fixture();
    const target = newDatabase('my_streams_to');

    // Act
    const dumped = await dump(source, jobs);
    await restore(dumped, target, { jobs: 2 });

    // Assess
    expect(dumped.streams.map((s) => `${s.role}:${s.name}`)).toEqual([
      'schema:schema',
      'table:table/bytes',
      'table:table/child',
      'table:table/empty_one',
      'table:table/heap',
      'table:table/keyed',
      'table:table/odd`name é',
      'table:table/parent',
      'table:table/texts',
      'triggers:triggers/parent',
      'events:events',
    ]);
    expect(dumped.details?.snapshotSessions).toBe(String(jobs));
    expect(dumped.details?.tablesWithoutPrimaryKey).toBe('heap (ordered by all columns), keyed (ordered by unique key)');
    expect(dumped.details?.gtidBinlogPos).toMatch(/^\d+-\d+-\d+/);
    expect(dumped.warnings).toEqual([]);
    expect(await mysqlFingerprints(server, target)).toEqual(await mysqlFingerprints(server, source));
    expect(await mysqlSchemaObjects(server, target)).toEqual(await mysqlSchemaObjects(server, source));
    // The trigger came after the rows: names kept their case; and it works in the copy.
    expect(await mysqlQuery(server, target, "SELECT name FROM parent WHERE id = 1; INSERT INTO parent VALUES (9999, 'new'); SELECT name FROM parent WHERE id = 9999; SELECT plus_one(41);")).toBe('parent 1\nNEW\n42');
    expect(await mysqlQuery(server, target, 'SELECT id, twice FROM texts WHERE id = 0')).toBe('0\t0');
  });

  it('round-trips the shared MySQL fixture (sequence, MyISAM, floats, events) with two sessions', async () => {
    // Prepare
    const database = newDatabase('my_streams_fx');
    await createMysqlDatabase(server, database);
    await loadMysqlFixture(server, database);
    const target = newDatabase('my_streams_fx_to');

    // Act
    const dumped = await dump(database, 2);
    await restore(dumped, target, { jobs: 2 });

    // Assess
    expect(await mysqlFingerprints(server, target)).toEqual(await mysqlFingerprints(server, database));
    expect(await mysqlSchemaObjects(server, target)).toEqual(await mysqlSchemaObjects(server, database));
  });

  it('keeps the bytes of every stream when the data did not change, and of untouched rows when it did', async () => {
    // Prepare
    await fixture();

    // Act
    const first = await dump(source, 2);
    const second = await dump(source, 1);

    // Assess
    for (const stream of first.streams) expect(digest(second.bytes.get(stream.name)!), stream.name).toBe(digest(first.bytes.get(stream.name)!));
    // Rows of a table come as INSERT statements whose boundaries depend on row contents only.
    const child = first.bytes.get('table/child')!.toString('utf8');
    expect(child.match(/^INSERT INTO `child` \(`a`,`b`,`parent_id`,`note`\) VALUES$/gm)!.length).toBeGreaterThan(3);
  });

  it('changes only the bytes around a changed row', async () => {
    // Prepare
    const database = newDatabase('my_streams_edit');
    await createMysqlDatabase(server, database);
    await mysqlQuery(server, database, `SET SESSION max_recursive_iterations = 100000;
      CREATE TABLE big (id INT PRIMARY KEY, payload VARCHAR(200));
      INSERT INTO big WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i * 2, MD5(i) FROM n;`);
    const before = (await dump(database, 1)).bytes.get('table/big')!;

    // Act
    await mysqlQuery(server, database, "INSERT INTO big VALUES (20001, 'inserted in the middle');");
    const after = (await dump(database, 1)).bytes.get('table/big')!;

    // Assess: everything before and after the new row's statement is the same bytes.
    const prefix = commonPrefix(before, after);
    const suffix = commonSuffix(before, after);
    expect(before.length - prefix - suffix).toBeLessThan(64 * 1024);
    expect(after.length - before.length).toBeGreaterThan(0);
  });

  it('restores only the selected tables, opening only their streams', async () => {
    // Prepare
    await fixture();
    const dumped = await dump(source, 2);
    const target = newDatabase('my_streams_sel');

    // Act
    const { opened } = await restore(dumped, target, { jobs: 2, tables: ['parent', 'parent_names'] });

    // Assess
    expect(opened).toEqual(['schema', 'table/parent', 'triggers/parent']);
    expect(await mysqlQuery(server, target, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME")).toBe('parent\nparent_names');
    const [prints, sourcePrints] = [await mysqlFingerprints(server, target), await mysqlFingerprints(server, source)];
    expect(prints.parent).toEqual(sourcePrints.parent);
  });

  it('refuses a target that holds the tables, and with force replaces them', async () => {
    // Prepare
    await fixture();
    const dumped = await dump(source, 1);
    const target = newDatabase('my_streams_force');
    await createMysqlDatabase(server, target);
    await mysqlQuery(server, target, 'CREATE TABLE parent (id INT PRIMARY KEY); INSERT INTO parent VALUES (1);');

    // Act / Assess
    await expect(restore(dumped, target, { jobs: 2 })).rejects.toBeInstanceOf(RunConflictError);
    await restore(dumped, target, { jobs: 2, force: true });
    expect((await mysqlFingerprints(server, target)).parent).toEqual((await mysqlFingerprints(server, source)).parent);
  });

  it('drops the database it created when a stream fails mid-restore', async () => {
    // Prepare
    await fixture();
    const dumped = await dump(source, 1);
    const target = newDatabase('my_streams_fail');
    const broken: Dumped = { ...dumped, bytes: new Map(dumped.bytes).set('table/child', Buffer.from('INSERT INTO `child` VALUES (1,2,3,\n')) };

    // Act / Assess
    await expect(restore(broken, target, { jobs: 2 })).rejects.toThrow(/restore of table\/child/);
    expect(await mysqlDatabaseExists(server, target)).toBe(false);
  });

  it('falls back to one session, and says so, when the user may not FLUSH TABLES WITH READ LOCK', async () => {
    // Prepare: a user with what a dump needs on the one database, and no RELOAD.
    await fixture();
    const user = `vt_noreload_${Math.random().toString(16).slice(2, 8)}`;
    const password = `pw-${Math.random().toString(16).slice(2)}`;
    await mysqlQuery(server, undefined, `CREATE USER '${user}'@'127.0.0.1' IDENTIFIED BY '${password}';
      GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON \`${source}\`.* TO '${user}'@'127.0.0.1';`);
    try {
      const url = `mariadb://${user}:${password}@${server.host}:${server.port}/${source}`;

      // Act
      const streamed = await engine.dumpStreams(engine.parse(url), { jobs: 2 });
      const parent = await streamed.open({ name: 'table/parent', role: 'table' });
      const rows: Buffer[] = [];
      for await (const part of parent) rows.push(part as Buffer);
      const finished = await streamed.finish();

      // Assess
      expect(finished.details?.snapshotSessions).toBe('1');
      expect(finished.warnings).toEqual([expect.stringMatching(/^FLUSH TABLES WITH READ LOCK was refused or timed out \(.*RELOAD.*\): the tables were read by one session in turn/)]);
      expect(Buffer.concat(rows).toString('utf8')).toContain("(3000,'parent 3000')");
    } finally {
      await mysqlQuery(server, undefined, `DROP USER '${user}'@'127.0.0.1';`);
    }
  });

  it('fails a table stream with DumpFailedError when its read fails, and stops its reader when destroyed', async () => {
    // Prepare
    const database = newDatabase('my_streams_gone');
    await createMysqlDatabase(server, database);
    await mysqlQuery(server, database, `SET SESSION max_recursive_iterations = 100000;
      CREATE TABLE kept (id INT PRIMARY KEY, pad VARCHAR(255));
      CREATE TABLE gone (id INT PRIMARY KEY);
      INSERT INTO kept WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000) SELECT i, REPEAT(MD5(i), 7) FROM n;`);
    const streamed = await engine.dumpStreams(engine.parse(mysqlUrl(server, database)), { jobs: 2 });
    await mysqlQuery(server, database, 'DROP TABLE gone;');

    // Act
    const gone = await streamed.open({ name: 'table/gone', role: 'table' });
    // Caught at once: it fails while the test still reads the other stream.
    const failure = (async () => {
      for await (const _part of gone) void _part;
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    const kept = await streamed.open({ name: 'table/kept', role: 'table' });
    const firstPart = await new Promise<Buffer>((resolve) => kept.once('data', resolve));
    kept.destroy();

    // Assess
    const error = await failure;
    expect(error).toBeInstanceOf(DumpFailedError);
    expect((error as Error).message).toMatch(/gone.*doesn't exist/);
    expect(firstPart.length).toBeGreaterThan(0);
    // Both sessions ended: nothing is left to read with.
    await expect(streamed.open({ name: 'table/kept', role: 'table' }).then((s) => s.toArray())).rejects.toThrow(/every snapshot session of this dump has ended/);
    await streamed.abort();
  });

  it('reads every table from one snapshot while transfers between two tables go on', async () => {
    // Prepare: two tables whose sum is invariant; a client moves amounts from one to the other.
    const database = newDatabase('my_streams_tx');
    await createMysqlDatabase(server, database);
    await mysqlQuery(server, database, `SET SESSION max_recursive_iterations = 100000;
      CREATE TABLE left_side (id INT PRIMARY KEY, balance BIGINT NOT NULL);
      CREATE TABLE right_side (id INT PRIMARY KEY, balance BIGINT NOT NULL);
      CREATE TABLE filler (id INT PRIMARY KEY, pad VARCHAR(255));
      INSERT INTO left_side VALUES (1, 500000); INSERT INTO right_side VALUES (1, 500000);
      INSERT INTO filler WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) SELECT i, REPEAT(MD5(i), 7) FROM n;`);
    const writer = mysqlQuery(server, database, `SET @deadline = NOW(6) + INTERVAL 6 SECOND;
      DELIMITER //
      BEGIN NOT ATOMIC
        DECLARE i BIGINT DEFAULT 0;
        WHILE NOW(6) < @deadline DO
          SET i = i + 1;
          START TRANSACTION;
          UPDATE left_side SET balance = balance - (i % 11) WHERE id = 1;
          UPDATE right_side SET balance = balance + (i % 11) WHERE id = 1;
          COMMIT;
        END WHILE;
      END//
      DELIMITER ;`);

    // Act: dumps with two sessions while it runs, each of the two tables read by its own session.
    const sums: number[] = [];
    for (let round = 0; round < 3; round++) {
      const dumped = await dump(database, 2, ['table/left_side', 'table/right_side']);
      const restored = newDatabase('my_streams_tx_to');
      await restore(dumped, restored, { jobs: 2 });
      sums.push(Number(await mysqlQuery(server, restored, 'SELECT (SELECT balance FROM left_side) + (SELECT balance FROM right_side)')));
    }
    await writer;

    // Assess
    expect(sums).toEqual([1_000_000, 1_000_000, 1_000_000]);
    expect(Number(await mysqlQuery(server, database, 'SELECT balance FROM left_side'))).toBeLessThan(500000);
  });
});

function digest(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function commonPrefix(a: Buffer, b: Buffer): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

function commonSuffix(a: Buffer, b: Buffer): number {
  let i = 0;
  while (i < a.length && i < b.length && a[a.length - 1 - i] === b[b.length - 1 - i]) i++;
  return i;
}

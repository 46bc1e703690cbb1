/**
 * MariaDB fixtures for round-trip tests: databases, a data set covering the types and objects
 * a dump must carry (binary bytes 0..255, utf8mb4, DECIMAL, DATETIME(6)/TIMESTAMP(6), JSON,
 * BIT, ENUM/SET, NULLs, a MyISAM table, a view, a trigger, a function, a procedure, an event,
 * a sequence), content fingerprints, and a writer that keeps committing while a backup runs.
 */
import { createHash, randomBytes } from 'node:crypto';
import { killTree, spawnTracked, tail, waitForExit, which } from './exec.js';
import type { MariadbConnection } from './mariadb-server.js';
import { mysqlEnv, mysqlExec, mysqlQuery, mysqlRows, quoteName, quoteString } from './mysql-client.js';
import { waitFor } from './pg-fixtures.js';

/** A database name no other test will pick: `<prefix>_<random>`. */
export function uniqueMysqlName(prefix = 'vt'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export async function createMysqlDatabase(server: MariadbConnection, name: string): Promise<void> {
  await mysqlQuery(server, undefined, `CREATE DATABASE ${quoteName(name)}`);
}

export async function dropMysqlDatabase(server: MariadbConnection, name: string): Promise<void> {
  await mysqlQuery(server, undefined, `DROP DATABASE IF EXISTS ${quoteName(name)}`);
}

export async function mysqlDatabaseExists(server: MariadbConnection, name: string): Promise<boolean> {
  return (await mysqlQuery(server, undefined, `SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ${quoteString(name)}`)) === '1';
}

/** Rows the varied-types fixture inserts per table. */
export const MYSQL_FIXTURE_ROWS = { customers: 2000, orders: 4000, blobs: 300, measurements: 1500, floats: 200, legacy: 50, orders_audit: 0, event_log: 0 } as const;

/** Text that tends to break encoders, quoting and line-based parsers. */
const TRICKY = [
  'plain ascii',
  'emoji 🎉🔐 family 👩‍👩‍👧 flag 🇫🇷',
  '中文 日本語 한국어',
  'עברית مرحبا RTL',
  "quotes ' \" \\ backslash and\ttab",
  'line\nbreak\r\ncrlf;\n-- Table structure for table `fake`\nDELIMITER ;;',
  'Ωmega ß ﬁ 𝄞 ü€',
  '/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;',
];

const FIXTURE_SQL = `
CREATE TABLE customers (
  id INT AUTO_INCREMENT PRIMARY KEY,
  email VARCHAR(190) NOT NULL UNIQUE,
  name VARCHAR(300) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  balance DECIMAL(20,6) NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at TIMESTAMP(6) NULL DEFAULT NULL,
  profile JSON NULL,
  flags BIT(10) NULL,
  status ENUM('new', 'active', 'closed') NULL,
  tags SET('a', 'b', 'c') NULL,
  active TINYINT(1) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='customers: unicode comment ✓';

CREATE TEMPORARY TABLE tricky (i INT PRIMARY KEY, t VARCHAR(200) CHARACTER SET utf8mb4);
INSERT INTO tricky VALUES ${TRICKY.map((text, i) => `(${i}, ${quoteString(text)})`).join(', ')};

INSERT INTO customers (email, name, balance, created_at, updated_at, profile, flags, status, tags, active)
SELECT
  CONCAT('user', seq, '@example.test'),
  IF(seq % 13 = 0, NULL, CONCAT((SELECT t FROM tricky WHERE i = seq % ${TRICKY.length}), ' #', seq)),
  IF(seq % 11 = 0, NULL, seq * 1234.567891 - 500000),
  TIMESTAMP('2024-01-01 00:00:00') + INTERVAL seq * 2233123456 MICROSECOND,
  IF(seq % 7 = 0, NULL, TIMESTAMP('2023-06-15 12:00:00') + INTERVAL seq * 3600000001 MICROSECOND),
  IF(seq % 17 = 0, NULL, JSON_OBJECT('tier', seq % 4, 'tags', JSON_ARRAY(CONCAT('t', seq % 5), 'x', NULL), 'score', seq / 7, 'text', (SELECT t FROM tricky WHERE i = (seq + 3) % ${TRICKY.length}))),
  IF(seq % 19 = 0, NULL, seq % 1024),
  ELT(1 + seq % 4, 'new', 'active', 'closed', NULL),
  ELT(1 + seq % 5, '', 'a', 'a,b', 'b,c', NULL),
  IF(seq % 3 = 0, NULL, seq % 2)
FROM seq_1_to_${2000};

CREATE TABLE orders (
  id INT PRIMARY KEY,
  customer_id INT NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  note LONGTEXT CHARACTER SET utf8mb4 NULL,
  placed DATE NULL,
  CONSTRAINT orders_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO orders SELECT seq, 1 + seq % 2000, (seq * 7919 % 100000) / 100, IF(seq % 9 = 0, NULL, (SELECT t FROM tricky WHERE i = seq % ${TRICKY.length})), DATE('1999-12-31') + INTERVAL seq DAY FROM seq_1_to_4000;

CREATE TABLE blobs (
  id INT PRIMARY KEY,
  data LONGBLOB NULL,
  small VARBINARY(255) NULL,
  digest BINARY(16) NOT NULL
) ENGINE=InnoDB;
-- Row 1: every byte value 0..255; then NULL, empty, and pseudo-random bytes of varying length.
INSERT INTO blobs SELECT 1, (SELECT GROUP_CONCAT(CHAR(seq USING binary) ORDER BY seq SEPARATOR '') FROM seq_0_to_255), UNHEX('00FF0D0A1A5C27'), UNHEX(MD5('1'));
INSERT INTO blobs SELECT seq,
  CASE seq % 50 WHEN 2 THEN NULL WHEN 3 THEN '' ELSE RANDOM_BYTES(1 + seq % 1000) END,
  IF(seq % 5 = 0, NULL, RANDOM_BYTES(1 + seq % 255)),
  UNHEX(MD5(seq))
FROM seq_2_to_300;

CREATE TABLE measurements (
  id BIGINT PRIMARY KEY,
  d DOUBLE NULL,
  exact DECIMAL(65,30) NULL,
  y YEAR NULL,
  t TIME(6) NULL,
  u BIGINT UNSIGNED NULL,
  tiny TINYINT NULL
) ENGINE=InnoDB;
INSERT INTO measurements SELECT seq,
  CASE seq % 10 WHEN 0 THEN -0.0 WHEN 1 THEN NULL ELSE seq / 7 * 1e10 END,
  IF(seq % 10 = 2, NULL, seq * 12345.678901234567890123456789 / 7),
  IF(seq % 10 = 3, NULL, 1901 + seq % 255),
  IF(seq % 10 = 4, NULL, SEC_TO_TIME(seq * 61.123456)),
  CASE seq % 10 WHEN 5 THEN NULL WHEN 6 THEN 18446744073709551615 ELSE seq * 1000000007 END,
  CASE seq % 3 WHEN 0 THEN -128 WHEN 1 THEN 127 ELSE NULL END
FROM seq_1_to_1500;

-- FLOAT: the server prints it rounded (6 significant digits), and that is what a dump holds.
CREATE TABLE floats (id INT PRIMARY KEY, f FLOAT NULL) ENGINE=InnoDB;
INSERT INTO floats SELECT seq, IF(seq % 10 = 0, NULL, seq / 3) FROM seq_1_to_200;

CREATE TABLE legacy (id INT PRIMARY KEY, label VARCHAR(50)) ENGINE=MyISAM;
INSERT INTO legacy SELECT seq, CONCAT('legacy ', seq) FROM seq_1_to_50;

CREATE TABLE orders_audit (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, total DECIMAL(12,2)) ENGINE=InnoDB;
CREATE TABLE event_log (id INT AUTO_INCREMENT PRIMARY KEY, note VARCHAR(50)) ENGINE=InnoDB;

CREATE SEQUENCE invoice_numbers START WITH 1000 INCREMENT BY 5;
DO NEXTVAL(invoice_numbers);

CREATE VIEW big_spenders AS
  SELECT c.id, c.email, SUM(o.total) AS spent FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.id, c.email HAVING SUM(o.total) > 1000;

DELIMITER //
CREATE TRIGGER orders_after_insert AFTER INSERT ON orders FOR EACH ROW
BEGIN
-- Table structure for table \`not_a_section\`
  INSERT INTO orders_audit (order_id, total) VALUES (NEW.id, NEW.total);
END//
CREATE FUNCTION customer_total(cid INT) RETURNS DECIMAL(14,2) READS SQL DATA
BEGIN
  RETURN (SELECT COALESCE(SUM(total), 0) FROM orders WHERE customer_id = cid);
END//
CREATE PROCEDURE add_order(IN oid INT, IN cid INT, IN amount DECIMAL(12,2))
BEGIN
  INSERT INTO orders (id, customer_id, total) VALUES (oid, cid, amount);
END//
DELIMITER ;
CREATE EVENT nightly_note ON SCHEDULE EVERY 1 DAY STARTS '2037-01-01 00:00:00' DO INSERT INTO event_log (note) VALUES ('ran');
`;

/** Creates the varied-types objects and rows in `database` (which must exist and be empty). */
export async function loadMysqlFixture(server: MariadbConnection, database: string): Promise<void> {
  await mysqlQuery(server, database, FIXTURE_SQL, { keepComments: true, timeoutMs: 120_000 });
}

export interface TableFingerprint {
  readonly rows: number;
  /**
   * `CHECKSUM TABLE … EXTENDED`: over every column's stored bytes, NULLs included. Not for a
   * table with FLOAT columns: a dump holds FLOAT values as the server prints them (rounded), so
   * only their printed form (`md5`) survives a round trip.
   */
  readonly checksum: string;
  /** MD5 of every row as the client prints it, in primary-key order. */
  readonly md5: string;
}

/** Per base table (sequences aside): row count, CHECKSUM TABLE and an MD5 of the ordered rows. */
export async function mysqlFingerprints(server: MariadbConnection, database: string): Promise<Record<string, TableFingerprint>> {
  const tables = (await mysqlRows(server, database, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME")).map(([name]) => name!);
  const result: Record<string, TableFingerprint> = {};
  for (const table of tables) {
    const keys = (
      await mysqlRows(
        server,
        database,
        `SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${quoteString(table)} AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION`,
      )
    ).map(([name]) => quoteName(name!));
    const order = keys.length > 0 ? keys.join(', ') : '1';
    const rowsOut = await mysqlExec(server, database, `SELECT * FROM ${quoteName(table)} ORDER BY ${order}`);
    if (rowsOut.code !== 0) throw new Error(`reading ${table}: ${tail(rowsOut.stderr)}`);
    const [count = '0', checksumLine = ''] = (await mysqlQuery(server, database, `SELECT COUNT(*) FROM ${quoteName(table)}; CHECKSUM TABLE ${quoteName(table)} EXTENDED;`)).split('\n');
    const floats = await mysqlQuery(server, database, `SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ${quoteString(table)} AND DATA_TYPE = 'float'`);
    const checksum = floats === '0' ? (checksumLine.split('\t').at(-1) ?? '') : 'not compared: FLOAT columns';
    result[table] = { rows: Number(count), checksum, md5: createHash('md5').update(rowsOut.stdoutBytes).digest('hex') };
  }
  return result;
}

/**
 * Sorted `name:kind:md5(definition)` entries for the objects a restore must bring back: tables,
 * views (definition without database qualifiers), triggers, functions, procedures, events,
 * sequences, and foreign keys.
 */
export async function mysqlSchemaObjects(server: MariadbConnection, database: string): Promise<string[]> {
  const db = quoteString(database);
  const rows = await mysqlRows(
    server,
    undefined,
    `SELECT CONCAT(TABLE_NAME, ':', LOWER(TABLE_TYPE), ':', IFNULL(ENGINE, '')) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ${db}
     UNION ALL SELECT CONCAT(TABLE_NAME, ':view-definition:', MD5(REPLACE(VIEW_DEFINITION, CONCAT('\`', ${db}, '\`.'), ''))) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ${db}
     UNION ALL SELECT CONCAT(EVENT_OBJECT_TABLE, '.', TRIGGER_NAME, ':trigger:', ACTION_TIMING, ' ', EVENT_MANIPULATION, ':', MD5(ACTION_STATEMENT)) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ${db}
     UNION ALL SELECT CONCAT(ROUTINE_NAME, ':', LOWER(ROUTINE_TYPE), ':', MD5(ROUTINE_DEFINITION)) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ${db}
     UNION ALL SELECT CONCAT(EVENT_NAME, ':event:', STATUS, ':', INTERVAL_VALUE, ' ', INTERVAL_FIELD, ':', MD5(EVENT_DEFINITION)) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ${db}
     UNION ALL SELECT CONCAT(TABLE_NAME, '.', CONSTRAINT_NAME, ':foreign-key:', REFERENCED_TABLE_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ${db}`,
  );
  return rows.map(([entry]) => entry!).sort();
}

/** Sum of `accounts.balance` the concurrent writer keeps invariant. */
export const MYSQL_ACCOUNTS_TOTAL = 1_000_000;

export async function mysqlAccountsTotal(server: MariadbConnection, database: string): Promise<number> {
  return Number(await mysqlQuery(server, database, 'SELECT COALESCE(SUM(balance), 0) FROM accounts'));
}

export interface MysqlWriter {
  /** Prefix of the writer's ticker payloads (`<tag>:<n>`). */
  readonly tag: string;
  /** Kill the writer's connection, wait for its client to exit, report the committed transfers. Idempotent. */
  stop(): Promise<{ inserted: number }>;
}

/**
 * Starts a background `mariadb` client that keeps committing, one transaction at a time: a
 * ticker row `<tag>:<i>` and a transfer of `(i % 13) - 6` between the two rows of `accounts`,
 * so `SUM(balance)` is {@link MYSQL_ACCOUNTS_TOTAL} in every consistent snapshot. Resolves once
 * the first transaction committed.
 */
export async function startMysqlWriter(server: MariadbConnection, database: string, options: { pauseMs?: number } = {}): Promise<MysqlWriter> {
  const tag = `writer-${randomBytes(4).toString('hex')}`;
  await mysqlQuery(
    server,
    database,
    `CREATE TABLE IF NOT EXISTS ticker (id BIGINT AUTO_INCREMENT PRIMARY KEY, payload VARCHAR(100) NOT NULL) ENGINE=InnoDB;
     CREATE TABLE IF NOT EXISTS accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL) ENGINE=InnoDB;
     INSERT IGNORE INTO accounts VALUES (1, ${MYSQL_ACCOUNTS_TOTAL / 2}), (2, ${MYSQL_ACCOUNTS_TOTAL / 2});`,
  );
  const pause = Math.max(0, options.pauseMs ?? 2) / 1000;
  // First its connection id (stop() kills that connection: a server-side loop does not notice
  // its client going away), then the loop.
  const loop = `SELECT CONNECTION_ID();
DELIMITER //
BEGIN NOT ATOMIC
  DECLARE i BIGINT DEFAULT 0;
  DECLARE amount BIGINT;
  LOOP
    SET i = i + 1;
    SET amount = (i % 13) - 6;
    START TRANSACTION;
    INSERT INTO ticker (payload) VALUES (CONCAT(${quoteString(tag)}, ':', i));
    UPDATE accounts SET balance = balance - amount WHERE id = 1;
    UPDATE accounts SET balance = balance + amount WHERE id = 2;
    COMMIT;
    DO SLEEP(${pause});
  END LOOP;
END//
DELIMITER ;
`;
  const command = which('mariadb') ?? which('mysql');
  if (!command) throw new Error('the mariadb client is not on PATH');
  const child = spawnTracked(command, ['--no-defaults', `--host=${server.host}`, `--port=${server.port}`, `--user=${server.user}`, `--database=${database}`, '--batch', '--skip-column-names', '--unbuffered'], {
    env: mysqlEnv(server),
    stdin: 'pipe',
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(loop);
  const exited = waitForExit(child);
  const connectionId = () => Number(/^(\d+)$/m.exec(stdout)?.[1] ?? NaN);
  const countRows = async () => Number(await mysqlQuery(server, database, `SELECT COUNT(*) FROM ticker WHERE payload LIKE ${quoteString(`${tag}:%`)}`));
  try {
    await waitFor(async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the writer exited early: ${tail(stderr)}`);
      return !Number.isNaN(connectionId()) && (await countRows()) > 0;
    }, 30_000, 'the writer to commit its first transaction');
  } catch (error) {
    killTree(child, 'SIGKILL');
    await exited;
    throw error;
  }
  let stopping: Promise<{ inserted: number }> | undefined;
  return {
    tag,
    stop() {
      stopping ??= (async () => {
        const failedEarly = child.exitCode !== null || child.signalCode !== null;
        await mysqlExec(server, undefined, `KILL ${connectionId()}`);
        const timer = setTimeout(() => killTree(child, 'SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
        if (failedEarly) throw new Error(`the writer had failed: ${tail(stderr)}`);
        return { inserted: await countRows() };
      })();
      return stopping;
    },
  };
}

/**
 * MySQL/MariaDB: a throwaway MariaDB (bench/mariadb-server.ts, binary log on), a database of
 * the same shape as the PostgreSQL one — orders (with a BINARY(16) column, so --hex-blob has
 * work), events (JSON), documents (long text) — plus a view, a function and a trigger, so the
 * dump has the sections Vaultra's restore scanner reads. Rows are functions of the row number,
 * inserted with INSERT … SELECT FROM seq_1_to_N (MariaDB's Sequence engine).
 *
 *   shell backup    mariadb-dump <Vaultra's flags> db | zstd -3 -T0 -q > file
 *   shell restore   mariadb -e 'CREATE DATABASE t' && zstd -d -c file | mariadb <Vaultra's flags> t
 *
 * Both sides get the flags Vaultra gives the tools (mysql-engine.ts; --master-data=2 --gtid from
 * mysql-gtid.ts, as the binary log is on) and the same 0600 option file for the credentials,
 * so the comparison is Vaultra's own overhead and nothing else.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MYSQL_DUMP_FLAGS, MYSQL_RESTORE_FLAGS } from '../../core/adapters/engines/mysql/mysql-engine.js';
import { startMariadbServer, type MariadbServer } from '../mariadb-server.js';
import { capture, log, mb, sleep, sq, toolLine } from '../support.js';
import type { BenchEngine, Dataset, EngineHost } from './engine.js';

const TABLES = ['orders', 'events', 'documents'] as const;

/** Vaultra's own flags, then those mysql-gtid.ts adds for MariaDB with the binary log on. */
const DUMP_FLAGS = [...MYSQL_DUMP_FLAGS, '--master-data=2', '--gtid'];
const RESTORE_FLAGS = MYSQL_RESTORE_FLAGS;

export const mysqlEngine: BenchEngine = {
  name: 'mysql',
  title: 'MariaDB',
  defaultSizeMb: 512,
  sizeMeaning: 'InnoDB .ibd bytes',
  tools: ['mariadb-dump', 'mariadb'],
  targets: { backup: 1.05, restore: 1.05 },
  async start(work: string): Promise<EngineHost> {
    const server = await startMariadbServer(work);
    const opt = `--defaults-file=${server.optionFile}`;
    const sql = (text: string, database?: string) =>
      capture('mariadb', [opt, '--batch', '--skip-column-names', ...(database ? [`--database=${database}`] : [])], { input: text, what: `mariadb${database ? ` on ${database}` : ''}` });
    const url = (database: string) => `mariadb://${server.user}:${encodeURIComponent(server.password)}@${server.host}:${server.port}/${database}`;
    const fingerprint = async (database: string) => {
      const out = await sql(
        [
          ...TABLES.map((t) => `SELECT COUNT(*) FROM \`${t}\`;`),
          `SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '${database}';`,
          `SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '${database}';`,
          `SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = '${database}';`,
        ].join('\n'),
        database,
      );
      const counts = out.split('\n').map(Number);
      return Object.fromEntries([...TABLES, 'routines', 'triggers', 'views'].map((name, i) => [name, counts[i] ?? -1]));
    };
    return {
      serverVersion: `MariaDB ${server.serverVersion}`,
      versions: { 'mariadb-dump': toolLine('mariadb-dump'), mariadb: toolLine('mariadb') },
      pipelines: {
        backup: 'mariadb-dump --single-transaction --quick … | zstd -3 -T0 > file',
        vaultraBackup: 'mariadb-dump → zstd -3 -T0 → age → file://',
        restore: 'CREATE DATABASE && zstd -d -c file | mariadb --binary-mode …',
        vaultraRestore: 'sha256 → age -d → zstd -d → section scanner → mariadb',
      },
      env: () => ({ ...process.env }),
      async generate(name: string, targetMb: number): Promise<Dataset> {
        await generate(server, sql, name, targetMb);
        return { name, bytes: ibdBytes(server, name), fingerprint: await fingerprint(name) };
      },
      sourceUrl: (dataset) => url(dataset.name),
      targetUrl: url,
      shellBackup: (dataset, file) => `mariadb-dump ${sq(opt)} ${DUMP_FLAGS.join(' ')} -- ${sq(dataset.name)} | zstd -3 -T0 -q > ${sq(file)}`,
      shellRestore: (_dataset, file, target) =>
        `mariadb ${sq(opt)} -e ${sq(`CREATE DATABASE \`${target}\``)} && zstd -d -c ${sq(file)} | mariadb ${sq(opt)} ${RESTORE_FLAGS.join(' ')} --database=${sq(target)}`,
      fingerprint,
      async drop(target: string) {
        await sql(`DROP DATABASE IF EXISTS \`${target}\``);
      },
      async settle() {
        // Write back what the last restore left dirty in the buffer pool, and drop the binary
        // logs it wrote (restores are binlogged, as on a production server).
        await sql('SET GLOBAL innodb_max_dirty_pages_pct = 0; FLUSH BINARY LOGS; PURGE BINARY LOGS BEFORE NOW();');
        const deadline = Date.now() + 60_000;
        while (Date.now() < deadline) {
          const dirty = Number(await sql("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'INNODB_BUFFER_POOL_PAGES_DIRTY'"));
          if (!(dirty > 64)) break;
          await sleep(200);
        }
        await sql('SET GLOBAL innodb_max_dirty_pages_pct = 90');
        spawnSync('sync');
      },
      keep: () => {
        server.keep();
        return `MariaDB on 127.0.0.1:${server.port}, option file ${server.optionFile}; stop it with: ${server.stopCommand}`;
      },
      stop: () => server.stop(),
    };
  },
};

/** `ELT(1 + (n) % 20, 'alpha', …)`: a word of a small vocabulary, chosen by `n`. */
function w(n: string): string {
  return `ELT(1 + (${n}) % 20, 'alpha','bravo','shipping','invoice','customer','priority','standard','express','return','warehouse',
    'discount','payment','pending','review','account','delivery','support','order','refund','update')`;
}

const SCHEMA_SQL = `
CREATE TABLE orders (
  id BIGINT PRIMARY KEY,
  customer_id INT NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  quantity INT NOT NULL,
  status VARCHAR(16) NOT NULL,
  created_at DATETIME NOT NULL,
  note VARCHAR(255) NULL,
  digest BINARY(16) NOT NULL,
  KEY orders_customer_idx (customer_id)
) ENGINE=InnoDB;
CREATE TABLE events (
  id BIGINT PRIMARY KEY,
  occurred_at DATETIME(3) NOT NULL,
  kind VARCHAR(16) NOT NULL,
  payload JSON NOT NULL
) ENGINE=InnoDB;
CREATE TABLE documents (
  id BIGINT PRIMARY KEY,
  title VARCHAR(255) NOT NULL,
  body TEXT NOT NULL,
  score DOUBLE,
  updated_at DATETIME NULL
) ENGINE=InnoDB;
CREATE VIEW paid_orders AS SELECT id, customer_id, amount FROM orders WHERE status = 'paid';
CREATE FUNCTION order_total(q INT, a DECIMAL(12,2)) RETURNS DECIMAL(14,2) DETERMINISTIC RETURN q * a;
CREATE TRIGGER documents_touch BEFORE UPDATE ON documents FOR EACH ROW SET NEW.updated_at = NOW();
`;

function batchSql(from: number, to: number): string {
  const seq = `seq_${from}_to_${to}`;
  return `
SET SESSION sql_log_bin = 0;
INSERT INTO orders
SELECT seq, (seq * 7919) % 100000, ((seq * 104729) % 10000000) / 100, 1 + seq % 9,
       ELT(1 + (seq * 31) % 6, 'new','paid','shipped','delivered','cancelled','refunded'),
       TIMESTAMPADD(SECOND, (seq * 2654435761) % 94608000, '2021-01-01 00:00:00'),
       IF(seq % 3 = 0, NULL, CONCAT('customer asked for ', ${w('seq * 13')}, ' ', ${w('seq * 7')}, ' handling, ref ', MD5(seq * 5))),
       UNHEX(MD5(seq))
FROM ${seq};
INSERT INTO events
SELECT seq, TIMESTAMPADD(MICROSECOND, seq * 250000, '2022-01-01 00:00:00'),
       ELT(1 + (seq * 17) % 6, 'page_view','click','signup','purchase','logout','search'),
       JSON_OBJECT(
         'user_id', (seq * 7919) % 250000,
         'session', MD5(seq DIV 20),
         'request_id', MD5(seq),
         'ip', CONCAT('10.', seq % 256, '.', (seq DIV 256) % 256, '.', (seq * 7) % 256),
         'agent', ELT(1 + seq % 3, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0', 'Mozilla/5.0 (Macintosh) Safari/17.4', 'curl/8.5.0'),
         'tags', JSON_ARRAY(${w('seq')}, ${w('seq * 3')}),
         'amount', ROUND(((seq * 37) % 100000) / 100, 2),
         'ok', seq % 17 <> 0)
FROM ${seq};
INSERT INTO documents (id, title, body, score)
SELECT seq, CONCAT('Document ', seq, ': ', ${w('seq')}, ' ', ${w('seq * 11')}),
       CONCAT(REPEAT(CONCAT('The ', ${w('seq')}, ' team reviewed the ', ${w('seq * 3')}, ' request and scheduled a ', ${w('seq * 5')}, ' follow-up. '), 1 + seq % 4),
              MD5(seq), ' ', MD5(seq * 3), ' ', MD5(seq * 7)),
       ((seq * 2654435761) % 1000000) / 1000000
FROM ${seq} WHERE seq % 2 = 0;
`;
}

/** The database's InnoDB files (tables and their indexes), as the server has them on disk. */
function ibdBytes(server: MariadbServer, database: string): number {
  const dir = join(server.dataDir, database);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ibd'))
    .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
}

/** Creates `database` and fills it to about `targetMb` MB of InnoDB files. */
async function generate(server: MariadbServer, sql: (text: string, database?: string) => Promise<string>, database: string, targetMb: number): Promise<void> {
  const target = targetMb * 1024 * 1024;
  await sql(`SET SESSION sql_log_bin = 0; CREATE DATABASE \`${database}\`;`);
  await sql(`SET SESSION sql_log_bin = 0; ${SCHEMA_SQL}`, database);
  const empty = ibdBytes(server, database);
  const calibration = 20000;
  await sql(batchSql(1, calibration), database);
  let size = ibdBytes(server, database);
  const perUnit = Math.max(1, (size - empty) / calibration);
  const perBatch = Math.max(5000, Math.floor((64 * 1024 * 1024) / perUnit));
  let next = calibration + 1;
  let lastShown = 0;
  while (size < target) {
    const units = Math.min(perBatch, Math.max(1000, Math.ceil((target - size) / perUnit)));
    await sql(batchSql(next, next + units - 1), database);
    next += units;
    size = ibdBytes(server, database);
    if (size - lastShown > target / 8 || size >= target) {
      log(`  ${database}: ${mb(size)} of ${targetMb} MB`);
      lastShown = size;
    }
  }
}

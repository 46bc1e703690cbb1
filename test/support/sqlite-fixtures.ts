/**
 * SQLite fixtures through the `sqlite3` CLI: a database covering the storage classes and
 * schema objects a backup must keep, content fingerprints, and a writer process that keeps
 * committing while a backup runs.
 */
import { randomBytes } from 'node:crypto';
import { killTree, runOk, spawnTracked, tail, waitForExit, which } from './exec.js';

const FIELD_SEPARATOR = '\x1f';

function sqlite3Path(): string {
  const path = which('sqlite3');
  if (!path) throw new Error('sqlite3 not found on PATH; run scripts/setup-system.sh');
  return path;
}

function sqlLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

function sqlIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Run SQL against a database file with `sqlite3 -bail -batch`; resolves with stdout. */
export async function sqliteExec(path: string, sql: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const result = await runOk(sqlite3Path(), ['-bail', '-batch', '-noheader', '-separator', FIELD_SEPARATOR, path], {
    input: `.timeout 10000\n${sql}\n`,
    timeoutMs: options.timeoutMs ?? 120_000,
  });
  return result.stdout.replace(/\n$/, '');
}

const TRICKY_TEXTS = [
  'plain ascii',
  'emoji 🎉🔐 family 👩‍👩‍👧 flag 🇫🇷',
  '中文 日本語 한국어',
  'עברית مرحبا RTL',
  'combining e\u0301 n\u0303 zero\u200Bwidth',
  `quotes ' " \\ backslash and tab\tend`,
  'line\nbreak\r\ncrlf',
  'Ωmega ß ﬁ 𝄞 ü€',
];

/** Rows {@link createSqliteFixture} puts in each table. */
export const SQLITE_FIXTURE_ROWS = { items: 2000, audit: 2000, tags: 2000 } as const;

/**
 * Create a WAL-mode database at `path` (which must not exist yet) with tables `items`
 * (INTEGER incl. 64-bit extremes, REAL incl. 1e308 and -0.0, unicode TEXT, BLOBs with zero
 * and high bytes, empty and 70 000-byte BLOBs, NULLs), `audit` (AUTOINCREMENT, filled by
 * a trigger) and `tags` (WITHOUT ROWID), plus a view, indexes and the trigger.
 */
export async function createSqliteFixture(path: string): Promise<void> {
  const textCase = `CASE i % ${TRICKY_TEXTS.length} ${TRICKY_TEXTS.map((text, k) => `WHEN ${k} THEN ${sqlLiteral(text)}`).join(' ')} END`;
  await sqliteExec(
    path,
    `PRAGMA journal_mode = WAL;
BEGIN;
CREATE TABLE items (
  id INTEGER PRIMARY KEY,
  qty INTEGER,
  price REAL,
  name TEXT,
  data BLOB,
  note TEXT,
  created_at TEXT NOT NULL
);
CREATE TABLE audit (id INTEGER PRIMARY KEY AUTOINCREMENT, item_id INTEGER NOT NULL, action TEXT NOT NULL);
CREATE TABLE tags (item_id INTEGER NOT NULL REFERENCES items (id), tag TEXT NOT NULL, PRIMARY KEY (item_id, tag)) WITHOUT ROWID;
CREATE INDEX items_name_idx ON items (name);
CREATE UNIQUE INDEX items_created_idx ON items (created_at);
CREATE INDEX tags_tag_idx ON tags (tag);
CREATE VIEW expensive_items AS SELECT id, name, price FROM items WHERE price > 100;
CREATE TRIGGER items_audit AFTER INSERT ON items BEGIN
  INSERT INTO audit (item_id, action) VALUES (NEW.id, 'insert');
END;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${SQLITE_FIXTURE_ROWS.items})
INSERT INTO items (id, qty, price, name, data, note, created_at)
SELECT
  i,
  CASE i % 13 WHEN 0 THEN NULL WHEN 1 THEN 9223372036854775807 WHEN 2 THEN -9223372036854775808 ELSE i * 7 END,
  CASE i % 10 WHEN 0 THEN NULL WHEN 1 THEN 1e308 WHEN 2 THEN -0.0 WHEN 3 THEN 0.1 ELSE i / 3.0 END,
  CASE WHEN i % 11 = 0 THEN NULL ELSE ${textCase} || ' #' || i END,
  CASE
    WHEN i % 500 = 4 THEN zeroblob(70000)
    WHEN i % 7 = 0 THEN NULL
    WHEN i % 7 = 1 THEN zeroblob(i % 64)
    WHEN i % 7 = 2 THEN X''
    WHEN i % 7 = 3 THEN X'00FF0080FE7F00'
    WHEN i % 7 = 4 THEN X'FFFEFD0000000180'
    ELSE CAST(printf('%08x-%d', (i * 2654435761) % 4294967296, i) AS BLOB)
  END,
  CASE WHEN i % 5 = 0 THEN NULL ELSE 'note ' || i END,
  strftime('%Y-%m-%dT%H:%M:%fZ', '2024-01-01', '+' || (i * 37) || ' minutes')
FROM s;
WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${SQLITE_FIXTURE_ROWS.tags / 2})
INSERT INTO tags (item_id, tag) SELECT i, 'tag-' || (i % 10) FROM s UNION ALL SELECT i, ${textCase} FROM s;
COMMIT;`,
  );
}

export interface SqliteTableFingerprint {
  readonly rows: number;
  /** SHA3-256 of all rows (values with their storage classes), ordered by every column. */
  readonly hash: string;
}

/** Row count and content hash per table (internal `sqlite_*` tables excluded). */
export async function sqliteFingerprints(path: string): Promise<Record<string, SqliteTableFingerprint>> {
  const columns = await sqliteExec(
    path,
    `SELECT m.name, count(p.cid) FROM sqlite_schema AS m JOIN pragma_table_info(m.name) AS p
     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\'
     GROUP BY m.name ORDER BY m.name;`,
  );
  const result: Record<string, SqliteTableFingerprint> = {};
  if (columns === '') return result;
  const tables = columns.split('\n').map((line) => {
    const [name = '', count = '0'] = line.split(FIELD_SEPARATOR);
    return { name, columns: Number(count) };
  });
  const selects = tables.map(({ name, columns: n }) => {
    const orderBy = Array.from({ length: n }, (_, k) => k + 1).join(', ');
    const query = `SELECT * FROM ${sqlIdent(name)} ORDER BY ${orderBy}`;
    return `SELECT ${sqlLiteral(name)}, (SELECT count(*) FROM ${sqlIdent(name)}), lower(hex(sha3_query(${sqlLiteral(query)})))`;
  });
  const out = await sqliteExec(path, `${selects.join('\nUNION ALL\n')};`);
  for (const line of out.split('\n')) {
    const [name = '', rows = '0', hash = ''] = line.split(FIELD_SEPARATOR);
    result[name] = { rows: Number(rows), hash };
  }
  return result;
}

/** Sorted `name:type` of tables, views, indexes and triggers (internal `sqlite_*` objects excluded). */
export async function sqliteSchemaObjects(path: string): Promise<string[]> {
  const out = await sqliteExec(
    path,
    `SELECT name || ':' || type FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY 1;`,
  );
  return out === '' ? [] : out.split('\n');
}

/** `PRAGMA journal_mode` of the file, e.g. `wal`. */
export async function sqliteJournalMode(path: string): Promise<string> {
  return sqliteExec(path, 'PRAGMA journal_mode;');
}

/** Sum of `accounts.balance` the SQLite writer keeps invariant. */
export const SQLITE_ACCOUNTS_TOTAL = 1_000_000;

/** Current `sum(balance)` of `accounts`. */
export async function sqliteAccountsTotal(path: string): Promise<number> {
  return Number(await sqliteExec(path, 'SELECT coalesce(sum(balance), 0) FROM accounts;'));
}

export interface SqliteWriter {
  /** Prefix of this writer's `ticker.payload` values (`<tag>:<n>`). */
  readonly tag: string;
  /** Finish the current transaction, end the sqlite3 process and report committed transactions. Rejects if the writer failed. Idempotent. */
  stop(): Promise<{ inserted: number }>;
}

/**
 * Start a `sqlite3` process that keeps committing, one transaction at a time: a row into
 * `ticker(id, at, payload)` and a transfer between the two rows of `accounts`, so
 * `sum(balance)` stays {@link SQLITE_ACCOUNTS_TOTAL} in every consistent snapshot. Creates
 * both tables if missing; resolves after the first commit.
 */
export async function startSqliteWriter(path: string, options: { pauseMs?: number } = {}): Promise<SqliteWriter> {
  const tag = `sqlite-writer-${randomBytes(4).toString('hex')}`;
  const pauseMs = Math.max(0, options.pauseMs ?? 5);
  await sqliteExec(
    path,
    `BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS ticker (id INTEGER PRIMARY KEY, at TEXT NOT NULL, payload TEXT);
CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
INSERT OR IGNORE INTO accounts (id, balance) VALUES (1, ${SQLITE_ACCOUNTS_TOTAL / 2}), (2, ${SQLITE_ACCOUNTS_TOTAL / 2});
COMMIT;`,
  );

  const child = spawnTracked(sqlite3Path(), ['-bail', '-batch', '-noheader', path], { stdin: 'pipe' });
  let stderr = '';
  let buffered = '';
  let committed = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      const match = /^ack\|(\d+)$/.exec(line);
      if (match) committed = Number(match[1]);
      wake?.();
    }
  });
  child.stdin?.on('error', () => undefined);
  const exited = waitForExit(child).then((status) => {
    failure ??= new Error(`sqlite writer exited (${status.code ?? status.signal}): ${tail(stderr)}`);
    wake?.();
  });
  child.stdin?.write('.timeout 10000\n');

  let stopRequested = false;
  const loop = (async () => {
    for (let n = 1; !stopRequested && !failure; n++) {
      const amount = (n % 13) - 6;
      child.stdin?.write(
        `BEGIN IMMEDIATE;
INSERT INTO ticker (at, payload) VALUES (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), '${tag}:${n}');
UPDATE accounts SET balance = balance - ${amount} WHERE id = 1;
UPDATE accounts SET balance = balance + ${amount} WHERE id = 2;
COMMIT;
SELECT 'ack', ${n};
`,
      );
      // Every stdout line and the process exit call wake(); nothing can fire between the check and the assignment.
      while (committed < n && !failure) await new Promise<void>((resolve) => (wake = resolve));
      if (pauseMs) await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();

  const started = Date.now();
  while (committed === 0 && !failure && Date.now() - started < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (committed === 0) {
    stopRequested = true;
    killTree(child, 'SIGKILL');
    await exited;
    throw failure ?? new Error('sqlite writer did not commit within 30 s');
  }

  let stopping: Promise<{ inserted: number }> | undefined;
  return {
    tag,
    stop() {
      stopping ??= (async () => {
        stopRequested = true;
        await loop;
        const failedEarly = failure;
        if (!failedEarly) {
          child.stdin?.end('.quit\n');
          const timer = setTimeout(() => killTree(child, 'SIGKILL'), 10_000);
          await exited;
          clearTimeout(timer);
          if (child.exitCode !== 0) throw new Error(`sqlite writer exited ${child.exitCode ?? child.signalCode}: ${tail(stderr)}`);
        } else {
          killTree(child, 'SIGKILL');
          await exited;
          throw failedEarly;
        }
        return { inserted: committed };
      })();
      return stopping;
    },
  };
}

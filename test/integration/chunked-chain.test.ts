/**
 * Chunked snapshots end to end through the built CLI, for every engine: a chain
 * full → change → incremental → change → differential → change → incremental, each run restored
 * into a fresh target and compared by content with the source as it was when the run took it;
 * then the oldest full pruned away and every later run restored again. The chain runs on
 * `file://` and on `s3://` (moto) for all five engines.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { appendFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { runVaultra } from '../support/cli.js';
import { makeWorkspace, type Workspace } from '../support/workspace.js';
import { requireMariadb, requireMongo, requireMoto, requirePostgres, requireTools } from '../support/requirements.js';
import { createDatabase, dropDatabase, tableFingerprints, uniqueDatabaseName } from '../support/pg-fixtures.js';
import { pgEnv, psqlQuery, type PgConnection } from '../support/psql.js';
import { sqliteExec, sqliteFingerprints } from '../support/sqlite-fixtures.js';
import { hashTree } from '../support/file-tree.js';
import { createMysqlDatabase, dropMysqlDatabase, mysqlFingerprints, uniqueMysqlName } from '../support/mysql-fixtures.js';
import { mysqlEnv, mysqlQuery, mysqlUrl } from '../support/mysql-client.js';
import type { MariadbConnection } from '../support/mariadb-server.js';
import { dropMongoDatabase, mongoFingerprints, mongoUrl, uniqueMongoDatabase } from '../support/mongo-fixtures.js';
import { withTestClient, type MongoConnection } from '../support/mongo-server.js';

/** One engine's source, how to change it a little, and how to compare a restore with it. */
interface ChainCase {
  readonly source: string;
  readonly env: NodeJS.ProcessEnv;
  /**
   * Whether a small change stores a small part of a full. Not for SQLite: its snapshot is a
   * `VACUUM INTO` copy, which packs rows densely, so a row that changes size (or goes) moves
   * every row after it within the pages, and most chunks change (docs/chunked-snapshots.md).
   */
  readonly dedups: boolean;
  /** Changes ~1 % of the data: updates, inserts and deletes (step 1, 2, 3). */
  change(step: number): Promise<void>;
  /** The content of the source (no argument) or of a restored target. */
  fingerprint(target?: string): Promise<unknown>;
  newTarget(): Promise<string>;
  cleanup(): Promise<void>;
}

interface RunJson {
  runId: string;
  status: string;
  type: string;
  baseRunId?: string;
  bytesRaw: number;
  bytesStored: number;
  snapshot?: { chunks: number; newChunks: number; referencedStoredBytes: number; newStoredBytes: number; dedupRatio: number | null };
}

const ROWS = 20_000;
/** FerretDB is slow to load: fewer documents. */
const MONGO_DOCS = 5000;
/** The rows a step changes: a narrow band, as real changes cluster (recent orders, active users). */
const band = (step: number) => `BETWEEN ${step * 5000} AND ${step * 5000 + 30}`;

async function postgresChain(pg: PgConnection): Promise<ChainCase> {
  const database = uniqueDatabaseName('chain_src');
  const created = [database];
  await createDatabase(pg, database);
  await psqlQuery(
    pg,
    database,
    `CREATE TABLE items (id int PRIMARY KEY, label text, n int);
     INSERT INTO items SELECT g, repeat(md5(g::text), 8), g FROM generate_series(1, ${ROWS}) g;
     CREATE TABLE notes (body text);
     INSERT INTO notes SELECT 'note ' || g FROM generate_series(1, 200) g;
     CREATE SEQUENCE tickets START 100; SELECT nextval('tickets');`,
  );
  const url = (name: string) => `postgres://${pg.user}@${pg.host}:${pg.port}/${name}`;
  return {
    source: url(database),
    env: pgEnv(pg, 'postgres'),
    dedups: true,
    change: (step) =>
      psqlQuery(
        pg,
        database,
        `UPDATE items SET n = n + ${step} WHERE id ${band(step)};
         INSERT INTO items SELECT g, 'new ' || g, g FROM generate_series(${ROWS + step * 10}, ${ROWS + step * 10 + 5}) g;
         DELETE FROM items WHERE id = ${step * 7};
         INSERT INTO notes VALUES ('step ${step}'); SELECT nextval('tickets');`,
      ).then(() => undefined),
    fingerprint: async (target) => ({
      tables: await tableFingerprints(pg, target ? new URL(target).pathname.slice(1) : database),
      sequence: await psqlQuery(pg, target ? new URL(target).pathname.slice(1) : database, 'SELECT last_value FROM tickets'),
    }),
    newTarget: async () => {
      const name = uniqueDatabaseName('chain_to');
      created.push(name);
      return url(name);
    },
    cleanup: async () => {
      for (const name of created) await dropDatabase(pg, name).catch(() => undefined);
    },
  };
}

async function sqliteChain(root: string): Promise<ChainCase> {
  const path = join(root, 'chain.db');
  await sqliteExec(path, `CREATE TABLE items (id INTEGER PRIMARY KEY, label TEXT, n INTEGER); WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < ${ROWS}) INSERT INTO items SELECT i, hex(randomblob(64)), i FROM g;`);
  let targets = 0;
  return {
    source: `sqlite:${path}`,
    env: {},
    dedups: false,
    change: (step) => sqliteExec(path, `UPDATE items SET n = n + ${step} WHERE id ${band(step)}; INSERT INTO items (label, n) VALUES ('step ${step}', ${step}); DELETE FROM items WHERE id = ${step * 7};`).then(() => undefined),
    fingerprint: (target) => sqliteFingerprints(target ? target.slice('sqlite:'.length) : path),
    newTarget: async () => `sqlite:${join(root, `chain-target-${targets++}.db`)}`,
    cleanup: async () => undefined,
  };
}

async function directoryChain(root: string): Promise<ChainCase> {
  const source = join(root, 'chain-dir');
  await mkdir(join(source, 'logs'), { recursive: true });
  // Content that does not compress away, so the index is not most of what a run stores.
  for (let i = 0; i < 20; i++) await writeFile(join(source, `file-${i}.txt`), randomBytes(100_000).toString('base64'));
  await writeFile(join(source, 'logs', 'app.log'), 'started\n');
  let targets = 0;
  return {
    source: `dir:${source}`,
    env: {},
    dedups: true,
    change: async (step) => {
      await appendFile(join(source, 'logs', 'app.log'), `step ${step}\n`);
      await writeFile(join(source, `added-${step}.txt`), `added at step ${step}\n`);
      await rm(join(source, `file-${step}.txt`));
    },
    fingerprint: (target) => hashTree(target ? target.slice('dir:'.length) : source),
    newTarget: async () => `dir:${join(root, `chain-dir-target-${targets++}`)}`,
    cleanup: async () => undefined,
  };
}

async function mariadbChain(server: MariadbConnection): Promise<ChainCase> {
  const database = uniqueMysqlName('chain_src');
  const created = [database];
  await createMysqlDatabase(server, database);
  await mysqlQuery(
    server,
    database,
    `CREATE TABLE items (id INT PRIMARY KEY, label TEXT, n INT);
     INSERT INTO items SELECT seq, REPEAT(MD5(seq), 8), seq FROM seq_1_to_${ROWS};
     CREATE TABLE notes (body TEXT);
     INSERT INTO notes SELECT CONCAT('note ', seq) FROM seq_1_to_200;`,
  );
  return {
    source: mysqlUrl(server, database, { password: false }),
    env: mysqlEnv(server),
    dedups: true,
    change: (step) =>
      mysqlQuery(
        server,
        database,
        `UPDATE items SET n = n + ${step} WHERE id ${band(step)};
         INSERT INTO items SELECT seq, CONCAT('new ', seq), seq FROM seq_${ROWS + step * 10}_to_${ROWS + step * 10 + 5};
         DELETE FROM items WHERE id = ${step * 7};
         INSERT INTO notes VALUES ('step ${step}');`,
      ).then(() => undefined),
    fingerprint: (target) => mysqlFingerprints(server, target ? decodeURIComponent(new URL(target).pathname.slice(1)) : database),
    newTarget: async () => {
      const name = uniqueMysqlName('chain_to');
      created.push(name);
      return mysqlUrl(server, name, { password: false });
    },
    cleanup: async () => {
      for (const name of created) await dropMysqlDatabase(server, name).catch(() => undefined);
    },
  };
}

async function mongoChain(mongo: MongoConnection): Promise<ChainCase> {
  const database = uniqueMongoDatabase('chain_src');
  const created = [database];
  await withTestClient(mongoUrl(mongo, database), async (client) => {
    const items = client.db(database).collection<{ _id: number; label: string; n: number }>('items');
    await items.insertMany(Array.from({ length: MONGO_DOCS }, (_, i) => ({ _id: i + 1, label: 'x'.repeat(200) + i, n: i })));
    await client.db(database).collection('notes').insertMany(Array.from({ length: 100 }, (_, i) => ({ body: `note ${i}` })));
  });
  return {
    source: mongoUrl(mongo, database),
    env: {},
    dedups: true,
    change: (step) =>
      withTestClient(mongoUrl(mongo, database), async (client) => {
        const items = client.db(database).collection<{ _id: number; label: string; n: number }>('items');
        await items.updateMany({ _id: { $gte: step * 500, $lte: step * 500 + 10 } }, { $inc: { n: step } });
        await items.insertMany(Array.from({ length: 5 }, (_, i) => ({ _id: MONGO_DOCS + step * 10 + i, label: `new ${step}`, n: step })));
        await items.deleteOne({ _id: step * 7 });
      }),
    fingerprint: (target) => mongoFingerprints(mongo, target ? new URL(target).pathname.slice(1) : database),
    newTarget: async () => {
      const name = uniqueMongoDatabase('chain_to');
      created.push(name);
      return mongoUrl(mongo, name);
    },
    cleanup: async () => {
      for (const name of created) await dropMongoDatabase(mongo, name).catch(() => undefined);
    },
  };
}

/**
 * The chain on one engine and one store: each run's JSON and the source's content when it ran;
 * every run restored and compared; the oldest full pruned and the later runs restored again.
 */
async function chainRoundTrip(chain: ChainCase, ws: Workspace, store: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<RunJson[]> {
  const env = { ...ws.env, ...chain.env, ...extraEnv };
  const vaultra = async (args: string[]) => {
    const result = await runVaultra(args, { env, timeoutMs: 180_000 });
    expect(result.code, `vaultra ${args[0]}: ${result.stderr}`).toBe(0);
    return result;
  };
  const steps: { flags: string[]; type: string }[] = [
    { flags: ['--chunked'], type: 'full' },
    { flags: ['--type', 'incremental'], type: 'incremental' },
    { flags: ['--type', 'differential'], type: 'differential' },
    { flags: ['--type', 'incremental'], type: 'incremental' },
  ];
  const runs: RunJson[] = [];
  const expected: unknown[] = [];
  for (const [step, { flags, type }] of steps.entries()) {
    if (step > 0) await chain.change(step);
    const run = JSON.parse((await vaultra(['backup', chain.source, '--to', store, '--job', 'chain', '--json', '--jobs', '2', ...flags])).stdout) as RunJson;
    expect(run.status).toBe('succeeded');
    expect(run.type).toBe(type);
    runs.push(run);
    expected.push(await chain.fingerprint());
  }
  // The differential's base is the full; the incrementals' the run before them.
  expect(runs[1]!.baseRunId).toBe(runs[0]!.runId);
  expect(runs[2]!.baseRunId).toBe(runs[0]!.runId);
  expect(runs[3]!.baseRunId).toBe(runs[2]!.runId);
  // A small change stores a small part of what the full stored.
  if (chain.dedups) for (const run of runs.slice(1)) expect(run.bytesStored, `${run.type} ${run.runId}`).toBeLessThan(runs[0]!.bytesStored / 2);

  const restoreAll = async (from: number) => {
    for (let i = from; i < runs.length; i++) {
      const target = await chain.newTarget();
      await vaultra(['restore', runs[i]!.runId, '--from', store, '--job', 'chain', '--target', target, '--jobs', '2', '--json']);
      expect(await chain.fingerprint(target), `run ${i} (${runs[i]!.type})`).toEqual(expected[i]);
    }
  };
  await restoreAll(0);
  await vaultra(['verify', runs[3]!.runId, '--from', store, '--job', 'chain', '--json']);
  // A sample reads at least one pack's chunks, however small the share.
  const sampled = JSON.parse((await vaultra(['verify', runs[3]!.runId, '--from', store, '--job', 'chain', '--sample', '1', '--json'])).stdout) as { structure: string };
  expect(sampled.structure).toMatch(/^sample: read and authenticated [1-9]\d* of \d+ chunks/);

  // The oldest full goes; every later run still restores from the packs it shares.
  await vaultra(['prune', '--from', store, '--job', 'chain', '--keep-last', '3', '--json']);
  const listed = JSON.parse((await vaultra(['list', '--from', store, '--job', 'chain', '--json'])).stdout) as { runs?: { runId: string }[] } | { runId: string }[];
  const ids = (Array.isArray(listed) ? listed : (listed.runs ?? [])).map((run) => run.runId);
  expect(ids).not.toContain(runs[0]!.runId);
  await restoreAll(1);
  return runs;
}

describe('chunked snapshot chains through the CLI', () => {
  const tools = requireTools('zstd', 'sqlite3', 'tar');
  if (!tools) return;
  let root = '';

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'vaultra-chain-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const onFile = async (name: string, make: () => Promise<ChainCase>) => {
    const chain = await make();
    try {
      const ws = makeWorkspace(root, name);
      await chainRoundTrip(chain, ws, ws.storeUrl);
    } finally {
      await chain.cleanup();
    }
  };

  it('sqlite on file://', () => onFile('sqlite', () => sqliteChain(join(root))), 300_000);
  it('directory on file://', () => onFile('directory', () => directoryChain(root)), 300_000);

  const pg = requirePostgres();
  if (pg) it('postgres on file://', () => onFile('postgres', () => postgresChain(pg)), 300_000);
  const mariadb = requireMariadb();
  if (mariadb) it('mariadb on file://', () => onFile('mariadb', () => mariadbChain(mariadb)), 300_000);
  const mongo = requireMongo();
  if (mongo) it('mongodb on file://', () => onFile('mongodb', () => mongoChain(mongo)), 300_000);

  const moto = requireMoto();
  if (moto) {
    const s3Env = { ...moto.env, AWS_ENDPOINT_URL_S3: moto.endpoint, AWS_PROFILE: undefined, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const admin = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials: { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! } });
    const onS3 = async (name: string, make: () => Promise<ChainCase>) => {
      const bucket = `vt-chain-${process.pid}-${name}-${Date.now().toString(36)}`;
      await admin.send(new CreateBucketCommand({ Bucket: bucket }));
      const chain = await make();
      try {
        await chainRoundTrip(chain, makeWorkspace(root, `s3-${name}`), `s3://${bucket}/backups`, s3Env);
      } finally {
        await chain.cleanup();
      }
    };
    it('sqlite on s3:// (moto)', () => onS3('sqlite', () => sqliteChain(mkdtempSync(join(root, 's3-sqlite-')))), 300_000);
    it('directory on s3:// (moto)', () => onS3('directory', () => directoryChain(mkdtempSync(join(root, 's3-dir-')))), 300_000);
    if (pg) it('postgres on s3:// (moto)', () => onS3('postgres', () => postgresChain(pg)), 300_000);
    if (mariadb) it('mariadb on s3:// (moto)', () => onS3('mariadb', () => mariadbChain(mariadb)), 300_000);
    if (mongo) it('mongodb on s3:// (moto)', () => onS3('mongodb', () => mongoChain(mongo)), 300_000);
  }
});

/**
 * The MongoDB engine's oplog archiving and replay (point-in-time recovery) against
 * mongo-java-server 1.47.0 dressed as a single-node replica set (test/support/mongo-java-server.ts):
 * the real Node driver reads its `local.oplog.rs`, the real mongodump takes the base, the real
 * mongorestore restores it and replays the archived entries with --oplogReplay --oplogLimit.
 * What is the library's and what the harness adds (applyOps, hello, wire version) is said in
 * OplogServer.java. FerretDB (no oplog) stands for a server that is not a replica set.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BSON, Long, Timestamp, type Document, type MongoClient } from 'mongodb';
import { oplogLimitFor } from '../../core/adapters/engines/mongodb/oplog-position.js';
import { run } from '../support/exec.js';
import { MongodbEngine } from '../../core/adapters/engines/mongodb/mongodb-engine.js';
import { baseLogPositionOf, compareLogPositions, logRangeSchema, type BaseLogPosition, type LogRange } from '../../core/domain/log-archive.js';
import type { LogRead, ReplayRange } from '../../core/ports/log-archiver.js';
import { ConfigError, DumpFailedError, IntegrityError } from '../../core/errors.js';
import { mongoJavaServerUnavailable, startMongoJavaServer, type MongoJavaServer } from '../support/mongo-java-server.js';
import { withTestClient } from '../support/mongo-server.js';
import { mongoUrl } from '../support/mongo-fixtures.js';
import { requireMongo, requireTools, unmet } from '../support/requirements.js';
import { sleep } from '../support/processes.js';

const { EJSON } = BSON;
/** Test documents with plain `_id`s (numbers, strings). */
interface TestDoc {
  _id: number | string;
  [field: string]: unknown;
}
const engine = new MongodbEngine();
const logs = engine.logs;
const now = () => new Date(0); // never used: the server reports its clock

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads the whole range a log read gives, and closes it. */
async function readAll(read: LogRead): Promise<{ bytes: Buffer; range: LogRange }> {
  try {
    const bytes = await collect(read.stream);
    const range = logRangeSchema.parse({ kind: 'oplog', format: read.format, ...(await read.range()) });
    return { bytes, range };
  } finally {
    await read.close();
  }
}

/** Every document of every collection of `database`, as sorted EJSON lines per collection. */
async function contentsOf(client: MongoClient, database: string): Promise<Record<string, string[]>> {
  const db = client.db(database);
  const out: Record<string, string[]> = {};
  for (const c of (await db.listCollections().toArray()).map((info) => String(info.name)).filter((n) => !n.startsWith('system.')).sort()) {
    out[c] = (await db.collection(c).find({}).toArray()).map((doc) => EJSON.stringify(doc, { relaxed: false })).sort();
  }
  return out;
}

interface OplogEntry extends Document {
  ts: Timestamp;
  ns: string;
  op: string;
  wall: Date;
}

async function oplogEntries(client: MongoClient, filter: Document = {}): Promise<OplogEntry[]> {
  return client.db('local').collection<OplogEntry>('oplog.rs').find(filter).sort({ $natural: 1 }).toArray();
}

const position = (ts: Timestamp) => `${ts.t}:${ts.i}`;

/** Waits until the server's clock is past the second of `ts`, so the next write lands in a later second. */
async function nextServerSecond(client: MongoClient, ts: Timestamp): Promise<void> {
  for (;;) {
    const hello = await client.db('admin').command({ hello: 1 });
    if (Math.floor((hello.localTime as Date).getTime() / 1000) > ts.t) return;
    await sleep(100);
  }
}

describe('MongoDB oplog against mongo-java-server (single-node replica set)', () => {
  const tools = requireTools('mongodump', 'mongorestore');
  const unavailable = mongoJavaServerUnavailable();
  if (unavailable) {
    unmet('mongo-java-server', unavailable);
    return;
  }
  if (!tools) return;

  let server: MongoJavaServer;
  const url = (database: string) => mongoUrl({ url: server.url, server: server.server }, database);
  const withServer = <T>(work: (client: MongoClient) => Promise<T>) => withTestClient(server.url, work);

  beforeAll(async () => {
    server = await startMongoJavaServer();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('doctor: a replica set whose oplog is readable, its window under a day (a fresh server) is a warning', async () => {
    await withServer((client) => client.db('doctor').collection<TestDoc>('seed').insertOne({ _id: 1 }));
    const checks = await logs.checkServer(engine.parse(url('admin')));
    expect(checks.map((c) => [c.name, c.status])).toEqual([
      ['replica set', 'ok'],
      ['oplog read access', 'ok'],
      ['oplog window', 'warn'],
    ]);
    expect(checks.find((c) => c.name === 'replica set')?.detail).toContain('rs0');
    expect(checks.find((c) => c.name === 'oplog window')?.fix).toMatch(/replSetResizeOplog/);
  });

  it('reads nothing without a start: an empty range at the newest entry; then what was written after it, byte for byte', async () => {
    await withServer((client) => client.db('read_a').collection<TestDoc>('seed').insertOne({ _id: 0 }));
    const newest = (await withServer((client) => oplogEntries(client))).at(-1)!;

    const first = await readAll(await logs.read(engine.parse(url('read_a')), undefined, { now }));
    expect(first.bytes.length).toBe(0);
    expect(first.range).toMatchObject({ start: position(newest.ts), end: position(newest.ts), events: 0 });
    expect(first.range.firstEventAt).toBeUndefined();

    await withServer(async (client) => {
      const items = client.db('read_a').collection<TestDoc>('items');
      await items.insertMany([{ _id: 1, n: 1 }, { _id: 2, n: 1 }]);
      await items.updateOne({ _id: 1 }, { $set: { n: 2 } });
      await items.deleteOne({ _id: 2 });
      await client.db('read_b').collection<TestDoc>('other').insertOne({ _id: 'x' });
    });
    const second = await readAll(await logs.read(engine.parse(url('read_a')), first.range.end, { now }));
    const expected = await withServer((client) => oplogEntries(client, { ts: { $gt: newest.ts } }));
    // The whole instance's oplog: every database's entries (a replay picks its database).
    expect(expected.map((e) => e.op)).toEqual(['i', 'i', 'u', 'd', 'i']);
    expect(second.range).toMatchObject({
      start: first.range.end,
      end: position(expected.at(-1)!.ts),
      events: 5,
      firstEventAt: expected[0]!.wall.toISOString(),
      lastEventAt: expected.at(-1)!.wall.toISOString(),
    });
    expect(second.range.gapFrom).toBeUndefined();
    // coveredUntil is the server's clock when the read began: not before the last entry it covers.
    expect(Date.parse(second.range.coveredUntil)).toBeGreaterThanOrEqual(expected.at(-1)!.wall.getTime());
    const raw = await withServer((client) => client.db('local').collection('oplog.rs').find({ ts: { $gt: newest.ts } }, { raw: true }).sort({ $natural: 1 }).toArray());
    expect(second.bytes.equals(Buffer.concat(raw as unknown as Buffer[]))).toBe(true);
    expect(BSON.deserialize(second.bytes.subarray(0, second.bytes.readInt32LE(0))).ns).toBe('read_a.items');

    // Nothing new: an empty range that starts and ends where the archive ends.
    const third = await readAll(await logs.read(engine.parse(url('read_a')), second.range.end, { now }));
    expect(third.range).toMatchObject({ start: second.range.end, end: second.range.end, events: 0 });
  });

  it('says what was lost when the oplog no longer reaches back to the archive end (gapFrom), and refuses an archive end past the oplog', async () => {
    const [oldest, newest] = await withServer(async (client) => {
      const all = await oplogEntries(client);
      return [all[0]!, all.at(-1)!];
    });
    const gap = await readAll(await logs.read(engine.parse(url('read_a')), '1:0', { now }));
    expect(gap.range).toMatchObject({ gapFrom: '1:0', start: position(oldest.ts), end: position(newest.ts) });
    expect(gap.range.events).toBe(await withServer(async (client) => (await oplogEntries(client, { ts: { $lte: newest.ts } })).length));

    // A replay that needs the lost stretch refuses before applying anything.
    const lost = logs.replay(engine.parse(url('gap_target')), [{ range: gap.range, runId: 'log-gap', open: () => Promise.resolve(Readable.from([gap.bytes])) }], {
      until: new Date((newest.ts.t + 1) * 1000),
      from: { kind: 'oplog', start: '1:0', consistent: '1:0', consistentAt: new Date(1000) },
    });
    await expect(lost).rejects.toThrow(IntegrityError);
    await expect(lost).rejects.toThrow(/lacks the oplog from 1:0 to \d+:\d+ .*restore to a time before/);
    expect(await withServer((client) => contentsOf(client, 'gap_target'))).toEqual({});

    await expect(logs.read(engine.parse(url('read_a')), '0/3000060', { now })).rejects.toThrow(ConfigError);

    const beyond = `${newest.ts.t + 3600}:1`;
    await expect(logs.read(engine.parse(url('read_a')), beyond, { now })).rejects.toThrow(DumpFailedError);
    await expect(logs.read(engine.parse(url('read_a')), beyond, { now })).rejects.toThrow(/after the newest oplog entry .*take a new base backup/);
  });

  it('a whole-instance dump (mongodump --oplog) records its oplog position too', async () => {
    await withServer((client) => client.db('whole_a').collection<TestDoc>('items').insertOne({ _id: 1 }));
    const beforeDump = (await withServer((client) => oplogEntries(client))).at(-1)!;
    const dump = await engine.dump(engine.parse(server.url));
    expect((await collect(dump.stream)).length).toBeGreaterThan(0);
    expect(dump.details).toMatchObject({ oplog: 'true', scope: 'instance', replicaSet: 'rs0' });
    expect(baseLogPositionOf(dump.details)).toMatchObject({ kind: 'oplog', start: position(beforeDump.ts), consistent: position(beforeDump.ts) });
  });

  it('a base dump records its oplog position; replay into another database reaches exactly the chosen second, through two archived ranges', async () => {
    const src = 'pitr_src';
    // Base state.
    await withServer(async (client) => {
      await client.db(src).collection<TestDoc>('items').insertMany([{ _id: 1, n: 1 }, { _id: 2, n: 1 }, { _id: 3, n: 1 }]);
      await client.db(src).collection<TestDoc>('doomed').insertOne({ _id: 'd' });
    });
    const beforeDump = (await withServer((client) => oplogEntries(client))).at(-1)!;
    const baseState = await withServer((client) => contentsOf(client, src));

    // The base: mongodump of the database, with its position in the oplog.
    const dump = await engine.dump(engine.parse(url(src)));
    const archive = await collect(dump.stream);
    const base = baseLogPositionOf(dump.details) as BaseLogPosition;
    expect(base).toMatchObject({ kind: 'oplog', start: position(beforeDump.ts), consistent: position(beforeDump.ts) });
    expect(base.consistentAt.toISOString()).toBe(beforeDump.wall.toISOString());
    expect(dump.warnings ?? []).toEqual([]);

    // Phase 1 (kept by the replay), in one second; phase 2 (after the target time) in a later one.
    const phase1 = await withServer(async (client) => {
      const items = client.db(src).collection<TestDoc>('items');
      await items.insertOne({ _id: 4, n: 1 });
      await items.updateOne({ _id: 1 }, { $set: { n: 2, tag: 'one' } });
      await items.replaceOne({ _id: 3 }, { n: 3 });
      await items.deleteOne({ _id: 2 });
      await client.db('pitr_elsewhere').collection<TestDoc>('noise').insertOne({ _id: 'not replayed' });
      const entries = await oplogEntries(client, { ts: { $gt: beforeDump.ts } });
      return { state: await contentsOf(client, src), last: entries.filter((e) => e.ns.startsWith(`${src}.`)).at(-1)!, srcEntries: entries.filter((e) => e.ns.startsWith(`${src}.`)).length };
    });
    const range1 = await readAll(await logs.read(engine.parse(url(src)), base.start, { now }));
    await withServer((client) => nextServerSecond(client, phase1.last.ts));
    const phase2 = await withServer(async (client) => {
      const items = client.db(src).collection<TestDoc>('items');
      await items.updateOne({ _id: 1 }, { $unset: { tag: '' } });
      await items.insertOne({ _id: 5, n: 5 });
      await client.db(src).collection<TestDoc>('doomed').drop();
      const entries = await oplogEntries(client, { ts: { $gt: phase1.last.ts } });
      return { state: await contentsOf(client, src), last: entries.filter((e) => e.ns.startsWith(`${src}.`)).at(-1)!, srcEntries: entries.filter((e) => e.ns.startsWith(`${src}.`)).length };
    });
    expect(phase2.last.ts.t).toBeGreaterThan(phase1.last.ts.t);
    const range2 = await readAll(await logs.read(engine.parse(url(src)), range1.range.end, { now }));
    expect(range2.range.start).toBe(range1.range.end);
    expect(compareLogPositions('oplog', range2.range.end, position(phase2.last.ts))).toBeGreaterThanOrEqual(0);

    let opened = 0;
    const ranges: ReplayRange[] = [range1, range2].map((r, i) => ({
      range: r.range,
      runId: `log-${i + 1}`,
      open: () => {
        opened += 1;
        return Promise.resolve(Readable.from([r.bytes]));
      },
    }));

    /** Restores the base into `target` and replays to `until`. */
    const restoreAt = async (target: string, until: Date | 'consistent') => {
      const sink = await engine.openRestore(engine.parse(url(target)), { sourceDatabase: src });
      await new Promise<void>((resolve, reject) => {
        Readable.from([archive]).pipe(sink.stream).once('finish', resolve).once('error', reject);
      });
      await sink.commit();
      return logs.replay(engine.parse(url(target)), ranges, { until, from: base, sourceDatabase: src });
    };

    // To the end of phase 1's second (inclusive): phase 1 in, phase 2 out, the other database's entry not replayed.
    const atPhase1 = await restoreAt('pitr_at1', new Date(phase1.last.ts.t * 1000 + 999));
    expect(atPhase1.events).toBe(phase1.srcEntries);
    expect(atPhase1.reachedAt?.toISOString()).toBe(phase1.last.wall.toISOString());
    expect(await withServer((client) => contentsOf(client, 'pitr_at1'))).toEqual(phase1.state);

    // To phase 2's second: everything, the dropped collection gone.
    const atPhase2 = await restoreAt('pitr_at2', new Date(phase2.last.ts.t * 1000));
    expect(atPhase2.events).toBe(phase1.srcEntries + phase2.srcEntries);
    expect(await withServer((client) => contentsOf(client, 'pitr_at2'))).toEqual(phase2.state);
    expect(phase2.state.doomed).toBeUndefined();

    // Only as far as the base needs (nothing was written during the dump): nothing replayed, and
    // the reading stops at the first entry past it (the second range is never opened).
    opened = 0;
    const consistent = await restoreAt('pitr_consistent', 'consistent');
    expect(consistent.events).toBe(0);
    expect(opened).toBe(1);
    expect(await withServer((client) => contentsOf(client, 'pitr_consistent'))).toEqual(baseState);
  }, 120_000);
  it('carries a few thousand entries through read and replay; a read stopped part-way closes cleanly; a range damaged at its end applies nothing', async () => {
    const src = 'bulk_src';
    const start = (await withServer((client) => oplogEntries(client))).at(-1)!;
    const count = 3000;
    await withServer(async (client) => {
      const docs = Array.from({ length: count }, (_, i) => ({ _id: i, payload: 'x'.repeat(200), n: i }));
      for (let at = 0; at < count; at += 500) await client.db(src).collection<TestDoc>('rows').insertMany(docs.slice(at, at + 500));
    });
    const read = await readAll(await logs.read(engine.parse(url(src)), position(start.ts), { now }));
    expect(read.range.events).toBe(count);

    const stopped = await logs.read(engine.parse(url(src)), position(start.ts), { now });
    for await (const chunk of stopped.stream) {
      expect((chunk as Buffer).length).toBeGreaterThan(0);
      break; // destroys the stream
    }
    await stopped.close();
    await stopped.close(); // twice is fine

    const last = (await withServer((client) => oplogEntries(client))).at(-1)!;
    const from = { kind: 'oplog' as const, start: position(start.ts), consistent: position(start.ts), consistentAt: start.wall };
    // A range found damaged only at its end (as a checksum is): nothing of it is applied.
    const damaged = logs.replay(
      engine.parse(url('bulk_damaged')),
      [
        {
          range: read.range,
          runId: 'bulk-damaged',
          open: () =>
            Promise.resolve(
              Readable.from(
                (async function* () {
                  yield read.bytes;
                  throw new IntegrityError('sha256 mismatch at the end of the range');
                })(),
              ),
            ),
        },
      ],
      { until: new Date(last.ts.t * 1000), from, sourceDatabase: src },
    );
    await expect(damaged).rejects.toThrow(/sha256 mismatch/);
    expect(await withServer((client) => contentsOf(client, 'bulk_damaged'))).toEqual({});

    const report = await logs.replay(engine.parse(url('bulk_dst')), [{ range: read.range, runId: 'bulk', open: () => Promise.resolve(Readable.from([read.bytes])) }], {
      until: new Date(last.ts.t * 1000),
      from,
      sourceDatabase: src,
    });
    expect(report.events).toBe(count);
    expect(await withServer((client) => contentsOf(client, 'bulk_dst'))).toEqual(await withServer((client) => contentsOf(client, src)));
  }, 120_000);
});

describe('mongorestore --oplogLimit, as the replay uses it (mongo-java-server)', () => {
  const tools = requireTools('mongorestore');
  const unavailable = mongoJavaServerUnavailable();
  if (unavailable) {
    unmet('mongo-java-server', unavailable);
    return;
  }
  if (!tools) return;
  let server: MongoJavaServer;
  beforeAll(async () => {
    server = await startMongoJavaServer();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
  });

  it('applies the entries of the target second and none of the next: the limit is exclusive, so the replay passes <second + 1>:0', async () => {
    const second = 1_765_000_000;
    const entry = (t: number, i: number, id: string) => BSON.serialize({ ts: new Timestamp({ t, i }), t: Long.fromNumber(1), v: 2, op: 'i', ns: 'limit_check.items', wall: new Date(t * 1000), o: { _id: id } });
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-oplog-limit-'));
    try {
      await writeFile(join(dir, 'oplog.bson'), Buffer.concat([entry(second - 1, 7, 'before'), entry(second, 1, 'at-1'), entry(second, 4_000_000, 'at-last'), entry(second + 1, 0, 'next-0'), entry(second + 1, 1, 'next-1')]));
      const restored = await run(tools.mongorestore, ['--uri', server.url, '--oplogReplay', '--oplogLimit', oplogLimitFor(new Date(second * 1000 + 500)), '--dir', dir]);
      expect(restored.code, restored.stderr).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const ids = await withTestClient(server.url, (client) => client.db('limit_check').collection<TestDoc>('items').find({}).toArray());
    expect(ids.map((d) => d._id).sort()).toEqual(['at-1', 'at-last', 'before']);
  });
});

describe('MongoDB oplog doctor on Atlas', () => {
  it('says Atlas has its own continuous backup and that oplog reading needs read on local (the host is not reached here)', async () => {
    const checks = await logs.checkServer(engine.parse('mongodb://reader:secret-pw@cluster0.abcde.mongodb.net:27017/shop?serverSelectionTimeoutMS=300'));
    expect(checks[0]).toMatchObject({ name: 'managed service', status: 'warn' });
    expect(checks[0]!.detail).toMatch(/continuous cloud backup/);
    expect(checks[0]!.fix).toMatch(/read role on local/);
    expect(checks.at(-1)).toMatchObject({ name: 'connection', status: 'fail' });
    expect(JSON.stringify(checks)).not.toContain('secret-pw');
  });
});

describe('MongoDB oplog on a server that is not a replica set (FerretDB)', () => {
  const mongo = requireMongo();
  if (!mongo) return;

  it('a log read is refused with how to make a single-node replica set; doctor fails the replica set check', async () => {
    const source = engine.parse(mongoUrl(mongo, 'anything'));
    const read = logs.read(source, undefined, { now });
    await expect(read).rejects.toThrow(ConfigError);
    await expect(logs.read(source, undefined, { now })).rejects.toThrow(/not a replica set: .*--replSet .*rs\.initiate\(\)/);
    const checks = await logs.checkServer(source);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ name: 'replica set', status: 'fail' });
    expect(checks[0]!.fix).toMatch(/single-node replica set is enough/);
  });
});

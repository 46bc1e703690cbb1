/**
 * MongoDB streamed dumps (`dumpStreams`, one mongodump archive per collection) and their
 * restores (`openStreamsRestore`, one mongorestore per collection) against the run's
 * MongoDB-compatible server: a whole round trip into another database name compared collection
 * by collection (documents, hashes, indexes), a selective restore, refusal, and archives whose
 * bytes do not change when the data did not.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { MongodbEngine } from '../../core/adapters/engines/mongodb/mongodb-engine.js';
import type { SnapshotStream } from '../../core/domain/snapshot-format.js';
import { RunConflictError } from '../../core/errors.js';
import { dropMongoDatabase, loadBulk, loadVariedFixture, mongoCollections, mongoFingerprints, mongoUrl, uniqueMongoDatabase } from '../support/mongo-fixtures.js';
import { requireMongo, requireTools } from '../support/requirements.js';
import { withTestClient } from '../support/mongo-server.js';

type Dumped = { streams: readonly SnapshotStream[]; bytes: Map<string, Buffer>; format: string; warnings?: readonly string[] };

describe('mongodb streamed dumps', () => {
  const mongo = requireMongo();
  const tools = requireTools('mongodump', 'mongorestore');
  if (!mongo || !tools) return;

  const engine = new MongodbEngine();
  const databases = new Set<string>();
  const newDatabase = (prefix: string) => {
    const name = uniqueMongoDatabase(prefix);
    databases.add(name);
    return name;
  };
  const source = newDatabase('streams');
  let loaded: Promise<void> | undefined;
  const fixture = () => (loaded ??= loadVariedFixture(mongo, source));

  afterAll(async () => {
    for (const name of databases) await dropMongoDatabase(mongo, name).catch(() => undefined);
  });

  async function dump(database: string, jobs: number): Promise<Dumped> {
    const streamed = await engine.dumpStreams(engine.parse(mongoUrl(mongo!, database)), { jobs });
    const bytes = new Map<string, Buffer>();
    let next = 0;
    const worker = async () => {
      while (next < streamed.streams.length) {
        const stream = streamed.streams[next++]!;
        const parts: Buffer[] = [];
        for await (const part of await streamed.open(stream)) parts.push(part as Buffer);
        bytes.set(stream.name, Buffer.concat(parts));
      }
    };
    await Promise.all(Array.from({ length: jobs }, worker));
    const finished = await streamed.finish();
    return { streams: streamed.streams, bytes, format: streamed.format, warnings: finished.warnings };
  }

  async function restore(dumped: Dumped, database: string, options: { tables?: string[]; force?: boolean } = {}) {
    const sink = await engine.openStreamsRestore(engine.parse(mongoUrl(mongo!, database)), dumped.streams, { format: dumped.format, sourceDatabase: source, ...options });
    const opened: string[] = [];
    try {
      await sink.load(
        (stream) => {
          opened.push(stream.name);
          return Readable.from([dumped.bytes.get(stream.name)!]);
        },
        { jobs: 2 },
      );
      await sink.commit();
    } catch (error) {
      await sink.abort();
      throw error;
    }
    return opened;
  }

  it('dumps one archive per collection and restores them, two at a time, into another database', async () => {
    // Prepare
    await fixture();
    const target = newDatabase('streams_to');

    // Act
    const dumped = await dump(source, 2);
    await restore(dumped, target);

    // Assess
    expect(dumped.streams.map((s) => `${s.role}:${s.name}`)).toEqual(['customers', 'events', 'ledger', 'orders'].map((c) => `collection:collection/${source}.${c}`));
    const [restored, original] = [await mongoFingerprints(mongo, target), await mongoFingerprints(mongo, source)];
    // A view is not in a streamed dump (a warning says so).
    delete original.paid_orders;
    expect(restored).toEqual(original);
  });

  it('gives the same bytes for unchanged collections', async () => {
    // Prepare
    await fixture();

    // Act
    const [first, second] = [await dump(source, 1), await dump(source, 2)];

    // Assess
    for (const stream of first.streams) expect(digest(second.bytes.get(stream.name)!), stream.name).toBe(digest(first.bytes.get(stream.name)!));
  });

  it('changes only the bytes near a new document (natural order kept for untouched documents)', async () => {
    // Prepare
    const database = newDatabase('streams_edit');
    await loadBulk(mongo, database, 'bulk', 4000, 200);
    const before = (await dump(database, 1)).bytes.get(`collection/${database}.bulk`)!;

    // Act
    // An insert, not an update: FerretDB (SQLite) moves an updated document to the end of natural
    // order, MongoDB's WiredTiger keeps it in place; neither moves documents nobody touched.
    await withTestClient(mongo.url, (client) => client.db(database).collection<{ _id: number; n: number }>('bulk').insertOne({ _id: 100_000, n: -1 }));
    const after = (await dump(database, 1)).bytes.get(`collection/${database}.bulk`)!;

    // Assess: the prelude and every earlier document are the same bytes.
    const changed = after.length - commonPrefix(before, after) - commonSuffix(before, after);
    expect(changed).toBeLessThan(64 * 1024);
    expect(before.length).toBeGreaterThan(700_000);
  });

  it('restores only the selected collections, and refuses a target that holds them', async () => {
    // Prepare
    await fixture();
    const dumped = await dump(source, 2);
    const target = newDatabase('streams_sel');

    // Act
    const opened = await restore(dumped, target, { tables: ['customers'] });

    // Assess
    expect(opened).toEqual([`collection/${source}.customers`]);
    expect(await mongoCollections(mongo, target)).toEqual(['customers']);
    await expect(restore(dumped, target, { tables: ['customers'] })).rejects.toBeInstanceOf(RunConflictError);
    await restore(dumped, target, { tables: ['customers'], force: true });
    expect((await mongoFingerprints(mongo, target)).customers).toEqual((await mongoFingerprints(mongo, source)).customers);
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

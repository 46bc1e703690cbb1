/**
 * MongoDB test data and content fingerprints: document counts, a SHA-256 of the canonical
 * Extended JSON of every document (sorted by `_id`), and the index definitions, per
 * collection. Two databases with equal fingerprints hold the same documents, types included.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Binary, BSON, Code, Decimal128, Double, Int32, Long, MaxKey, MinKey, ObjectId, Timestamp, type Db, type Document } from 'mongodb';
import { withTestClient, isFerret, type MongoConnection } from './mongo-server.js';

const { EJSON } = BSON;

/** `vaultra_<prefix>_<random>`: unique per test, short enough for MongoDB's 64-byte limit. */
export function uniqueMongoDatabase(prefix: string): string {
  return `vaultra_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** The URL of `database` on the test server (credentials and options kept). */
export function mongoUrl(connection: MongoConnection, database: string): string {
  const [base, query] = connection.url.split('?');
  return `${base!.replace(/\/$/, '')}/${database}${query ? `?${query}` : ''}`;
}

/** Collections of the varied fixture and their document counts. */
export const VARIED_COUNTS = { orders: 300, customers: 120, events: 200, ledger: 50 } as const;

/**
 * Collections with the BSON types the server keeps: ObjectId, strings, Int32, Int64, Double,
 * Binary (generic and UUID), Date, Timestamp, regular expressions, null, booleans, nested
 * documents and arrays; `_id`s that are ObjectIds, strings, integers and documents; a unique
 * index, a compound index and a descending one. On a real MongoDB also Decimal128, MinKey,
 * MaxKey, Code, a TTL index and a view (FerretDB 1.x has none of those).
 */
export async function loadVariedFixture(connection: MongoConnection, database: string): Promise<void> {
  const real = !isFerret(connection);
  await withTestClient(connection.url, async (client) => {
    const db = client.db(database);
    const orders: Document[] = [];
    for (let i = 0; i < VARIED_COUNTS.orders; i++) {
      orders.push({
        _id: ObjectId.createFromTime(1_700_000_000 + i),
        n: new Int32(i),
        total: new Double(i * 1.25),
        big: Long.fromString(`${9_007_199_254_740_993n + BigInt(i)}`),
        placedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
        paid: i % 3 === 0,
        note: i % 7 === 0 ? null : `order ${i} ✓ ünïcödé`,
        lines: [
          { sku: `sku-${i % 10}`, qty: new Int32(1 + (i % 4)), tags: ['a', 'b', { deep: [i, { k: i + 1 }] }] },
          { sku: `sku-${(i + 3) % 10}`, qty: new Int32(2) },
        ],
        address: { city: ['Lyon', 'Oslo', 'Lima'][i % 3], geo: { lat: 45.76 + i / 1000, lon: 4.84 } },
        receipt: new Binary(randomBytesFor(i, 32), 0),
        ref: new Binary(randomBytesFor(i + 1000, 16), 4),
        stamp: new Timestamp({ t: 1_700_000_000 + i, i: 1 }),
        pattern: /^ord-\d+$/i,
        // FerretDB 1.x stores neither these types nor arrays inside arrays.
        ...(real ? { matrix: [[i, i + 1], [i + 2]], price: Decimal128.fromString(`${i}.${String(i % 100).padStart(2, '0')}`), low: new MinKey(), high: new MaxKey(), fn: new Code('function () { return 1; }') } : {}),
      });
    }
    await db.collection('orders').insertMany(orders);
    await db.collection('orders').createIndex({ 'address.city': 1, placedAt: -1 }, { name: 'city_placed' });
    await db.collection('orders').createIndex({ n: -1 });

    const customers: Document[] = [];
    for (let i = 0; i < VARIED_COUNTS.customers; i++) customers.push({ _id: `cust-${String(i).padStart(4, '0')}`, email: `c${i}@example.test`, country: ['FR', 'NO', 'PE'][i % 3], since: new Date(Date.UTC(2020, i % 12, 1)) });
    await db.collection('customers').insertMany(customers);
    await db.collection('customers').createIndex({ email: 1 }, { unique: true, name: 'email_unique' });
    await db.collection('customers').createIndex({ country: 1, since: -1 });

    const events: Document[] = [];
    for (let i = 0; i < VARIED_COUNTS.events; i++) events.push({ _id: i * 3, kind: i % 2 ? 'click' : 'view', at: new Date(Date.UTC(2026, 1, 1) + i * 60_000), payload: { seq: Long.fromNumber(i), ok: true, list: [] } });
    await db.collection('events').insertMany(events);

    // Compound (document) _ids.
    const ledger: Document[] = [];
    for (let i = 0; i < VARIED_COUNTS.ledger; i++) ledger.push({ _id: { account: `acc-${i % 5}`, seq: new Int32(i) }, amount: new Double(i - 25.5) });
    await db.collection('ledger').insertMany(ledger);

    if (real) {
      await db.collection<{ _id: string; at: Date }>('sessions').insertOne({ _id: 'session-1', at: new Date() });
      await db.collection('sessions').createIndex({ at: 1 }, { expireAfterSeconds: 3600 });
      await db.createCollection('paid_orders', { viewOn: 'orders', pipeline: [{ $match: { paid: true } }] });
    }
  });
}

/** Deterministic bytes for binary fields. */
function randomBytesFor(seed: number, length: number): Buffer {
  return createHash('sha256').update(String(seed)).digest().subarray(0, length);
}

export interface CollectionFingerprint {
  readonly documents: number;
  readonly sha256: string;
  /** Index definitions as `name key options`, sorted. */
  readonly indexes: readonly string[];
}

/** Fingerprint of every collection (and view) of `database`. */
export async function mongoFingerprints(connection: MongoConnection, database: string): Promise<Record<string, CollectionFingerprint | { view: string }>> {
  return withTestClient(connection.url, async (client) => fingerprintsOf(client.db(database)));
}

async function fingerprintsOf(db: Db): Promise<Record<string, CollectionFingerprint | { view: string }>> {
  const out: Record<string, CollectionFingerprint | { view: string }> = {};
  const collections = (await db.listCollections({}, { nameOnly: false }).toArray()).filter((c) => !String(c.name).startsWith('system.'));
  for (const info of collections.sort((a, b) => String(a.name).localeCompare(String(b.name)))) {
    const name = String(info.name);
    if (info.type === 'view') {
      out[name] = { view: EJSON.stringify(info.options ?? {}, { relaxed: false }) };
      continue;
    }
    const documents = await db.collection(name).find({}).toArray();
    const lines = documents.map((doc) => ({ id: EJSON.stringify({ _id: doc._id }, { relaxed: false }), text: EJSON.stringify(doc, { relaxed: false }) }));
    lines.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const hash = createHash('sha256');
    for (const line of lines) hash.update(line.text).update('\n');
    const indexes = (await db.collection(name).indexes()).map((index) => {
      const { v: _v, ns: _ns, key, name: indexName, ...options } = index as Document;
      return `${String(indexName)} ${EJSON.stringify(key, { relaxed: false })} ${EJSON.stringify(options, { relaxed: false })}`;
    });
    out[name] = { documents: documents.length, sha256: hash.digest('hex'), indexes: indexes.sort() };
  }
  return out;
}

/** Drops a test database (ignores one that is not there). */
export async function dropMongoDatabase(connection: MongoConnection, database: string): Promise<void> {
  await withTestClient(connection.url, async (client) => {
    await client.db(database).dropDatabase();
  });
}

/** Collection names of a database (no system collections); empty when the database does not exist. */
export async function mongoCollections(connection: MongoConnection, database: string): Promise<string[]> {
  return withTestClient(connection.url, async (client) =>
    (await client.db(database).listCollections({}, { nameOnly: true }).toArray())
      .map((c) => String(c.name))
      .filter((n) => !n.startsWith('system.'))
      .sort(),
  );
}

/**
 * Inserts `count` documents of about `bytesEach` bytes into `database.collection`, in batches.
 * The filler is random (incompressible), so the stored backup is as large as the dump.
 */
export async function loadBulk(connection: MongoConnection, database: string, collection: string, count: number, bytesEach: number): Promise<void> {
  await withTestClient(connection.url, async (client) => {
    const target = client.db(database).collection<{ _id: number; filler: Binary; n: number }>(collection);
    for (let start = 0; start < count; start += 2000) {
      const batch: { _id: number; filler: Binary; n: number }[] = [];
      for (let i = start; i < Math.min(count, start + 2000); i++) batch.push({ _id: i, filler: new Binary(randomBytes(Math.max(0, bytesEach - 40))), n: i });
      await target.insertMany(batch, { ordered: false });
    }
  });
}

/**
 * What a replay keeps of archived oplog entries and how it renames them, on entries recorded in
 * the shapes MongoDB 6/7 writes (https://www.mongodb.com/docs/manual/core/replica-set-oplog/,
 * mongo-tools' oplog test data): `i`, `u` with a `$v: 2` diff, `d`, `c` (create, drop,
 * renameCollection, createIndexes), a transaction's `applyOps` on `admin.$cmd`, and the no-op `n`
 * the server writes every 10 s on an idle set. Plus the splitter that cuts an archived range
 * into entries, in any chunking.
 */
import { Readable } from 'node:stream';
import { BSON, Binary, Decimal128, Int32, Long, Timestamp, UUID, type Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { BsonDocumentSplitter, renameEntry, selectEntry, type OplogSelection } from '../../core/adapters/engines/mongodb/oplog-entries.js';
import { oplogLimitFor, positionOf } from '../../core/adapters/engines/mongodb/oplog-position.js';
import { selectionFor } from '../../core/adapters/engines/mongodb/oplog-replay.js';
import { parseMongoUrl } from '../../core/adapters/engines/mongodb/mongodb-connection.js';
import { IntegrityError } from '../../core/errors.js';

const T = 1_765_000_000;
const ui = new UUID('0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9');
const wall = (seconds: number) => new Date((T + seconds) * 1000 + 123);
const ts = (seconds: number, i: number) => new Timestamp({ t: T + seconds, i });
const common = (seconds: number, i: number) => ({ ts: ts(seconds, i), t: Long.fromNumber(3), v: Long.fromNumber(2), wall: wall(seconds) });

/** Entries as MongoDB 7 writes them, in log order. */
const RECORDED: Document[] = [
  { op: 'c', ns: 'shop.$cmd', ui, o: { create: 'orders', idIndex: { v: new Int32(2), key: { _id: new Int32(1) }, name: '_id_' } }, ...common(0, 1) },
  { op: 'i', ns: 'shop.orders', ui, o: { _id: new Int32(1), total: new Decimal128('12.50'), qty: Long.fromNumber(3), blob: new Binary(Buffer.from([1, 2, 3])) }, o2: { _id: new Int32(1) }, ...common(0, 2) },
  { op: 'u', ns: 'shop.orders', ui, o: { $v: new Int32(2), diff: { u: { qty: Long.fromNumber(4) } } }, o2: { _id: new Int32(1) }, ...common(1, 1) },
  { op: 'i', ns: 'crm.people', ui, o: { _id: 'p1', name: 'Ada' }, ...common(1, 2) },
  { op: 'n', ns: '', o: { msg: 'periodic noop' }, ...common(2, 1) },
  {
    op: 'c',
    ns: 'admin.$cmd',
    o: {
      applyOps: [
        { op: 'i', ns: 'shop.orders', ui, o: { _id: new Int32(2) }, o2: { _id: new Int32(2) } },
        { op: 'i', ns: 'crm.people', ui, o: { _id: 'p2' } },
        { op: 'd', ns: 'shop.orders', ui, o: { _id: new Int32(1) } },
      ],
    },
    lsid: { id: ui, uid: new Binary(Buffer.alloc(32)) },
    txnNumber: Long.fromNumber(1),
    prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) },
    ...common(2, 2),
  },
  { op: 'c', ns: 'shop.$cmd', ui, o: { renameCollection: 'shop.orders', to: 'shop.orders_2025', stayTemp: false, dropTarget: false }, ...common(3, 1) },
  { op: 'c', ns: 'shop.$cmd', ui, o: { createIndexes: 'orders_2025', v: new Int32(2), key: { total: new Int32(1) }, name: 'total_1' }, ...common(3, 2) },
  { op: 'c', ns: 'config.$cmd', o: { create: 'system.sessions' }, ...common(3, 3) },
  { op: 'd', ns: 'shop.orders_2025', ui, o: { _id: new Int32(2) }, ...common(4, 1) },
  { op: 'c', ns: 'crm.$cmd', ui, o: { drop: 'people' }, ...common(5, 1) },
];
const bytesOf = (entry: Document) => Buffer.from(BSON.serialize(entry));

function select(selection: OplogSelection): { verdicts: string[]; kept: Document[]; keptBytes: Uint8Array[] } {
  const verdicts: string[] = [];
  const kept: Document[] = [];
  const keptBytes: Uint8Array[] = [];
  for (const entry of RECORDED) {
    const verdict = selectEntry(BSON, bytesOf(entry), selection);
    verdicts.push(verdict.kind);
    if (verdict.kind === 'keep') {
      kept.push(BSON.deserialize(verdict.bytes, { promoteValues: false }));
      keptBytes.push(verdict.bytes);
    }
    if (verdict.kind === 'past') break;
  }
  return { verdicts, kept, keptBytes };
}

describe('selectEntry', () => {
  it('keeps every entry after the base, but no-ops and the server’s own databases, bytes unchanged, when nothing is renamed', () => {
    const { verdicts, keptBytes } = select({ after: '0:0' });
    expect(verdicts).toEqual(['keep', 'keep', 'keep', 'keep', 'skip', 'keep', 'keep', 'keep', 'skip', 'keep', 'keep']);
    const expected = RECORDED.filter((e) => e.op !== 'n' && !String(e.ns).startsWith('config.')).map(bytesOf);
    expect(keptBytes.map((b) => Buffer.from(b).toString('hex'))).toEqual(expected.map((b) => b.toString('hex')));
  });

  it('starts after the base position (exclusive) and stops past the target second (inclusive), or past the consistent position', () => {
    expect(select({ after: positionOf(ts(0, 2)), untilSeconds: T + 1 }).verdicts).toEqual(['skip', 'skip', 'keep', 'keep', 'past']);
    expect(select({ after: positionOf(ts(0, 1)), upTo: positionOf(ts(1, 1)) }).verdicts).toEqual(['skip', 'keep', 'keep', 'past']);
  });

  it('keeps one database’s changes, including its part of a transaction that touched two', () => {
    const { kept } = select({ after: '0:0', sourceDatabase: 'shop' });
    expect(kept.map((e) => `${e.op} ${e.ns}`)).toEqual(['c shop.$cmd', 'i shop.orders', 'u shop.orders', 'c admin.$cmd', 'c shop.$cmd', 'c shop.$cmd', 'd shop.orders_2025']);
    const transaction = kept.find((e) => e.ns === 'admin.$cmd')!;
    expect((transaction.o.applyOps as Document[]).map((op) => `${op.op} ${op.ns}`)).toEqual(['i shop.orders', 'd shop.orders']);
    // The transaction's other fields travel unchanged.
    expect(transaction.txnNumber).toEqual(Long.fromNumber(1));
    expect(transaction.lsid.id.toString('hex')).toBe(Buffer.from(ui.buffer).toString('hex'));
  });

  it('renames into the target database: ns, renameCollection’s two namespaces, and a transaction’s operations; values keep their BSON types', () => {
    const { kept } = select({ after: '0:0', sourceDatabase: 'shop', targetDatabase: 'shop_restored' });
    expect(kept.map((e) => e.ns)).toEqual(['shop_restored.$cmd', 'shop_restored.orders', 'shop_restored.orders', 'admin.$cmd', 'shop_restored.$cmd', 'shop_restored.$cmd', 'shop_restored.orders_2025']);
    expect(kept[4]!.o).toMatchObject({ renameCollection: 'shop_restored.orders', to: 'shop_restored.orders_2025' });
    expect(kept[5]!.o.createIndexes).toBe('orders_2025');
    expect((kept[3]!.o.applyOps as Document[]).map((op) => op.ns)).toEqual(['shop_restored.orders', 'shop_restored.orders']);
    const insert = kept[1]!;
    expect(insert.o.total).toBeInstanceOf(Decimal128);
    expect(insert.o.qty).toBeInstanceOf(Long);
    expect(insert.o._id).toBeInstanceOf(Int32);
    expect(insert.ts).toEqual(ts(0, 2));
    expect(insert.wall).toEqual(wall(0));
    // Apart from ns, the renamed entry is the recorded one, byte for byte.
    const original = BSON.deserialize(bytesOf(RECORDED[1]!), { promoteValues: false });
    expect(bytesOf({ ...insert, ns: original.ns })).toEqual(bytesOf(original));
  });

  it('keeps every link of a transaction written as several entries (even one left empty) and its commit, so mongorestore can apply the chain', () => {
    const lsid = { id: ui, uid: new Binary(Buffer.alloc(32)) };
    const txn = { lsid, txnNumber: Long.fromNumber(7) };
    const first = { op: 'c', ns: 'admin.$cmd', o: { applyOps: [{ op: 'i', ns: 'shop.orders', o: { _id: new Int32(9) } }], partialTxn: true }, ...txn, prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) }, ...common(6, 1) };
    const last = { op: 'c', ns: 'admin.$cmd', o: { applyOps: [{ op: 'i', ns: 'crm.people', o: { _id: 'p9' } }], count: Long.fromNumber(2) }, ...txn, prevOpTime: { ts: ts(6, 1), t: Long.fromNumber(3) }, ...common(6, 2) };
    const single = { op: 'c', ns: 'admin.$cmd', o: { applyOps: [{ op: 'i', ns: 'crm.people', o: { _id: 'p10' } }] }, ...txn, prevOpTime: { ts: new Timestamp({ t: 0, i: 0 }), t: Long.fromNumber(-1) }, ...common(7, 1) };
    const commit = { op: 'c', ns: 'admin.$cmd', o: { commitTransaction: new Int32(1), commitTimestamp: ts(7, 1) }, ...txn, prevOpTime: { ts: ts(6, 2), t: Long.fromNumber(3) }, ...common(7, 2) };
    const selection = { after: '0:0', sourceDatabase: 'shop', targetDatabase: 'restored' };
    const verdicts = [first, last, single, commit].map((entry) => selectEntry(BSON, bytesOf(entry), selection));
    expect(verdicts.map((v) => v.kind)).toEqual(['keep', 'keep', 'skip', 'keep']);
    const kept = verdicts.map((v) => (v.kind === 'keep' ? BSON.deserialize(v.bytes) : undefined));
    expect(kept[0]!.o.applyOps.map((op: Document) => op.ns)).toEqual(['restored.orders']);
    expect(kept[1]!.o.applyOps).toEqual([]);
    expect(kept[1]!.prevOpTime.ts).toEqual(ts(6, 1));
    expect(kept[3]!.o.commitTransaction).toBe(1);
  });

  it('renames only a whole database name (shop, not shopping), and nothing when source and target are the same', () => {
    const entry = { op: 'i', ns: 'shopping.carts', o: { _id: 1 } };
    expect(renameEntry(entry, { sourceDatabase: 'shop', targetDatabase: 'other' })).toBe(entry);
    const same = { op: 'i', ns: 'shop.carts', o: { _id: 1 } };
    expect(renameEntry(same, { sourceDatabase: 'shop', targetDatabase: 'shop' })).toBe(same);
  });

  it('rejects an entry without a timestamp: the range is not oplog-bson/v1', () => {
    expect(() => selectEntry(BSON, bytesOf({ op: 'i', ns: 'a.b' }), { after: '0:0' })).toThrow(IntegrityError);
  });
});

describe('selectionFor (what a replay asks for)', () => {
  const from = { kind: 'oplog' as const, start: '100:3', consistent: '105:1', consistentAt: new Date(105_000) };
  it('renames into the target URL’s database; none without a source database; the target second inclusive', () => {
    expect(selectionFor(parseMongoUrl('mongodb://h/restored'), { until: new Date(200_999), from, sourceDatabase: 'shop' })).toEqual({ after: '100:3', untilSeconds: 200, sourceDatabase: 'shop', targetDatabase: 'restored' });
    expect(selectionFor(parseMongoUrl('mongodb://h/'), { until: 'consistent', from, sourceDatabase: 'shop' })).toEqual({ after: '100:3', upTo: '105:1', sourceDatabase: 'shop' });
    expect(selectionFor(parseMongoUrl('mongodb://h/x'), { until: 'consistent', from, sourceDatabase: '' })).toEqual({ after: '100:3', upTo: '105:1' });
  });
  it('gives mongorestore the next second as its (exclusive) --oplogLimit', () => {
    expect(oplogLimitFor(new Date(200_000))).toBe('201:0');
    expect(oplogLimitFor(new Date(200_999))).toBe('201:0');
  });
});

describe('BsonDocumentSplitter', () => {
  const all = Buffer.concat(RECORDED.map(bytesOf));
  async function split(chunks: Buffer[]): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for await (const doc of Readable.from(chunks).pipe(new BsonDocumentSplitter())) out.push(doc as Buffer);
    return out;
  }

  it('cuts a range into its entries whatever the chunking (1 byte, 7 bytes, all at once)', async () => {
    for (const size of [1, 7, all.length]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < all.length; at += size) chunks.push(all.subarray(at, at + size));
      const docs = await split(chunks);
      expect(docs.map((d) => d.toString('hex'))).toEqual(RECORDED.map((e) => bytesOf(e).toString('hex')));
    }
  });

  it('fails on a range that ends inside an entry, or on a length no entry can have', async () => {
    await expect(split([all.subarray(0, all.length - 3)])).rejects.toThrow(/ends inside an entry/);
    const bad = Buffer.from(all);
    bad.writeInt32LE(3, 0);
    await expect(split([bad])).rejects.toThrow(IntegrityError);
  });
});

/**
 * The mongodump archive checker on archives built here byte by byte (the format of mongo-tools
 * `common/archive/spec.md`): complete ones pass in any chunking; truncated, altered, incomplete
 * or malformed ones fail with a message that says what is wrong.
 */
import { BSON, Int32, Long } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { ARCHIVE_MAGIC, ArchiveChecker, ArchiveFormatError, Crc64 } from '../../core/adapters/engines/mongodb/mongo-archive.js';
import { checkDocument, BsonStructureError } from '../../core/adapters/engines/mongodb/bson-walk.js';

const TERMINATOR = Buffer.from([0xff, 0xff, 0xff, 0xff]);

interface Namespace {
  readonly db: string;
  readonly collection: string;
  readonly documents: Buffer[];
  readonly type?: string;
}

function uint32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function crcOf(documents: readonly Buffer[]): Long {
  const crc = new Crc64();
  for (const doc of documents) crc.update(doc);
  return Long.fromBigInt(BigInt.asIntN(64, crc.digest()));
}

/** An archive as mongodump writes it, the namespaces' data blocks interleaved (two documents per block). */
function buildArchive(namespaces: readonly Namespace[], options: { skipEof?: string; badCrc?: string } = {}): Buffer {
  const parts: Buffer[] = [uint32(ARCHIVE_MAGIC)];
  parts.push(Buffer.from(BSON.serialize({ concurrent_collections: new Int32(4), version: '0.1', server_version: '7.0.14', tool_version: '100.12.2' })));
  for (const ns of namespaces) parts.push(Buffer.from(BSON.serialize({ db: ns.db, collection: ns.collection, metadata: '{"indexes":[]}', size: new Int32(0), type: ns.type ?? 'collection' })));
  parts.push(TERMINATOR);
  const cursors = namespaces.map(() => 0);
  for (let round = 0; cursors.some((c, i) => c < namespaces[i]!.documents.length); round++) {
    namespaces.forEach((ns, i) => {
      const batch = ns.documents.slice(cursors[i], cursors[i]! + 2);
      if (batch.length === 0) return;
      cursors[i]! += batch.length;
      parts.push(Buffer.from(BSON.serialize({ db: ns.db, collection: ns.collection, EOF: false, CRC: Long.ZERO })), ...batch, TERMINATOR);
    });
  }
  for (const ns of namespaces) {
    const name = `${ns.db}.${ns.collection}`;
    if (options.skipEof === name) continue;
    const crc = options.badCrc === name ? Long.fromNumber(12345) : crcOf(ns.documents);
    parts.push(Buffer.from(BSON.serialize({ db: ns.db, collection: ns.collection, EOF: true, CRC: crc })), TERMINATOR);
  }
  return Buffer.concat(parts);
}

function docs(count: number, make: (i: number) => Record<string, unknown>): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(BSON.serialize(make(i))));
}

const SAMPLE: Namespace[] = [
  { db: 'shop', collection: 'orders', documents: docs(7, (i) => ({ _id: i, items: [{ sku: `s${i}`, qty: new Int32(i) }], note: 'x'.repeat(i * 50) })) },
  { db: 'shop', collection: 'empty', documents: [] },
  { db: 'shop', collection: 'users', documents: docs(3, (i) => ({ _id: `u${i}`, tags: ['a', 'b'], nested: { deep: { deeper: [1, 2, { x: i }] } } })) },
];

function check(archive: Buffer, chunk = archive.length) {
  const prelude: unknown[] = [];
  const checker = new ArchiveChecker((p) => prelude.push(p));
  for (let at = 0; at < archive.length; at += chunk) checker.push(archive.subarray(at, at + chunk));
  return { summary: checker.finish(), preludes: prelude };
}

function failure(archive: Buffer): string {
  try {
    check(archive);
  } catch (error) {
    expect(error).toBeInstanceOf(ArchiveFormatError);
    return (error as Error).message;
  }
  throw new Error('the archive was accepted');
}

describe('CRC-64/ECMA (as Go hash/crc64)', () => {
  it('matches the check value of "123456789"', () => {
    const crc = new Crc64();
    crc.update(Buffer.from('123456789'));
    expect(crc.digest()).toBe(0x995dc9bbdf1939fan);
  });

  it('gives the same result however the input is split', () => {
    const data = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 31) & 0xff));
    const whole = new Crc64();
    whole.update(data);
    const split = new Crc64();
    split.update(data.subarray(0, 333));
    split.update(data.subarray(333));
    expect(split.digest()).toBe(whole.digest());
  });
});

describe('ArchiveChecker', () => {
  const archive = buildArchive(SAMPLE);

  it.each([archive.length, 1, 3, 7, 64, 1000])('accepts a complete archive fed in chunks of %i bytes and counts its documents', (chunk) => {
    const { summary, preludes } = check(archive, chunk);
    expect(preludes).toHaveLength(1);
    expect(summary.prelude).toMatchObject({ formatVersion: '0.1', serverVersion: '7.0.14', toolVersion: '100.12.2' });
    expect(summary.prelude.namespaces.map((n) => `${n.db}.${n.collection}`)).toEqual(['shop.orders', 'shop.empty', 'shop.users']);
    expect(Object.fromEntries(summary.documents)).toEqual({ 'shop.orders': 7, 'shop.empty': 0, 'shop.users': 3 });
    expect(summary.totalDocuments).toBe(10);
  });

  it('reports the prelude as soon as it is read, before any document', () => {
    const checker = new ArchiveChecker();
    const preludeEnd = archive.indexOf(TERMINATOR) + 4;
    checker.push(archive.subarray(0, preludeEnd - 1));
    expect(checker.preludeRead).toBeUndefined();
    checker.push(archive.subarray(preludeEnd - 1, preludeEnd));
    expect(checker.preludeRead?.namespaces).toHaveLength(3);
  });

  it('accepts an archive with no namespaces', () => {
    expect(check(buildArchive([])).summary.totalDocuments).toBe(0);
  });

  it('rejects an empty stream and a wrong magic number', () => {
    expect(failure(Buffer.alloc(0))).toMatch(/empty/);
    const wrong = Buffer.from(archive);
    wrong[0] = 0;
    expect(failure(wrong)).toMatch(/not a mongodump archive/);
  });

  it('rejects the archive cut short at any point', () => {
    for (const cut of [3, 10, 60, Math.floor(archive.length / 2), archive.length - 5, archive.length - 1]) {
      expect(failure(archive.subarray(0, cut)), `cut at ${cut}`).toMatch(/truncated|incomplete/);
    }
  });

  it('rejects an archive that lost a namespace end marker, even though it ends on a block boundary', () => {
    expect(failure(buildArchive(SAMPLE, { skipEof: 'shop.users' }))).toBe('the archive is incomplete: no end marker for shop.users');
    expect(failure(buildArchive(SAMPLE, { skipEof: 'shop.empty' }))).toMatch(/no end marker for shop\.empty/);
  });

  it('rejects documents that do not match their CRC', () => {
    expect(failure(buildArchive(SAMPLE, { badCrc: 'shop.orders' }))).toMatch(/documents of shop\.orders do not match their CRC/);
    // One changed byte inside a string value: still valid BSON, only the CRC can tell.
    const altered = Buffer.from(archive);
    const at = altered.indexOf('x'.repeat(100));
    altered[at + 10] = 'y'.charCodeAt(0);
    expect(failure(altered)).toMatch(/shop\.orders do not match their CRC/);
  });

  it('rejects a document whose structure is broken', () => {
    const altered = Buffer.from(archive);
    // The first document of shop.orders: make its nested array's length overrun the document.
    const first = SAMPLE[0]!.documents[0]!;
    const at = altered.indexOf(first);
    const items = first.indexOf(Buffer.from('items\0')) + 'items\0'.length;
    altered.writeInt32LE(first.length, at + items);
    expect(failure(altered)).toMatch(/a document of shop\.orders at byte \d+ is not valid BSON: element "items": embedded document of \d+ bytes does not fit its parent/);
  });

  it('rejects an impossible document length and two terminators in a row', () => {
    const altered = Buffer.from(archive);
    const preludeEnd = altered.indexOf(TERMINATOR) + 4;
    altered.writeInt32LE(3, preludeEnd);
    expect(failure(altered)).toMatch(/impossible length \(3\)/);
    const doubled = Buffer.concat([archive.subarray(0, preludeEnd), TERMINATOR, archive.subarray(preludeEnd)]);
    expect(failure(doubled)).toMatch(/two terminators in a row/);
  });

  it('rejects data for a namespace after its end marker', () => {
    const extra = Buffer.concat([archive, Buffer.from(BSON.serialize({ db: 'shop', collection: 'users', EOF: false, CRC: Long.ZERO })), SAMPLE[2]!.documents[0]!, TERMINATOR]);
    expect(failure(extra)).toMatch(/data for shop\.users after its end marker/);
  });

  it('needs no end marker for a view (metadata only)', () => {
    const withView = buildArchive([...SAMPLE, { db: 'shop', collection: 'paid', documents: [], type: 'view' }], { skipEof: 'shop.paid' });
    expect(check(withView).summary.prelude.namespaces).toHaveLength(4);
  });

  it('keeps memory bounded: a large archive in 64 KiB chunks holds no more than the current document', () => {
    const big = buildArchive([{ db: 'big', collection: 'rows', documents: docs(3000, (i) => ({ _id: i, blob: Buffer.alloc(1000, i & 0xff) })) }]);
    const { summary } = check(big, 64 * 1024);
    expect(summary.totalDocuments).toBe(3000);
  });
});

describe('checkDocument (BSON structure)', () => {
  const doc = Buffer.from(BSON.serialize({ a: 1, s: 'text', n: { x: [1, 'two', { y: null }] }, b: true, d: new Date(0), l: Long.fromNumber(5), bin: Buffer.from([1, 2]) }));

  it('accepts what the driver serializes', () => {
    expect(() => checkDocument(doc)).not.toThrow();
  });

  it.each([
    ['a length prefix that does not match', (d: Buffer) => d.writeInt32LE(d.length + 1, 0), /length prefix/],
    ['a missing final zero', (d: Buffer) => (d[d.length - 1] = 1), /zero byte/],
    ['an unknown element type', (d: Buffer) => (d[4] = 0x42), /unknown type 0x42/],
    ['a string running past the document', (d: Buffer) => d.writeInt32LE(1000, d.indexOf(Buffer.from('s\0')) + 2), /string of 1000 bytes does not fit/],
    ['a boolean that is neither 0 nor 1', (d: Buffer) => (d[d.indexOf(Buffer.from('b\0')) + 2] = 7), /boolean byte 7/],
  ])('rejects %s', (_what, damage, message) => {
    const damaged = Buffer.from(doc);
    damage(damaged);
    expect(() => checkDocument(damaged)).toThrow(BsonStructureError);
    expect(() => checkDocument(damaged)).toThrow(message);
  });
});

/** The MongoDB form of a drill check (docs/drills.md): parsed from Extended JSON, answered as text. */
import * as driver from 'mongodb';
import { describe, expect, it } from 'vitest';
import { checkValueText, parseMongoCheck } from '../../core/adapters/engines/mongodb/mongo-check-query.js';

describe('parseMongoCheck', () => {
  it('reads a filter or a pipeline, with Extended JSON values', () => {
    expect(parseMongoCheck('{"collection": "orders", "filter": {"at": {"$gte": {"$date": "2026-01-01T00:00:00Z"}}}}', driver)).toEqual({ collection: 'orders', filter: { at: { $gte: new Date('2026-01-01T00:00:00Z') } } });
    expect(parseMongoCheck('{"database": "shop", "collection": "orders", "pipeline": [{"$count": "n"}]}', driver)).toEqual({ database: 'shop', collection: 'orders', pipeline: [{ $count: 'n' }] });
  });

  it('refuses SQL, both forms at once, unknown fields and writing stages, each in one line naming the form', () => {
    expect(() => parseMongoCheck('select 1', driver)).toThrow(/^the check is not valid JSON .*: a MongoDB check is JSON: \{"collection"/);
    expect(() => parseMongoCheck('{"collection": "a", "filter": {}, "pipeline": []}', driver)).toThrow(/^give either "filter" \(counted\) or "pipeline"/);
    expect(() => parseMongoCheck('{"collection": "a"}', driver)).toThrow(/^give either "filter"/);
    expect(() => parseMongoCheck('{"collection": "a", "filter": {}, "limit": 1}', driver)).toThrow(/a MongoDB check is JSON/);
    expect(() => parseMongoCheck('{"collection": "a", "pipeline": [{"$match": {}}, {"$merge": "b"}]}', driver)).toThrow('a check only reads: its pipeline may not use $merge');
  });
});

describe('checkValueText', () => {
  it('gives the first field besides _id as text', () => {
    expect(checkValueText({ _id: null, total: -50 }, driver)).toBe('-50');
    expect(checkValueText({ _id: 'x' }, driver)).toBe('x');
    expect(checkValueText({ _id: null, last: new Date('2026-03-01T10:00:00Z') }, driver)).toBe('2026-03-01T10:00:00.000Z');
    expect(checkValueText({ id: new driver.ObjectId('65a1b2c3d4e5f60718293a4b') }, driver)).toBe('65a1b2c3d4e5f60718293a4b');
    expect(checkValueText({ n: driver.Long.fromString('9007199254740993') }, driver)).toBe('9007199254740993');
    expect(checkValueText({ ok: true }, driver)).toBe('true');
    expect(checkValueText({ tags: ['a', 1] }, driver)).toBe('["a",1]');
    expect(checkValueText({ none: null }, driver)).toBe('');
    expect(checkValueText(undefined, driver)).toBe('');
  });
});

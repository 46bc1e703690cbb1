/**
 * Just enough BSON (https://bsonspec.org) to check a mongodump archive without a server and
 * without a driver: a structural walk of a document (every length consistent with where the
 * document ends) and a reader for the small header documents of the archive format.
 */

/** A BSON document's problem, as a short phrase (`element "x": string runs past the document`). */
export class BsonStructureError extends Error {}

const MAX_DEPTH = 200;

/**
 * Checks that `doc` (exactly one BSON document, length prefix included) is well formed: its
 * length prefix matches, every element's type is known and its value ends inside the
 * document, strings and names are terminated, nested documents are themselves well formed.
 * Throws {@link BsonStructureError}.
 */
export function checkDocument(doc: Buffer): void {
  if (doc.length < 5) throw new BsonStructureError(`document of ${doc.length} bytes is shorter than the 5-byte minimum`);
  walk(doc, 0, doc.length, 0);
}

/** Walks the document at [start, end) and returns nothing; throws on the first inconsistency. */
function walk(buf: Buffer, start: number, end: number, depth: number): void {
  if (depth > MAX_DEPTH) throw new BsonStructureError(`documents nested deeper than ${MAX_DEPTH} levels`);
  const size = buf.readInt32LE(start);
  if (size !== end - start) throw new BsonStructureError(`length prefix ${size} does not match the ${end - start} bytes it occupies`);
  if (buf[end - 1] !== 0) throw new BsonStructureError('document does not end with a zero byte');
  let at = start + 4;
  const last = end - 1;
  while (at < last) {
    const type = buf[at]!;
    at += 1;
    const nameEnd = buf.indexOf(0, at);
    if (nameEnd < 0 || nameEnd >= last) throw new BsonStructureError('element name is not terminated inside the document');
    const name = () => buf.toString('utf8', at, Math.min(nameEnd, at + 64));
    const valueStart = nameEnd + 1;
    const valueEnd = elementEnd(buf, type, valueStart, last, depth, name);
    if (valueEnd > last) throw new BsonStructureError(`element "${name()}" (type 0x${type.toString(16)}) runs past the end of its document`);
    at = valueEnd;
  }
  if (at !== last) throw new BsonStructureError('elements overrun the document');
}

function need(at: number, bytes: number, last: number, name: () => string): void {
  if (at + bytes > last) throw new BsonStructureError(`element "${name()}" runs past the end of its document`);
}

/** Where the value of an element of `type` starting at `at` ends. */
function elementEnd(buf: Buffer, type: number, at: number, last: number, depth: number, name: () => string): number {
  switch (type) {
    case 0x01: // double
    case 0x09: // UTC datetime
    case 0x11: // timestamp
    case 0x12: // int64
      return at + 8;
    case 0x13: // decimal128
      return at + 16;
    case 0x07: // ObjectId
      return at + 12;
    case 0x08: // boolean
      need(at, 1, last, name);
      if (buf[at]! > 1) throw new BsonStructureError(`element "${name()}": boolean byte ${buf[at]} is neither 0 nor 1`);
      return at + 1;
    case 0x10: // int32
      return at + 4;
    case 0x06: // undefined (deprecated)
    case 0x0a: // null
    case 0x7f: // max key
    case 0xff: // min key
      return at;
    case 0x02: // string
    case 0x0d: // JavaScript code
    case 0x0e: // symbol (deprecated)
      return stringEnd(buf, at, last, name);
    case 0x03: // embedded document
    case 0x04: {
      // array
      need(at, 4, last, name);
      const size = buf.readInt32LE(at);
      if (size < 5 || at + size > last) throw new BsonStructureError(`element "${name()}": embedded document of ${size} bytes does not fit its parent`);
      walk(buf, at, at + size, depth + 1);
      return at + size;
    }
    case 0x05: {
      // binary: int32 length, subtype, bytes
      need(at, 5, last, name);
      const size = buf.readInt32LE(at);
      if (size < 0) throw new BsonStructureError(`element "${name()}": binary length ${size} is negative`);
      return at + 5 + size;
    }
    case 0x0b: {
      // regular expression: pattern cstring, options cstring
      const patternEnd = buf.indexOf(0, at);
      if (patternEnd < 0 || patternEnd >= last) throw new BsonStructureError(`element "${name()}": regular expression pattern is not terminated`);
      const optionsEnd = buf.indexOf(0, patternEnd + 1);
      if (optionsEnd < 0 || optionsEnd >= last) throw new BsonStructureError(`element "${name()}": regular expression options are not terminated`);
      return optionsEnd + 1;
    }
    case 0x0c: // DBPointer (deprecated): string, ObjectId
      return stringEnd(buf, at, last, name) + 12;
    case 0x0f: {
      // code with scope: int32 total, string, document
      need(at, 4, last, name);
      const total = buf.readInt32LE(at);
      if (total < 14 || at + total > last) throw new BsonStructureError(`element "${name()}": code-with-scope of ${total} bytes does not fit its parent`);
      const codeEnd = stringEnd(buf, at + 4, at + total, name);
      walk(buf, codeEnd, at + total, depth + 1);
      return at + total;
    }
    default:
      throw new BsonStructureError(`element "${name()}" has unknown type 0x${type.toString(16)}`);
  }
}

/** A BSON string: int32 length (bytes + the terminating zero), bytes, zero. */
function stringEnd(buf: Buffer, at: number, last: number, name: () => string): number {
  need(at, 4, last, name);
  const size = buf.readInt32LE(at);
  if (size < 1 || at + 4 + size > last) throw new BsonStructureError(`element "${name()}": string of ${size} bytes does not fit its document`);
  if (buf[at + 4 + size - 1] !== 0) throw new BsonStructureError(`element "${name()}": string is not terminated by a zero byte`);
  return at + 4 + size;
}

/** Top-level values of a (checked) document that the archive's header documents use. */
export type HeaderValue = string | number | bigint | boolean | null | undefined;

/**
 * The top-level fields of a small header document: strings, int32, int64 (as bigint), double,
 * boolean and null; other types read as `undefined`. Call {@link checkDocument} first.
 */
export function readHeaderFields(doc: Buffer): Record<string, HeaderValue> {
  const fields: Record<string, HeaderValue> = {};
  const last = doc.length - 1;
  let at = 4;
  while (at < last) {
    const type = doc[at]!;
    const nameEnd = doc.indexOf(0, at + 1);
    const key = doc.toString('utf8', at + 1, nameEnd);
    const valueStart = nameEnd + 1;
    switch (type) {
      case 0x02:
        fields[key] = doc.toString('utf8', valueStart + 4, valueStart + 4 + doc.readInt32LE(valueStart) - 1);
        break;
      case 0x10:
        fields[key] = doc.readInt32LE(valueStart);
        break;
      case 0x12:
        fields[key] = doc.readBigInt64LE(valueStart);
        break;
      case 0x01:
        fields[key] = doc.readDoubleLE(valueStart);
        break;
      case 0x08:
        fields[key] = doc[valueStart] === 1;
        break;
      case 0x0a:
        fields[key] = null;
        break;
      default:
        fields[key] = undefined;
    }
    at = elementEnd(doc, type, valueStart, last, 0, () => key);
  }
  return fields;
}

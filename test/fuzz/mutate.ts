/**
 * Mutation-based fuzzing with fast-check: a valid input (a seed) damaged by a few edits —
 * bit flips, bytes set, ranges deleted, duplicated or replaced by random bytes, format tokens
 * spliced in, the end cut off — which reaches far deeper into a parser than random bytes do
 * (random bytes rarely get past a magic number or a JSON brace). fast-check makes every run
 * reproducible from its seed and shrinks a failing input to a small one.
 */
import fc from 'fast-check';

/** Where an edit lands: near the start (headers), near the end (trailers, truncation) or anywhere. */
const position = fc.record({
  fromEnd: fc.boolean(),
  offset: fc.oneof(fc.nat(64), fc.nat(1024), fc.nat()),
});
type Position = { fromEnd: boolean; offset: number };

type Edit =
  | { kind: 'flip'; at: Position; bit: number }
  | { kind: 'set'; at: Position; byte: number }
  | { kind: 'delete'; at: Position; length: number }
  | { kind: 'insert'; at: Position; bytes: Uint8Array }
  | { kind: 'duplicate'; at: Position; length: number }
  | { kind: 'token'; at: Position; token: Buffer }
  | { kind: 'truncate'; at: Position };

function editArbitrary(tokens: readonly Buffer[]): fc.Arbitrary<Edit> {
  const length = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 4096 }));
  const edits: fc.Arbitrary<Edit>[] = [
    fc.record({ kind: fc.constant('flip' as const), at: position, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at: position, byte: fc.constantFrom(0x00, 0x0a, 0x20, 0x22, 0x2d, 0x5c, 0x7f, 0x80, 0xff) }),
    fc.record({ kind: fc.constant('delete' as const), at: position, length }),
    fc.record({ kind: fc.constant('insert' as const), at: position, bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), at: position, length }),
    fc.record({ kind: fc.constant('truncate' as const), at: position }),
  ];
  if (tokens.length > 0) edits.push(fc.record({ kind: fc.constant('token' as const), at: position, token: fc.constantFrom(...tokens) }));
  return fc.oneof(...edits);
}

function indexIn(buffer: Buffer, at: Position): number {
  if (buffer.length === 0) return 0;
  const offset = at.offset % (buffer.length + 1);
  return at.fromEnd ? buffer.length - offset : offset;
}

function apply(seed: Buffer, edits: readonly Edit[]): Buffer {
  let out = Buffer.from(seed);
  for (const edit of edits) {
    const i = indexIn(out, edit.at);
    switch (edit.kind) {
      case 'flip':
        if (i < out.length) out[i]! ^= 1 << edit.bit;
        break;
      case 'set':
        if (i < out.length) out[i] = edit.byte;
        break;
      case 'delete':
        out = Buffer.concat([out.subarray(0, i), out.subarray(i + edit.length)]);
        break;
      case 'insert':
        out = Buffer.concat([out.subarray(0, i), Buffer.from(edit.bytes), out.subarray(i)]);
        break;
      case 'duplicate':
        out = Buffer.concat([out.subarray(0, i + edit.length), out.subarray(i)]);
        break;
      case 'token':
        out = Buffer.concat([out.subarray(0, i), edit.token, out.subarray(i)]);
        break;
      case 'truncate':
        out = out.subarray(0, i);
        break;
    }
  }
  return out;
}

/**
 * Inputs for a parser: mostly seeds with one to six edits, sometimes a seed as it is (the
 * parser must accept what it writes) or random bytes. `tokens` are the format's own words
 * (`*a`, `{"`, `-- Dump completed`) spliced in at random places.
 */
export function mutatedInputs(seeds: readonly Buffer[], tokens: readonly (string | Buffer)[] = []): fc.Arbitrary<Buffer> {
  const tokenBytes = tokens.map((token) => (typeof token === 'string' ? Buffer.from(token, 'latin1') : token));
  const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(editArbitrary(tokenBytes), { minLength: 1, maxLength: 6 })).map(([seed, edits]) => apply(seed, edits));
  return fc.oneof(
    { weight: 16, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 512 }).map((bytes) => Buffer.from(bytes)) },
  );
}

/** How a stream input is cut into chunks: a reader must not depend on where chunk boundaries fall. */
export const chunkSizes = fc.array(fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 70_000 })), { minLength: 1, maxLength: 6 });

/**
 * `bytes` cut into chunks of the given sizes, cycling through them; never more than 64 chunks
 * (a 70 KB input in 3-byte chunks would spend the fuzz run in stream plumbing).
 */
export function chunked(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  const least = Math.ceil(bytes.length / 64);
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = Math.max(sizes[k % sizes.length]!, least);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

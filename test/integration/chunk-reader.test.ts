/**
 * readChunks (core/pipeline/chunking/chunk-reader.ts) over packs built by hand the way the format
 * document describes them: gzip members laid end to end, age-encrypted by the real AgeEncryptor
 * (or plain), in a real folder store. Requests are counted through FaultyStorageBackend.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { AgeRandomAccessDecryptor, ageHeaderLength } from '../../core/adapters/encryption/age-random-access.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import type { ArtifactObject } from '../../core/domain/manifest.js';
import { packName, type ChunkRef } from '../../core/domain/snapshot-format.js';
import { AbortedError, IntegrityError, KeyError, NotFoundError } from '../../core/errors.js';
import { chunkIdOf } from '../../core/pipeline/chunking/chunk-id.js';
import { readChunks, type ChunkSource } from '../../core/pipeline/chunking/chunk-reader.js';
import type { ChunkCodec } from '../../core/ports/compressor.js';
import type { EncryptionFormat, RecipientDescription } from '../../core/ports/encryptor.js';
import { FaultyStorageBackend } from '../fakes/faulty-storage.js';

const KiB = 1024;
const key = generateX25519Identity();
const dedupKey = randomBytes(32);

/** gzip members, one per chunk: the test's ChunkCodec (node:zlib, as the format allows). */
const gzipCodec: ChunkCodec = {
  id: 'gzip',
  level: 1,
  implementation: 'node:zlib (test)',
  compress: (raw) => gzipSync(raw, { level: 1 }),
  decompress(stored, rawLength) {
    let raw: Buffer;
    try {
      raw = gunzipSync(stored);
    } catch (error) {
      throw new IntegrityError(`not a gzip member: ${(error as Error).message}`);
    }
    if (raw.length !== rawLength) throw new IntegrityError(`decompresses to ${raw.length} bytes, expected ${rawLength}`);
    return raw;
  },
};

/** Text-like bytes that compress (about 3:1), so stored and raw lengths differ. */
function rawChunk(bytes: number, seed: number): Buffer {
  const words = ['select', 'insert', 'users', 'orders', String(seed), 'vaultra', 'null', '2026-01-01', '\t', '\n'];
  const parts: string[] = [];
  let length = 0;
  let state = seed + 1;
  while (length < bytes) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const word = state % 7 === 0 ? randomBytes(4).toString('hex') : words[state % words.length]!;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

interface BuiltPack {
  readonly name: string;
  readonly object: ArtifactObject;
  /** Each chunk: where it is, and its raw bytes. */
  readonly chunks: readonly { ref: ChunkRef; raw: Buffer }[];
}

interface Store {
  readonly dir: string;
  readonly files: FileStorageBackend;
  readonly storage: FaultyStorageBackend;
}

const packKey = (name: string) => `job/shared/${name}`;

/** Writes one pack of `raws` (compressed one by one, laid end to end, encrypted to `recipients` or not). */
async function buildPack(store: Store, raws: readonly Buffer[], encryption: EncryptionFormat = 'age-v1', recipients = [{ kind: 'x25519' as const, recipient: key.recipient }]): Promise<BuiltPack> {
  const name = packName(randomBytes(16).toString('hex'), encryption === 'age-v1');
  const stored = raws.map((raw) => gzipCodec.compress(raw));
  const plaintext = Buffer.concat(stored);
  const file = encryption === 'age-v1' ? await buffer(Readable.from([plaintext]).pipe(new AgeEncryptor(recipients).encrypt())) : plaintext;
  await store.files.put(packKey(name), Readable.from([file]));
  const headerBytes = encryption === 'age-v1' ? ageHeaderLength(file)! : 0;
  const object: ArtifactObject = {
    name,
    role: 'pack',
    scope: 'shared',
    sizeBytes: file.length,
    sha256: createHash('sha256').update(file).digest('hex'),
    ...(encryption === 'age-v1' ? { headerSha256: createHash('sha256').update(file.subarray(0, headerBytes)).digest('hex') } : {}),
  };
  let offset = 0;
  const chunks = raws.map((raw, i) => {
    const ref: ChunkRef = { stream: 0, id: chunkIdOf(dedupKey, raw).toString('hex'), pack: name, offset, storedLength: stored[i]!.length, rawLength: raw.length };
    offset += stored[i]!.length;
    return { ref, raw };
  });
  return { name, object, chunks };
}

function sourceOf(store: Store, packs: readonly BuiltPack[], overrides: Partial<ChunkSource> = {}, recipients: readonly RecipientDescription[] = [{ type: 'x25519', recipient: key.recipient }]): ChunkSource {
  return {
    storage: store.storage,
    packKey,
    packs: new Map(packs.map((pack) => [pack.name, pack.object])),
    decryptor: new AgeRandomAccessDecryptor([{ kind: 'x25519', identity: key.identity }]),
    encryption: { format: 'age-v1', recipients },
    codec: gzipCodec,
    dedupKey,
    ...overrides,
  };
}

const rangeReads = (store: Store) => store.storage.calls.filter((call) => call.method === 'readRange').length;

describe('readChunks', () => {
  const dirs: string[] = [];
  async function freshStore(): Promise<Store> {
    const dir = await mkdtemp(join(tmpdir(), 'vaultra-chunk-reader-'));
    dirs.push(dir);
    const files = new FileStorageBackend(dir);
    return { dir, files, storage: new FaultyStorageBackend(files) };
  }
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  let store: Store;
  let packA: BuiltPack;
  let packB: BuiltPack;
  beforeAll(async () => {
    store = await freshStore();
    // Chunk sizes cross age's 64 KiB segments in every way: inside one, across two, across several.
    packA = await buildPack(store, [1, 30 * KiB, 100 * KiB, 7, 250 * KiB, 64 * KiB, 16 * KiB, 33 * KiB].map((size, i) => rawChunk(size, i)));
    packB = await buildPack(store, [40 * KiB, 90 * KiB, 3 * KiB, 200 * KiB].map((size, i) => rawChunk(size, 100 + i)));
  });

  it('emits the chunks of a stream in order, across packs, chunks interleaved', async () => {
    // Prepare
    const a = packA.chunks;
    const b = packB.chunks;
    const order = [a[0]!, a[1]!, b[0]!, a[2]!, a[3]!, b[1]!, b[2]!, a[4]!, a[5]!, b[3]!, a[6]!, a[7]!];
    // Act
    const out = await buffer(readChunks(sourceOf(store, [packA, packB]), order.map((chunk) => chunk.ref), { concurrency: 3 }));
    // Assess
    expect(out.equals(Buffer.concat(order.map((chunk) => chunk.raw)))).toBe(true);
  });

  it('reads chunks that are adjacent in a pack with one request, and opens each pack once', async () => {
    const fresh = await freshStore();
    const pack = await buildPack(fresh, Array.from({ length: 60 }, (_, i) => rawChunk(20 * KiB + i, i)));
    const refs = pack.chunks.map((chunk) => chunk.ref);

    const whole = await buffer(readChunks(sourceOf(fresh, [pack]), refs));
    expect(whole.equals(Buffer.concat(pack.chunks.map((chunk) => chunk.raw)))).toBe(true);
    // The header probe, then one range for all 60 chunks.
    expect(rangeReads(fresh)).toBe(2);

    fresh.storage.calls.length = 0;
    const storedBytes = pack.chunks.reduce((sum, chunk) => sum + chunk.ref.storedLength, 0);
    const maxRangeBytes = Math.ceil(storedBytes / 4);
    const split = await buffer(readChunks(sourceOf(fresh, [pack]), refs, { maxRangeBytes }));
    expect(split.equals(whole)).toBe(true);
    expect(rangeReads(fresh)).toBeGreaterThanOrEqual(1 + 4);
    expect(rangeReads(fresh)).toBeLessThanOrEqual(1 + 5);
  });

  it('reads a chunk that two positions share, both times', async () => {
    const chunk = packA.chunks[2]!;
    const other = packA.chunks[5]!;
    const refs = [chunk.ref, other.ref, chunk.ref, chunk.ref];
    const out = await buffer(readChunks(sourceOf(store, [packA]), refs));
    expect(out.equals(Buffer.concat([chunk.raw, other.raw, chunk.raw, chunk.raw]))).toBe(true);
  });

  it('takes the chunk list as an async iterable, and an empty one as an empty stream', async () => {
    const refs = packB.chunks.map((chunk) => chunk.ref);
    const out = await buffer(readChunks(sourceOf(store, [packB]), (async function* () { yield* refs; })()));
    expect(out.equals(Buffer.concat(packB.chunks.map((chunk) => chunk.raw)))).toBe(true);
    expect((await buffer(readChunks(sourceOf(store, [packB]), []))).length).toBe(0);
  });

  it('reads plain packs (encryption none)', async () => {
    const fresh = await freshStore();
    const pack = await buildPack(fresh, [10 * KiB, 70 * KiB, 5].map((size, i) => rawChunk(size, i)), 'none');
    const source = sourceOf(fresh, [pack], { encryption: { format: 'none', recipients: [] } });
    const refs = [pack.chunks[1]!.ref, pack.chunks[0]!.ref, pack.chunks[2]!.ref];
    expect((await buffer(readChunks(source, refs))).equals(Buffer.concat([pack.chunks[1]!.raw, pack.chunks[0]!.raw, pack.chunks[2]!.raw]))).toBe(true);
  });

  it('fetches more of a pack whose header is longer than the first probe', async () => {
    const fresh = await freshStore();
    // 60 recipients make a header of about 9 KiB, past the 4 KiB probe.
    const many = [key, ...Array.from({ length: 59 }, () => generateX25519Identity())];
    const pack = await buildPack(fresh, [rawChunk(50 * KiB, 1)], 'age-v1', many.map((k) => ({ kind: 'x25519' as const, recipient: k.recipient })));
    const source = sourceOf(fresh, [pack], {}, many.map((k) => ({ type: 'x25519' as const, recipient: k.recipient })));
    expect((await buffer(readChunks(source, [pack.chunks[0]!.ref]))).equals(pack.chunks[0]!.raw)).toBe(true);
    expect(rangeReads(fresh)).toBe(3);
  });

  it('keeps at most `openPacks` packs open, reopening the least recently used', async () => {
    const a = packA.chunks;
    const b = packB.chunks;
    const refs = [a[0]!.ref, b[0]!.ref, a[2]!.ref, b[2]!.ref];
    const raws = Buffer.concat([a[0]!.raw, b[0]!.raw, a[2]!.raw, b[2]!.raw]);
    store.storage.calls.length = 0;
    expect((await buffer(readChunks(sourceOf(store, [packA, packB]), refs, { openPacks: 2 }))).equals(raws)).toBe(true);
    // Two header probes, four ranges.
    expect(rangeReads(store)).toBe(6);
    store.storage.calls.length = 0;
    expect((await buffer(readChunks(sourceOf(store, [packA, packB]), refs, { openPacks: 1, concurrency: 1 }))).equals(raws)).toBe(true);
    // Each switch of pack reopens it: four header probes, four ranges.
    expect(rangeReads(store)).toBe(8);
  });

  describe('refuses what the index and manifest do not vouch for', () => {
    it('a pack with one byte changed: IntegrityError naming the pack', async () => {
      const fresh = await freshStore();
      const pack = await buildPack(fresh, [rawChunk(100 * KiB, 1), rawChunk(100 * KiB, 2)]);
      const bytes = (await buffer(await fresh.files.get(packKey(pack.name)))) as Buffer;
      bytes[bytes.length - 1000]! ^= 1;
      await writeFile(join(fresh.dir, ...packKey(pack.name).split('/')), bytes);
      const reading = buffer(readChunks(sourceOf(fresh, [pack]), pack.chunks.map((chunk) => chunk.ref)));
      await expect(reading).rejects.toBeInstanceOf(IntegrityError);
      await expect(reading).rejects.toThrow(pack.name);
    });

    it('a pack missing from storage: NotFoundError saying the snapshot cannot be restored', async () => {
      const fresh = await freshStore();
      const pack = await buildPack(fresh, [rawChunk(1000, 1)]);
      await fresh.files.delete(packKey(pack.name));
      const reading = buffer(readChunks(sourceOf(fresh, [pack]), [pack.chunks[0]!.ref]));
      await expect(reading).rejects.toBeInstanceOf(NotFoundError);
      await expect(reading).rejects.toThrow(new RegExp(`pack ${pack.name} is missing.*cannot be restored`));
    });

    it('a pack the manifest does not list: IntegrityError', async () => {
      const reading = buffer(readChunks(sourceOf(store, [packA]), [packA.chunks[0]!.ref, packB.chunks[0]!.ref]));
      await expect(reading).rejects.toBeInstanceOf(IntegrityError);
      await expect(reading).rejects.toThrow(new RegExp(`pack ${packB.name} is not listed in the manifest`));
    });

    it('a pack whose header is not the one the manifest pins (re-encrypted to the same recipient)', async () => {
      const fresh = await freshStore();
      const pack = await buildPack(fresh, [rawChunk(1000, 1)]);
      const pinned = { ...pack, object: { ...pack.object, headerSha256: createHash('sha256').update('another header').digest('hex') } };
      const reading = buffer(readChunks(sourceOf(fresh, [pinned]), [pack.chunks[0]!.ref]));
      await expect(reading).rejects.toThrow(`pack ${pack.name}: its header is not the one the manifest pins (re-encrypted or replaced)`);
    });

    it('a chunk whose raw length is not the index\'s', async () => {
      const ref = { ...packA.chunks[1]!.ref, rawLength: packA.chunks[1]!.ref.rawLength + 1 };
      await expect(buffer(readChunks(sourceOf(store, [packA]), [ref]))).rejects.toBeInstanceOf(IntegrityError);
    });

    it('a chunk whose location is not a whole stored chunk', async () => {
      const ref = { ...packA.chunks[1]!.ref, offset: packA.chunks[1]!.ref.offset + 1 };
      await expect(buffer(readChunks(sourceOf(store, [packA]), [ref]))).rejects.toBeInstanceOf(IntegrityError);
    });

    it('a chunk whose id is not the index\'s (with the dedup key at hand), and reads it without the key', async () => {
      const ref = { ...packA.chunks[1]!.ref, id: packA.chunks[2]!.ref.id };
      await expect(buffer(readChunks(sourceOf(store, [packA]), [ref]))).rejects.toThrow(/its id does not match/);
      const { dedupKey: _unused, ...withoutKey } = sourceOf(store, [packA]);
      expect((await buffer(readChunks(withoutKey, [ref]))).equals(packA.chunks[1]!.raw)).toBe(true);
    });

    it('a chunk past the end of its pack', async () => {
      const ref = { ...packB.chunks[3]!.ref, storedLength: packB.chunks[3]!.ref.storedLength + 100 };
      await expect(buffer(readChunks(sourceOf(store, [packB]), [ref]))).rejects.toBeInstanceOf(IntegrityError);
    });

    it('a reader without an identity that opens the packs: KeyError', async () => {
      const stranger = new AgeRandomAccessDecryptor([{ kind: 'x25519', identity: generateX25519Identity().identity }]);
      await expect(buffer(readChunks(sourceOf(store, [packA], { decryptor: stranger }), [packA.chunks[0]!.ref]))).rejects.toBeInstanceOf(KeyError);
    });
  });

  it('stops when the signal aborts', async () => {
    const fresh = await freshStore();
    const pack = await buildPack(fresh, Array.from({ length: 40 }, (_, i) => rawChunk(64 * KiB, i)));
    const controller = new AbortController();
    const refs = Array.from({ length: 200 }, (_, i) => pack.chunks[i % 40]!.ref);
    const stream = readChunks(sourceOf(fresh, [pack]), refs, { signal: controller.signal, maxRangeBytes: 64 * KiB });
    let received = 0;
    const reading = (async () => {
      for await (const chunk of stream) {
        received += (chunk as Buffer).length;
        if (received > 256 * KiB) controller.abort();
      }
    })();
    await expect(reading).rejects.toBeInstanceOf(AbortedError);
    expect(received).toBeLessThan(200 * 64 * KiB);
    expect(stream.destroyed).toBe(true);
  });

  it('refuses to start when the signal has aborted already', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(buffer(readChunks(sourceOf(store, [packA]), [packA.chunks[0]!.ref], { signal: controller.signal }))).rejects.toBeInstanceOf(AbortedError);
  });
});

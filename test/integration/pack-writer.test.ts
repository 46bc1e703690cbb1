/**
 * The pack writer against real file storage and the real age encryption: every chunk is read back
 * from its pack at its location (the whole pack decrypted with Vaultra's age decryptor, the way
 * `scripts/restore-chunked.sh` does with `age -d`), and a failed run leaves no pack behind.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chunkCodecFor } from '../../core/adapters/compression/chunk-codecs.js';
import { AgeDecryptor, AgeEncryptor, NoEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { PACK_NAME_PATTERN, CHUNKER_PARAMS, type ChunkLocation } from '../../core/domain/snapshot-format.js';
import { AbortedError, StorageError } from '../../core/errors.js';
import { StorageArtifactWriter } from '../../core/pipeline/artifact-writer.js';
import { FastCdcChunker } from '../../core/pipeline/chunking/fastcdc.js';
import { PackWriter } from '../../core/pipeline/chunking/pack-writer.js';
import type { HeaderLength } from '../../core/ports/encryptor.js';
import type { IoOptions, StorageBackend } from '../../core/ports/storage-backend.js';
import { FaultyStorageBackend } from '../fakes/faulty-storage.js';
import { dumpText } from '../support/dump-text.js';

const RUN_FOLDER = 'job/2026/12/06/20261206T120000Z-abcd';
const SHARED = 'job/shared';

/** Test-local: an age header ends with the newline of its `---` MAC line. */
const ageHeaderLength: HeaderLength = (prefix) => {
  const mac = prefix.indexOf('\n--- ');
  if (mac < 0) return undefined;
  const end = prefix.indexOf(0x0a, mac + 5);
  return end < 0 ? undefined : end + 1;
};

const folders: string[] = [];
afterEach(async () => {
  await Promise.all(folders.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function destination(): Promise<FileStorageBackend> {
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-packs-'));
  folders.push(dir);
  return new FileStorageBackend(dir);
}

async function through(stage: Transform, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const piece of stage) out.push(piece as Buffer);
  })();
  Readable.from([input]).pipe(stage);
  await done;
  return Buffer.concat(out);
}

async function sharedFiles(storage: FileStorageBackend): Promise<string[]> {
  return (await readdir(join(storage.rootDir, SHARED)).catch(() => [] as string[])).sort();
}

function chunksOf(data: Buffer): Buffer[] {
  const chunker = new FastCdcChunker({ minBytes: 2048, avgBytes: 4096, maxBytes: 16384 });
  const chunks: Buffer[] = [];
  chunker.push(data, (c) => chunks.push(c));
  chunker.end((c) => chunks.push(c));
  return chunks;
}

describe('PackWriter', () => {
  it('writes hundreds of chunks into several age packs in every destination, each readable at its location', async () => {
    // Prepare
    const { identity, recipient } = generateX25519Identity();
    const destinations = [await destination(), await destination()];
    const writer = new StorageArtifactWriter(destinations, RUN_FOLDER);
    const codec = chunkCodecFor('zstd');
    const packs = new PackWriter({ writer, encryptor: new AgeEncryptor([{ kind: 'x25519', recipient }]), headerLength: ageHeaderLength, codec, targetPackBytes: 256 * 1024 });
    const chunks = chunksOf(dumpText(3 * 1024 * 1024, 41));
    // Act
    const locations: ChunkLocation[] = [];
    for (const chunk of chunks) locations.push(await packs.add(chunk));
    const objects = await packs.close();
    // Assess
    expect(chunks.length).toBeGreaterThan(300);
    expect(objects.length).toBeGreaterThanOrEqual(3);
    expect(packs.packsWritten).toBe(objects.length);
    expect(packs.bytesStored()).toBe(objects.reduce((sum, o) => sum + o.sizeBytes, 0));
    expect(new Set(locations.map((l) => l.pack))).toEqual(new Set(objects.map((o) => o.name)));
    const decryptor = new AgeDecryptor([{ kind: 'x25519', identity }]);
    for (const object of objects) {
      expect(object).toMatchObject({ role: 'pack', scope: 'shared' });
      expect(object.name).toMatch(PACK_NAME_PATTERN);
      for (const storage of destinations) {
        const stored = await readFile(join(storage.rootDir, SHARED, object.name));
        expect(stored.length).toBe(object.sizeBytes);
        expect(createHash('sha256').update(stored).digest('hex')).toBe(object.sha256);
        expect(createHash('sha256').update(stored.subarray(0, ageHeaderLength(stored))).digest('hex')).toBe(object.headerSha256);
      }
      const plaintext = await through(decryptor.decrypt('age-v1'), await readFile(join(destinations[0]!.rootDir, SHARED, object.name)));
      locations.forEach((location, i) => {
        if (location.pack !== object.name) return;
        const stored = plaintext.subarray(location.offset, location.offset + location.storedLength);
        expect(codec.decompress(stored, location.rawLength).equals(chunks[i]!)).toBe(true);
      });
    }
  });

  it('writes plain packs, without .age and without a header digest, when nothing encrypts', async () => {
    const storage = await destination();
    const packs = new PackWriter({ writer: new StorageArtifactWriter([storage], RUN_FOLDER), encryptor: new NoEncryptor(), codec: chunkCodecFor('none'), targetPackBytes: 100_000 });
    const chunks = chunksOf(dumpText(300_000, 2));
    const locations = [];
    for (const chunk of chunks) locations.push(await packs.add(chunk));
    const objects = await packs.close();
    expect(objects.every((o) => !o.name.endsWith('.age') && o.headerSha256 === undefined)).toBe(true);
    for (const [i, location] of locations.entries()) {
      const pack = await readFile(join(storage.rootDir, SHARED, location.pack));
      expect(pack.subarray(location.offset, location.offset + location.storedLength).equals(chunks[i]!)).toBe(true);
    }
  });

  it('rejects close with the failing destination\'s error, tears every pack down, and discard leaves no pack anywhere', async () => {
    // Prepare: the second destination fails partway into the third pack it receives.
    const { recipient } = generateX25519Identity();
    const good = await destination();
    let puts = 0;
    const failing = new FaultyStorageBackend(await destination()).failPutAfterBytes(100 * 1024, { keys: () => ++puts === 3, body: 'abandon' });
    const writer = new StorageArtifactWriter([good, failing], RUN_FOLDER);
    const packs = new PackWriter({ writer, encryptor: new AgeEncryptor([{ kind: 'x25519', recipient }]), headerLength: ageHeaderLength, codec: chunkCodecFor('none'), targetPackBytes: 256 * 1024 });
    // Act
    let addError: unknown;
    try {
      for (const chunk of chunksOf(dumpText(4 * 1024 * 1024, 3))) await packs.add(chunk);
    } catch (error) {
      addError = error;
    }
    const closing = packs.close();
    // Assess
    await expect(closing).rejects.toBeInstanceOf(StorageError);
    if (addError) expect(addError).toBeInstanceOf(StorageError);
    // Packs stored before the failure stay until discard; nothing half-written stays at all.
    for (const storage of [good, failing.inner as FileStorageBackend]) expect((await sharedFiles(storage)).every((name) => PACK_NAME_PATTERN.test(name))).toBe(true);
    await writer.discard();
    expect(await sharedFiles(good)).toEqual([]);
    expect(await sharedFiles(failing.inner as FileStorageBackend)).toEqual([]);
  });

  it('discard removes the packs of a run that failed after they were stored', async () => {
    const storage = await destination();
    const writer = new StorageArtifactWriter([storage], RUN_FOLDER);
    const packs = new PackWriter({ writer, encryptor: new NoEncryptor(), codec: chunkCodecFor('gzip'), targetPackBytes: 50_000 });
    for (const chunk of chunksOf(dumpText(400_000, 4))) await packs.add(chunk);
    const objects = await packs.close();
    expect(await sharedFiles(storage)).toEqual(objects.map((o) => o.name).sort());
    await writer.discard();
    expect(await sharedFiles(storage)).toEqual([]);
  });

  it('abort tears down the pack being written: add and close reject, nothing half-written stays', async () => {
    const storage = await destination();
    const writer = new StorageArtifactWriter([storage], RUN_FOLDER);
    const packs = new PackWriter({ writer, encryptor: new NoEncryptor(), codec: chunkCodecFor('zstd'), targetPackBytes: 10 * 1024 * 1024 });
    for (const chunk of chunksOf(dumpText(500_000, 5))) await packs.add(chunk);
    packs.abort();
    await expect(packs.add(Buffer.from('late'))).rejects.toBeInstanceOf(AbortedError);
    await expect(packs.close()).rejects.toBeInstanceOf(AbortedError);
    expect(await sharedFiles(storage)).toEqual([]);
  });

  it('holds add back while two finished packs are still uploading, then goes on', async () => {
    // Prepare: a destination that reads nothing until released, like a stalled upload.
    const storage = await destination();
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const opened: string[] = [];
    const stalled: StorageBackend = Object.assign(Object.create(storage) as StorageBackend, {
      put: async (key: string, body: Readable, options?: IoOptions) => {
        opened.push(key);
        await released;
        return storage.put(key, body, options);
      },
    });
    const packs = new PackWriter({ writer: new StorageArtifactWriter([stalled], RUN_FOLDER), encryptor: new NoEncryptor(), codec: chunkCodecFor('none'), targetPackBytes: 20_000 });
    const chunks = chunksOf(dumpText(400_000, 8));
    // Act
    let added = 0;
    const adding = (async () => {
      for (const chunk of chunks) {
        await packs.add(chunk);
        added++;
      }
    })();
    // Assess: two packs finishing and a third filling, no fourth (even given time to open one).
    await vi.waitFor(() => expect(opened.length).toBe(3), { timeout: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(opened.length).toBe(3);
    expect(added).toBeLessThan(chunks.length);
    release();
    await adding;
    const objects = await packs.close();
    expect(objects.length).toBeGreaterThan(3);
    expect(await sharedFiles(storage)).toEqual(objects.map((o) => o.name).sort());
  });

  it('stops with AbortedError when the run\'s signal aborts', async () => {
    const storage = await destination();
    const controller = new AbortController();
    const packs = new PackWriter({ writer: new StorageArtifactWriter([storage], RUN_FOLDER), encryptor: new NoEncryptor(), codec: chunkCodecFor('zstd'), signal: controller.signal });
    await packs.add(dumpText(CHUNKER_PARAMS.avgBytes, 6));
    controller.abort();
    await expect(packs.close()).rejects.toBeInstanceOf(AbortedError);
    expect(await sharedFiles(storage)).toEqual([]);
  });
});

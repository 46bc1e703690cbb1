/**
 * Read throughput of the chunked-snapshot reader (core/pipeline/chunking/chunk-reader.ts) from a
 * local folder, against what reading the same packs whole costs (age stream decryption + gunzip
 * of the concatenated members): the ratio is the figure, absolute MB/s on a shared machine are noise.
 *
 *   npx tsx bench/chunk-read-throughput.ts [rawMiB=300] [gzip|none]
 *
 * `none` stores chunks as they are: what the reader itself costs (ranged reads, age, slicing, ids),
 * without a codec per chunk (gzip's per-member setup is about half of the gzip figure).
 *
 * Packs are built here as the format says (gzip member per chunk, age-encrypted, ~32 MiB stored);
 * chunks are 16–64 KiB of compressible text, read in their written order (a full restore's case).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync, gzipSync } from 'node:zlib';
import { AgeDecryptor, AgeEncryptor } from '../core/adapters/encryption/age-encryptor.js';
import { AgeRandomAccessDecryptor, ageHeaderLength } from '../core/adapters/encryption/age-random-access.js';
import { generateX25519Identity } from '../core/adapters/encryption/age/bech32-keys.js';
import { FileStorageBackend } from '../core/adapters/storage/file-storage.js';
import type { ArtifactObject } from '../core/domain/manifest.js';
import { PACK_TARGET_BYTES, packName, type ChunkRef } from '../core/domain/snapshot-format.js';
import { IntegrityError } from '../core/errors.js';
import { chunkIdOf } from '../core/pipeline/chunking/chunk-id.js';
import { readChunks } from '../core/pipeline/chunking/chunk-reader.js';
import type { ChunkCodec } from '../core/ports/compressor.js';

const MiB = 1024 * 1024;
const rawBytes = Number(process.argv[2] ?? 300) * MiB;
const key = generateX25519Identity();
const dedupKey = randomBytes(32);

const gzipCodec: ChunkCodec = {
  id: 'gzip',
  level: 1,
  implementation: 'node:zlib',
  compress: (raw) => gzipSync(raw, { level: 1 }),
  decompress(stored, rawLength) {
    const raw = gunzipSync(stored);
    if (raw.length !== rawLength) throw new IntegrityError(`decompresses to ${raw.length} bytes, expected ${rawLength}`);
    return raw;
  },
};

const noneCodec: ChunkCodec = {
  id: 'none',
  level: 0,
  implementation: 'none',
  compress: (raw) => raw,
  decompress(stored, rawLength) {
    if (stored.length !== rawLength) throw new IntegrityError(`${stored.length} bytes, expected ${rawLength}`);
    return stored;
  },
};
const codec = process.argv[3] === 'none' ? noneCodec : gzipCodec;

/** 8 MiB of table-dump-like text to cut chunks from (chunks get a random prefix so none repeat). */
function textPool(): Buffer {
  const lines: string[] = [];
  for (let i = 0; lines.length < 120_000; i++) lines.push(`${i}\tuser${i % 977}@example.org\t${(i * 7919) % 100000}.${i % 100}\t2026-01-${String((i % 28) + 1).padStart(2, '0')}\t${randomBytes(6).toString('hex')}\n`);
  return Buffer.from(lines.join(''));
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vaultra-chunk-bench-'));
  try {
    const storage = new FileStorageBackend(dir);
    const pool = textPool();
    const packs = new Map<string, ArtifactObject>();
    const refs: ChunkRef[] = [];
    const rawDigest = createHash('sha256');
    let written = 0;
    const buildStarted = performance.now();
    while (written < rawBytes) {
      const name = packName(randomBytes(16).toString('hex'), true);
      const stored: Buffer[] = [];
      let offset = 0;
      while (offset < PACK_TARGET_BYTES && written < rawBytes) {
        const size = Math.min(rawBytes - written, 16 * 1024 + Math.floor(Math.random() * 48 * 1024));
        const at = Math.floor(Math.random() * (pool.length - size));
        const raw = Buffer.concat([randomBytes(16), pool.subarray(at, at + size - 16)]);
        rawDigest.update(raw);
        const compressed = codec.compress(raw);
        refs.push({ stream: 0, id: chunkIdOf(dedupKey, raw).toString('hex'), pack: name, offset, storedLength: compressed.length, rawLength: raw.length });
        stored.push(compressed);
        offset += compressed.length;
        written += raw.length;
      }
      const file = await buffer(Readable.from([Buffer.concat(stored)]).pipe(new AgeEncryptor([{ kind: 'x25519', recipient: key.recipient }]).encrypt()));
      await storage.put(`shared/${name}`, Readable.from([file]));
      packs.set(name, { name, role: 'pack', scope: 'shared', sizeBytes: file.length, sha256: createHash('sha256').update(file).digest('hex'), headerSha256: createHash('sha256').update(file.subarray(0, ageHeaderLength(file))).digest('hex') });
    }
    const storedBytes = [...packs.values()].reduce((sum, pack) => sum + pack.sizeBytes, 0);
    console.log(`built ${packs.size} packs: ${(written / MiB).toFixed(0)} MiB raw in ${refs.length} chunks, ${(storedBytes / MiB).toFixed(0)} MiB stored (${((performance.now() - buildStarted) / 1000).toFixed(1)} s)`);

    const expected = rawDigest.digest('hex');
    const source = { storage, packKey: (name: string) => `shared/${name}`, packs, decryptor: new AgeRandomAccessDecryptor([{ kind: 'x25519', identity: key.identity }]), encryption: { format: 'age-v1' as const, recipients: [{ type: 'x25519' as const, recipient: key.recipient }] }, codec };

    const runs = [
      ['readChunks (ids checked)', () => consume(readChunks({ ...source, dedupKey }, refs))],
      ['readChunks (no dedup key)', () => consume(readChunks(source, refs))],
      [`whole packs: age stream${codec.id === 'gzip' ? ' + gunzip' : ''}`, () => wholePacks(storage, [...packs.keys()])],
    ] as const;
    // Twice each, interleaved: on a shared machine one run alone says little.
    for (const [label, run] of [...runs, ...runs]) {
      global.gc?.();
      const baseline = process.memoryUsage().rss;
      let peak = baseline;
      // RSS sampled while the run goes: the process's own peak is the packs built above.
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      const started = performance.now();
      const digest = await run();
      const seconds = (performance.now() - started) / 1000;
      clearInterval(sampler);
      if (digest !== expected) throw new Error(`${label}: the bytes read are not the bytes written`);
      console.log(`${label}: ${(written / MiB / seconds).toFixed(0)} MiB/s raw (${seconds.toFixed(2)} s), RSS +${((peak - baseline) / MiB).toFixed(0)} MiB over ${(baseline / MiB).toFixed(0)} MiB`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function consume(stream: Readable): Promise<string> {
  const digest = createHash('sha256');
  await pipeline(stream, new Writable({ write: (chunk: Buffer, _encoding, callback) => (digest.update(chunk), callback()) }));
  return digest.digest('hex');
}

async function wholePacks(storage: FileStorageBackend, names: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const name of names) {
    const digest = new Writable({ write: (chunk: Buffer, _encoding, callback) => (hash.update(chunk), callback()) });
    const decrypt = new AgeDecryptor([{ kind: 'x25519', identity: key.identity }]).decrypt('age-v1');
    if (codec.id === 'gzip') await pipeline(await storage.get(`shared/${name}`), decrypt, createGunzip(), digest);
    else await pipeline(await storage.get(`shared/${name}`), decrypt, digest);
  }
  return hash.digest('hex');
}

await main();

/**
 * Hand-made chunked snapshots (docs/chunked-snapshots.md) for tests of what reads a repository of
 * them without making one: a manifest v3 written with encodeManifest that lists an index in its
 * run folder and packs in the job's shared area, with the sizes and digests of the bytes given.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { encodeManifest } from '../../core/domain/manifest-codec.js';
import type { ArtifactObject, Manifest } from '../../core/domain/manifest.js';
import { manifestKey, runFolder, sharedFolder } from '../../core/domain/object-layout.js';
import { INDEX_OBJECT_NAME, packName } from '../../core/domain/snapshot-format.js';
import { newRunId } from '../../core/domain/run.js';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import type { BackupDependencies } from '../../core/usecases/backup.js';
import { engineById } from '../../core/adapters/engines/engines.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { chunkCodecFor } from '../../core/adapters/compression/chunk-codecs.js';
import { AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { ageHeaderLength } from '../../core/adapters/encryption/age-random-access.js';
import { LocalCatalog } from '../../core/adapters/catalog/local-catalog.js';
import type { TestSigning } from './signing.js';

export const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** A fresh pack name (unencrypted unless said). */
export const newPackName = (encrypted = false): string => packName(randomBytes(16).toString('hex'), encrypted);

export interface ChunkedManifestFacts {
  readonly job: string;
  readonly runId: string;
  /** The stored bytes of each pack the snapshot references, by name. */
  readonly packs: ReadonlyMap<string, Buffer> | Record<string, Buffer>;
  /** The stored index object. */
  readonly index: Buffer;
  readonly compression?: Manifest['compression']['id'];
  /** An age recipient (`age1…`) when the packs are age files; plain packs otherwise. */
  readonly recipient?: string;
  readonly engine?: Manifest['source']['engine'];
  readonly layout?: 'single-stream' | 'multi-stream';
  readonly streams?: number;
  readonly chunks?: number;
  readonly type?: 'full' | 'differential' | 'incremental';
  readonly baseRunId?: string;
}

/** The manifest's text for a chunked snapshot of `facts`. */
export function chunkedManifestText(facts: ChunkedManifestFacts): string {
  const packs = facts.packs instanceof Map ? [...facts.packs] : Object.entries(facts.packs);
  const startedAt = facts.runId.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z-.*$/, '$1-$2-$3T$4:$5:$6.$7Z');
  const objects: ArtifactObject[] = [
    { name: INDEX_OBJECT_NAME, role: 'index', sizeBytes: facts.index.length, sha256: sha256(facts.index) },
    ...packs.map(([name, bytes]): ArtifactObject => ({ name, role: 'pack', scope: 'shared', sizeBytes: bytes.length, sha256: sha256(bytes) })),
  ];
  const storedBytes = packs.reduce((sum, [, bytes]) => sum + bytes.length, 0);
  const type = facts.type ?? 'full';
  return encodeManifest({
    runId: facts.runId,
    job: facts.job,
    startedAt,
    finishedAt: startedAt,
    type,
    ...(type === 'full' ? {} : { baseRunId: facts.baseRunId! }),
    source: { engine: facts.engine ?? 'postgres', database: 'shop', serverVersion: '15.0' },
    dump: { tool: 'pg_dump', toolVersion: '15.0', format: 'custom', consistency: 'one snapshot' },
    compression: { id: facts.compression ?? 'zstd', level: 3, implementation: 'zstd (test)' },
    encryption: facts.recipient ? { format: 'age-v1', recipients: [{ type: 'x25519', recipient: facts.recipient }] } : { format: 'none', recipients: [] },
    plaintextBytes: storedBytes,
    objects,
    contents: [],
    vaultraVersion: '0.0.0-test',
    snapshot: {
      format: 'vaultra.chunked/v1',
      layout: facts.layout ?? 'single-stream',
      chunker: { algorithm: 'fastcdc', minBytes: 16384, avgBytes: 32768, maxBytes: 262144 },
      chunkIds: { algorithm: 'hmac-sha256', keyId: '0123456789abcdef' },
      streams: facts.streams ?? 1,
      chunks: facts.chunks ?? packs.length,
      newChunks: 0,
      newStoredBytes: 0,
      storedBytes,
      chunkCompression: 'zstd (test)',
    },
  }).text;
}

/**
 * Writes a committed chunked run of `job` into `storage`: its index, every pack it references that
 * is not stored yet (`packs` may name packs an earlier run wrote), then its manifest.
 */
export async function writeChunkedRun(storage: StorageBackend, job: string, packs: Record<string, Buffer>, when: Date, options: Partial<ChunkedManifestFacts> = {}): Promise<{ runId: string; manifestKey: string }> {
  const runId = newRunId(when);
  const index = options.index ?? Buffer.from(`index of ${runId}\n`);
  await storage.put(`${runFolder(job, runId)}/${INDEX_OBJECT_NAME}`, Readable.from([index]));
  const stored = new Set<string>();
  for await (const object of storage.list(`${sharedFolder(job)}/`)) stored.add(object.key);
  for (const [name, bytes] of Object.entries(packs)) {
    const key = `${sharedFolder(job)}/${name}`;
    if (!stored.has(key)) await storage.put(key, Readable.from([bytes]));
  }
  await storage.put(manifestKey(job, runId), Readable.from([Buffer.from(chunkedManifestText({ ...options, job, runId, packs, index }))]));
  return { runId, manifestKey: manifestKey(job, runId) };
}

/**
 * What a chunked backup of a directory needs, all real: the directory engine, zstd, age to
 * `recipient`, the signer, a local catalog in `catalogDir`, zstd chunks under a fixed dedup key.
 */
export async function chunkedDirectoryBackupDeps(options: {
  readonly storage: StorageBackend;
  readonly catalogDir: string;
  readonly recipient: string;
  readonly signing: TestSigning;
}): Promise<BackupDependencies> {
  return {
    engine: engineById('directory'),
    storage: options.storage,
    compressor: await createCompressor('zstd'),
    encryptor: new AgeEncryptor([{ kind: 'x25519', recipient: options.recipient }]),
    signer: options.signing.signer,
    catalog: new LocalCatalog(options.catalogDir),
    chunking: { codec: chunkCodecFor('zstd'), dedupKey: Buffer.alloc(32, 7), headerLength: ageHeaderLength, trust: options.signing.trust },
  };
}

import type { Duplex, Readable, Transform } from 'node:stream';
import type { Decryptor } from '../ports/encryptor.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { Manifest } from '../domain/manifest.js';
import { runFolder } from '../domain/object-layout.js';
import { createCompressor } from '../adapters/compression/compressors.js';
import { Sha256Verifier } from '../pipeline/byte-taps.js';
import { IntegrityError } from '../errors.js';

/**
 * The first stages of every restore and verify: read the data object, check its SHA-256 and
 * size against the manifest, decrypt (authenticating every chunk) and decompress, with the
 * algorithms the manifest names. The last stage yields the plaintext dump.
 */
export async function openBackupStages(
  storage: StorageBackend,
  manifest: Manifest,
  decryptor: Decryptor,
  options: { signal?: AbortSignal; onBytes?: (bytesRead: number) => void } = {},
): Promise<[Readable, Transform, Transform, Duplex]> {
  const objects = manifest.objects.filter((o) => o.role === 'data');
  const [data] = objects;
  if (!data || objects.length !== 1) throw new IntegrityError(`manifest of run ${manifest.runId} lists ${objects.length} data objects; this version reads exactly one`);
  const source = await storage.get(`${runFolder(manifest.job, manifest.runId)}/${data.name}`, { signal: options.signal });
  let decompress: Duplex;
  try {
    decompress = await (await createCompressor(manifest.compression.id)).decompress();
  } catch (error) {
    source.destroy();
    throw error;
  }
  return [source, new Sha256Verifier({ ...data }, options.onBytes), decryptor.decrypt(manifest.encryption.format), decompress];
}

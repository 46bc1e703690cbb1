import { Writable, type Duplex, type Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Decryptor } from '../ports/encryptor.js';
import type { StorageBackend } from '../ports/storage-backend.js';
import type { Manifest } from '../domain/manifest.js';
import { runFolder } from '../domain/object-layout.js';
import { createCompressor } from '../adapters/compression/compressors.js';
import { Sha256Verifier } from '../pipeline/byte-taps.js';
import { IntegrityError, KeyError } from '../errors.js';

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

/**
 * What a failed read of a backup really means. An identity fails to unwrap an altered header
 * stanza exactly as it fails to unwrap someone else's, so a `KeyError` can be damage in
 * disguise: before blaming the key, read the stored object once more against the manifest's
 * SHA-256 and size (only on this failure path), and report an `IntegrityError` if it was altered.
 */
export async function explainReadFailure(storage: StorageBackend, manifest: Manifest, error: unknown, signal?: AbortSignal): Promise<unknown> {
  if (!(error instanceof KeyError)) return error;
  const data = manifest.objects.find((o) => o.role === 'data');
  if (!data) return error;
  try {
    const source = await storage.get(`${runFolder(manifest.job, manifest.runId)}/${data.name}`, { signal });
    const discard = new Writable({ write: (_chunk, _encoding, callback) => callback() });
    await pipeline(source, new Sha256Verifier({ ...data }), discard, { signal });
  } catch (check) {
    if (check instanceof IntegrityError) return check;
  }
  return error;
}

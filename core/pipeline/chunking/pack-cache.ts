import { createHash } from 'node:crypto';
import type { ArtifactObject } from '../../domain/manifest.js';
import { IntegrityError, NotFoundError } from '../../errors.js';
import type { EncryptionFormat, RandomAccessDecryptor, RandomAccessFile, RecipientDescription } from '../../ports/encryptor.js';
import type { StorageBackend } from '../../ports/storage-backend.js';

/** A pack ready for ranged reads: its object key, what the manifest says of it, and its opened header. */
export interface OpenedPack {
  readonly name: string;
  readonly key: string;
  readonly object: ArtifactObject;
  readonly file: RandomAccessFile;
}

export interface PackCacheSource {
  /** Where the packs are. */
  readonly storage: StorageBackend;
  /** The object key of a pack: `objectKeyOf(manifestKey, { name, scope: 'shared' })`. */
  readonly packKey: (pack: string) => string;
  /** The manifest's pack objects by name: their stored size and, for age, the header digest. */
  readonly packs: ReadonlyMap<string, ArtifactObject>;
  readonly decryptor: RandomAccessDecryptor;
  /** The manifest's encryption: every pack must be encrypted to exactly these recipients. */
  readonly encryption: { readonly format: EncryptionFormat; readonly recipients: readonly RecipientDescription[] };
}

/** A header this large is not an age header (age's own reader stops at 64 KiB). */
const MAX_PROBE_BYTES = 1024 * 1024;

/**
 * Opens each pack once (its header fetched, checked against the digest the manifest pins, its file
 * key unwrapped) and keeps the most recently used `capacity` open. Concurrent reads of one pack
 * share one opening. Unwrapping may be a key-service call, so reopening a pack costs a request.
 */
export class PackCache {
  readonly #source: PackCacheSource;
  readonly #capacity: number;
  /** In order of use, least recent first (a Map iterates in insertion order). */
  readonly #opened = new Map<string, Promise<OpenedPack>>();

  constructor(source: PackCacheSource, capacity = 64) {
    this.#source = source;
    this.#capacity = capacity;
  }

  open(name: string, signal: AbortSignal): Promise<OpenedPack> {
    let opening = this.#opened.get(name);
    if (opening) {
      this.#opened.delete(name);
    } else {
      opening = this.#open(name, signal);
      // A failed opening is not kept: the read fails with it, and a later one may try afresh.
      opening.catch(() => {
        if (this.#opened.get(name) === opening) this.#opened.delete(name);
      });
    }
    this.#opened.set(name, opening);
    for (const oldest of this.#opened.keys()) {
      if (this.#opened.size <= this.#capacity) break;
      this.#opened.delete(oldest);
    }
    return opening;
  }

  async #open(name: string, signal: AbortSignal): Promise<OpenedPack> {
    const { storage, packKey, packs, decryptor, encryption } = this.#source;
    const object = packs.get(name);
    if (!object) throw new IntegrityError(`pack ${name} is not listed in the manifest: the index and the manifest disagree, so the snapshot cannot be restored`);
    const key = packKey(name);
    let probeBytes = Math.min(decryptor.headerProbeBytes, object.sizeBytes);
    for (;;) {
      const prefix = await readPack(storage, key, name, 0, probeBytes, signal);
      let file: RandomAccessFile;
      try {
        file = await decryptor.openFile(encryption.format, prefix, encryption.recipients, signal);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        if (probeBytes >= object.sizeBytes || probeBytes >= MAX_PROBE_BYTES) throw new IntegrityError(`pack ${name}: its header does not end within its first ${probeBytes} bytes: the pack is damaged`, { cause: error });
        probeBytes = Math.min(object.sizeBytes, probeBytes * 4);
        continue;
      }
      checkHeaderDigest(name, object, file, encryption.format);
      return { name, key, object, file };
    }
  }
}

/** `[start, end)` of a pack; a missing pack is a snapshot that cannot be restored, said so. */
export async function readPack(storage: StorageBackend, key: string, name: string, start: number, end: number, signal: AbortSignal): Promise<Buffer> {
  try {
    return await storage.readRange(key, start, end, { signal });
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError(`pack ${name} is missing from ${storage.location}: the snapshot cannot be restored (it was deleted outside Vaultra's retention, or copied incompletely)`, { cause: error });
    throw error;
  }
}

/** An age pack's header must be the one the signed manifest pins: a pack re-encrypted to the same public recipients has another. */
function checkHeaderDigest(name: string, object: ArtifactObject, file: RandomAccessFile, format: EncryptionFormat): void {
  if (format === 'none') return;
  const digest = createHash('sha256').update(file.header).digest('hex');
  if (object.headerSha256 !== digest) throw new IntegrityError(`pack ${name}: its header is not the one the manifest pins (re-encrypted or replaced)`);
}

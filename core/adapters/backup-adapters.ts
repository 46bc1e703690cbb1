import type { BackupAdapters } from '../ports/backup-adapters.js';
import { chunkCodecFor } from './compression/chunk-codecs.js';
import { createCompressor } from './compression/compressors.js';
import { engineById, engineIdForUrl } from './engines/engines.js';

/** The real registries, for restore and verify (`BackupAdapters`). */
export const backupAdapters: BackupAdapters = {
  engineById: (id) => engineById(id),
  engineIdForUrl,
  decompressor: async (id) => (await createCompressor(id)).decompress(),
  directDecompressor: async (id, into) => (await createCompressor(id)).decompressInto?.(into),
  chunkCodec: (id, level) => chunkCodecFor(id, level),
};

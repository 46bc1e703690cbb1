import type { Duplex, Writable } from 'node:stream';
import type { ChunkCodec, CompressionId, DirectDecompression } from './compressor.js';
import type { DatabaseEngine, EngineId } from './database-engine.js';

/**
 * The adapters reading a backup needs that its manifest names by id (which engine made it, which
 * compression): restore and verify receive them, so use cases import no adapter registry. The
 * runner wires the real registries (core/adapters/backup-adapters.ts).
 */
export interface BackupAdapters {
  /** The engine with this id (a manifest's `source.engine`). */
  readonly engineById: (id: EngineId) => DatabaseEngine;
  /** The engine a target URL is for; throws `ConfigError` for a scheme no engine takes. */
  readonly engineIdForUrl: (url: string) => EngineId;
  /** A fresh decompressing stage for a manifest's compression id. */
  readonly decompressor: (id: CompressionId) => Promise<Duplex>;
  /** A decompressing process writing straight into `into` (a restore tool's stdin), when the compression has one. */
  readonly directDecompressor?: (id: CompressionId, into: Writable) => Promise<DirectDecompression | undefined>;
  /** A chunk codec for a chunked snapshot's compression id (`level`: the codec's default when absent); throws `ConfigError` for a level out of range. */
  readonly chunkCodec: (id: CompressionId, level?: number) => ChunkCodec;
}

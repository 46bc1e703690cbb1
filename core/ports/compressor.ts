import type { Duplex } from 'node:stream';

/** Saved in manifests: never rename a value, only add. */
export type CompressionId = 'zstd' | 'gzip' | 'none';

export interface Compressor {
  readonly id: CompressionId;
  readonly level: number;
  /** How the bytes are produced, for the manifest: e.g. `zstd 1.5.4 (cli, -T0)`. */
  readonly implementation: string;
  /**
   * A fresh compressing stage (async: a process may have to start first). It ends only once everything written has been compressed and,
   * for a child-process implementation, the process exited 0; otherwise it errors.
   * Destroying it releases everything it holds (kills its process).
   */
  compress(): Promise<Duplex>;
  /** A fresh decompressing stage, with the same guarantees as `compress`. */
  decompress(): Promise<Duplex>;
}

import type { Duplex, Readable, Writable } from 'node:stream';

/** Saved in manifests: never rename a value, only add. */
export type CompressionId = 'zstd' | 'gzip' | 'none';

/** One compression in progress: plaintext goes into `input`, compressed bytes come out of `output`. */
export interface Compression {
  /**
   * Where plaintext is written. Ending it ends the plaintext; destroying it with an error
   * (a failed producer) fails `output` with that error.
   */
  readonly input: Writable;
  /**
   * The compressed bytes. Ends only once all plaintext was compressed and the compressor
   * finished (a process: exited 0). Destroying it releases the compressor.
   */
  readonly output: Readable;
  /** Bytes of plaintext so far: exact once `output` ended, possibly an estimate before — or 0 where nothing can tell (a tool writing into a process's pipe, without Linux's /proc). */
  plaintextBytes(): number;
  /** Present when the compressor is a process that a producing tool can feed directly. */
  readonly direct?: DirectInput;
}

/**
 * The compressor process's stdin pipe, for a producing tool to take as its own stdout: the
 * plaintext then goes from tool to tool through the kernel, never through this process, which
 * is what keeps a backup at the pace of `pg_dump | zstd`. Use either this or `input`.
 */
export interface DirectInput {
  readonly pipe: Writable;
  /**
   * How the producer ended (resolves with undefined when it exited 0). The compressor ends
   * cleanly on a truncated input, so `output` waits for this, and fails with the producer's
   * error first, since it is the cause. Call exactly once, after handing `pipe` to the tool.
   */
  producerDone(verdict: Promise<Error | undefined>, producerPid?: number): void;
}

export interface Compressor {
  readonly id: CompressionId;
  readonly level: number;
  /** How the bytes are produced, for the manifest: e.g. `zstd 1.5.4 (cli, -T0)`. */
  readonly implementation: string;
  /** Starts a compression (async: a process may have to start first). */
  open(): Promise<Compression>;
  /** A fresh decompressing stage (async: a process may have to start first). */
  decompress(): Promise<Duplex>;
  /**
   * Present when the decompressor is a process that can write straight into a consuming tool's
   * stdin (`into`, see `RestoreSink.direct`): the plaintext then goes from tool to tool through
   * the kernel, the way `zstd -d | tar -x` runs, never through this process.
   */
  decompressInto?(into: Writable): Promise<DirectDecompression>;
}

/** A decompressing process writing into another process's stdin. */
export interface DirectDecompression {
  /**
   * Where the compressed bytes go. Finishes once the process exited 0; fails when it failed
   * (destroying it kills the process).
   */
  readonly input: Writable;
  /** The plaintext bytes the process wrote, as it reports them at its exit 0; rejects when it failed. */
  readonly plaintextBytes: Promise<number>;
}

/**
 * Compresses one chunk of a chunked snapshot on its own (docs/chunked-snapshots.md): a zstd frame,
 * a gzip member, or the bytes as they are. In-process and synchronous: chunks are tens of KiB,
 * and a process or a thread hop per chunk would cost more than the compression.
 */
export interface ChunkCodec {
  readonly id: CompressionId;
  readonly level: number;
  /** How the bytes are produced, for the manifest: e.g. `zstd 1.5.6 (zstd-napi)`. */
  readonly implementation: string;
  compress(raw: Buffer): Buffer;
  /** The chunk's bytes; throws `IntegrityError` when `stored` is not one valid frame that decompresses to exactly `rawLength` bytes. */
  decompress(stored: Buffer, rawLength: number): Buffer;
}

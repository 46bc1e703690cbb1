import { gunzipSync, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { ConfigError, IntegrityError } from '../../errors.js';
import type { ChunkCodec, CompressionId } from '../../ports/compressor.js';

/**
 * The chunk codecs of chunked snapshots (docs/chunked-snapshots.md): each chunk compressed on its
 * own, in process, synchronously. Decompression trusts nothing in the stored bytes: it allocates
 * the length the index promises, never what a frame claims, and refuses any other outcome.
 */

/**
 * The native binding, loaded when the first zstd chunk codec is made: only chunked snapshots use
 * it, and opening it at start-up (a shared library, ~1.6 MB resident, ~7 ms) cost every plain
 * backup and restore.
 */
let binding: typeof ZstdBinding | undefined;
function zstdBinding(): typeof ZstdBinding {
  return (binding ??= createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding);
}

export const DEFAULT_CHUNK_LEVELS: Readonly<Record<CompressionId, number>> = { zstd: 3, gzip: 6, none: 0 };

/** The codec for a manifest's compression id; throws `ConfigError` for a level out of range. */
export function chunkCodecFor(id: CompressionId, level: number = DEFAULT_CHUNK_LEVELS[id]): ChunkCodec {
  switch (id) {
    case 'zstd':
      return new ZstdChunkCodec(level);
    case 'gzip':
      return new GzipChunkCodec(level);
    case 'none':
      if (level !== 0) throw new ConfigError(`compression level ${level} is out of range for none (0)`);
      return new NoneChunkCodec();
    default:
      throw new ConfigError(`unsupported chunk compression "${String(id)}": this version of Vaultra reads zstd, gzip and none`);
  }
}

function checkLevel(id: CompressionId, level: number, min: number, max: number): void {
  if (!Number.isInteger(level) || level < min || level > max) throw new ConfigError(`compression level ${level} is out of range for ${id} (${min}-${max})`);
}

function damaged(id: CompressionId, problem: string): IntegrityError {
  return new IntegrityError(`a ${id} chunk ${problem}: the pack was altered or the index does not match it`);
}

/**
 * One zstd frame per chunk, with its content size (which the decompressor checks first) and
 * zstd's own checksum (4 bytes, so a bug or a damaged frame past age's authentication is caught).
 * One compression and one decompression context per codec, reused: creating them per chunk
 * would cost more than compressing 32 KiB.
 */
export class ZstdChunkCodec implements ChunkCodec {
  readonly id = 'zstd' as const;
  private readonly zstd = zstdBinding();
  readonly implementation = `zstd ${this.zstd.versionString()} (zstd-napi)`;
  private readonly compressor = new this.zstd.CCtx();
  private readonly decompressor = new this.zstd.DCtx();
  /** Compressed output lands here first; a chunk then gets an exact-size copy. */
  private scratch = Buffer.alloc(0);

  constructor(readonly level: number) {
    checkLevel('zstd', level, 1, 19);
    this.compressor.setParameter(this.zstd.CParameter.compressionLevel, level);
    this.compressor.setParameter(this.zstd.CParameter.checksumFlag, 1);
  }

  compress(raw: Buffer): Buffer {
    const bound = this.zstd.compressBound(raw.length);
    if (this.scratch.length < bound) this.scratch = Buffer.allocUnsafe(Math.max(bound, 64 * 1024));
    const length = this.compressor.compress2(this.scratch, raw);
    return Buffer.from(this.scratch.subarray(0, length));
  }

  decompress(stored: Buffer, rawLength: number): Buffer {
    let contentSize: number | null;
    let frameLength: number;
    try {
      contentSize = this.zstd.getFrameContentSize(stored);
      frameLength = this.zstd.findFrameCompressedSize(stored);
    } catch {
      throw damaged('zstd', 'is not a zstd frame');
    }
    if (frameLength !== stored.length) throw damaged('zstd', `is ${stored.length} bytes, but its frame is ${frameLength}`);
    if (contentSize !== rawLength) throw damaged('zstd', `holds ${contentSize ?? 'an unknown number of'} bytes, the index says ${rawLength}`);
    const raw = Buffer.allocUnsafe(rawLength);
    let length: number;
    try {
      length = this.decompressor.decompress(raw, stored);
    } catch {
      throw damaged('zstd', 'fails to decompress (bad data or checksum)');
    }
    if (length !== rawLength) throw damaged('zstd', `decompressed to ${length} bytes, the index says ${rawLength}`);
    return raw;
  }
}

/** One gzip member per chunk (node:zlib). Its CRC-32 and length trailer are checked by zlib. */
export class GzipChunkCodec implements ChunkCodec {
  readonly id = 'gzip' as const;
  readonly implementation = `zlib ${process.versions.zlib} (node:zlib)`;

  constructor(readonly level: number) {
    checkLevel('gzip', level, 1, 9);
  }

  compress(raw: Buffer): Buffer {
    return gzipSync(raw, { level: this.level });
  }

  decompress(stored: Buffer, rawLength: number): Buffer {
    let raw: Buffer;
    try {
      // One byte more than promised is enough to tell "longer" apart, and bounds the allocation.
      raw = gunzipSync(stored, { maxOutputLength: rawLength + 1 });
    } catch {
      throw damaged('gzip', 'fails to decompress (bad data, checksum, or longer than the index says)');
    }
    if (raw.length !== rawLength) throw damaged('gzip', `decompressed to ${raw.length} bytes, the index says ${rawLength}`);
    return raw;
  }
}

/** The bytes as they are: no copy either way. */
export class NoneChunkCodec implements ChunkCodec {
  readonly id = 'none' as const;
  readonly level = 0;
  readonly implementation = 'none';

  compress(raw: Buffer): Buffer {
    return raw;
  }

  decompress(stored: Buffer, rawLength: number): Buffer {
    if (stored.length !== rawLength) throw damaged('none', `is ${stored.length} bytes, the index says ${rawLength}`);
    return stored;
  }
}

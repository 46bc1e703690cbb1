import type { Compressor, CompressionId } from '../../ports/compressor.js';
import { ConfigError, ToolMissingError } from '../../errors.js';
import { toolVersion } from '../process/child-process.js';
import { PigzCompressor, ZlibGzipCompressor } from './gzip-compressor.js';
import { NoneCompressor } from './none-compressor.js';
import { ZstdCliCompressor } from './zstd-cli-compressor.js';

export const DEFAULT_LEVELS: Record<CompressionId, number> = { zstd: 3, gzip: 6, none: 0 };
const LEVEL_RANGES: Record<CompressionId, [number, number]> = { zstd: [1, 19], gzip: [1, 9], none: [0, 0] };

/**
 * The compressor for an id, picking the implementation that measured fastest on this machine's
 * tools (see docs/architecture.md). Used for backups (id and level from flags) and restores
 * (id from the manifest: any gzip implementation reads any gzip stream, and the same for zstd).
 */
export async function createCompressor(id: CompressionId, level = DEFAULT_LEVELS[id]): Promise<Compressor> {
  const [min, max] = LEVEL_RANGES[id];
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new ConfigError(`compression level ${level} is out of range for ${id} (${min}-${max})`);
  }
  switch (id) {
    case 'zstd': {
      const version = await zstdVersion();
      if (!version) throw new ToolMissingError('zstd', 'install zstd (Debian/Ubuntu: apt-get install zstd), or choose --compression gzip');
      return new ZstdCliCompressor(level, version);
    }
    case 'gzip': {
      const pigz = await toolVersion('pigz');
      return pigz ? new PigzCompressor(level, pigz) : new ZlibGzipCompressor(level);
    }
    case 'none':
      return new NoneCompressor();
  }
}

/** `v1.5.4` from zstd's banner, or undefined when zstd is missing. */
export async function zstdVersion(): Promise<string | undefined> {
  const banner = await toolVersion('zstd', ['--version']);
  return banner ? (/v(\d+\.\d+\.\d+)/.exec(banner)?.[1] ?? banner) : undefined;
}

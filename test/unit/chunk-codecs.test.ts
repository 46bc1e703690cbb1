import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { chunkCodecFor } from '../../core/adapters/compression/chunk-codecs.js';
import { backupAdapters } from '../../core/adapters/backup-adapters.js';
import { ConfigError, IntegrityError } from '../../core/errors.js';
import { dumpText } from '../support/dump-text.js';

const chunk = dumpText(40 * 1024, 21);

describe.each(['zstd', 'gzip', 'none'] as const)('%s chunk codec', (id) => {
  const codec = chunkCodecFor(id);

  it('round-trips text, random bytes and an empty chunk', () => {
    for (const raw of [chunk, randomBytes(70_000), Buffer.alloc(0)]) {
      const stored = codec.compress(raw);
      expect(codec.decompress(stored, raw.length).equals(raw)).toBe(true);
    }
  });

  it('refuses a chunk the index gives another length', () => {
    const stored = codec.compress(chunk);
    expect(() => codec.decompress(stored, chunk.length - 1)).toThrow(IntegrityError);
    expect(() => codec.decompress(stored, chunk.length + 1)).toThrow(IntegrityError);
  });

  it.skipIf(id === 'none')('compresses dump text, and refuses a damaged or truncated frame', () => {
    const stored = codec.compress(chunk);
    expect(stored.length).toBeLessThan(chunk.length / 2);
    const flipped = Buffer.from(stored);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x40;
    expect(() => codec.decompress(flipped, chunk.length)).toThrow(IntegrityError);
    expect(() => codec.decompress(stored.subarray(0, stored.length - 3), chunk.length)).toThrow(IntegrityError);
    expect(() => codec.decompress(Buffer.concat([stored, stored]), chunk.length)).toThrow(IntegrityError);
    expect(() => codec.decompress(Buffer.from('not a frame at all'), chunk.length)).toThrow(IntegrityError);
  });
});

describe('chunkCodecFor', () => {
  it('defaults to zstd 3 and gzip 6, and names the library', () => {
    expect(chunkCodecFor('zstd').level).toBe(3);
    expect(chunkCodecFor('gzip').level).toBe(6);
    expect(chunkCodecFor('zstd').implementation).toMatch(/^zstd 1\.5\.\d+ \(zstd-napi\)$/);
    expect(chunkCodecFor('gzip', 9).level).toBe(9);
  });

  it('refuses levels out of range with ConfigError', () => {
    expect(() => chunkCodecFor('zstd', 0)).toThrow(ConfigError);
    expect(() => chunkCodecFor('zstd', 23)).toThrow(ConfigError);
    expect(() => chunkCodecFor('gzip', 10)).toThrow(ConfigError);
    expect(() => chunkCodecFor('none', 3)).toThrow(ConfigError);
  });

  it('checks the frame against the index before allocating: an index claiming 4 GiB for a 100-byte frame is refused at once', () => {
    const zstd = chunkCodecFor('zstd');
    const big = zstd.compress(Buffer.alloc(100));
    expect(() => zstd.decompress(big, 4 * 1024 ** 3)).toThrow(IntegrityError);
  });

  it('is what the real BackupAdapters hand out', () => {
    expect(backupAdapters.chunkCodec('zstd', 5).level).toBe(5);
  });
});

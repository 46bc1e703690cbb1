import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execFileSync } from 'node:child_process';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { ConfigError, IntegrityError } from '../../core/errors.js';
import type { CompressionId } from '../../core/ports/compressor.js';

function sample(): Buffer {
  // Compressible, but not trivially: repeated words with random numbers.
  const parts: string[] = [];
  for (let i = 0; i < 40_000; i++) parts.push(`row ${i} ${randomBytes(3).toString('hex')} customer shipped\n`);
  return Buffer.from(parts.join(''));
}

async function through(input: Buffer, stages: NodeJS.ReadWriteStream[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (c: Buffer) => chunks.push(c));
  await pipeline(Readable.from([input.subarray(0, 1000), input.subarray(1000)]), ...(stages as [NodeJS.ReadWriteStream]), sink);
  return Buffer.concat(chunks);
}

describe.each<CompressionId>(['zstd', 'gzip', 'none'])('%s compressor', (id) => {
  it('round trips and says which implementation it is', async () => {
    const compressor = await createCompressor(id);
    const input = sample();
    const compressed = await through(input, [await compressor.compress()]);
    if (id !== 'none') expect(compressed.length).toBeLessThan(input.length / 2);
    expect((await through(compressed, [await compressor.decompress()])).equals(input)).toBe(true);
    expect(compressor.implementation).toMatch(id === 'zstd' ? /^zstd \d+\.\d+\.\d+ \(cli, -T0\)$/ : id === 'gzip' ? /pigz|zlib/ : /^none$/);
  });
});

describe('compressed output is the standard format', () => {
  it('zstd -d reads what the zstd compressor wrote', async () => {
    const input = sample();
    const compressed = await through(input, [await (await createCompressor('zstd', 5)).compress()]);
    expect(execFileSync('zstd', ['-d', '-c'], { input: compressed, maxBuffer: 64 << 20 }).equals(input)).toBe(true);
  });

  it('gzip -d reads what the gzip compressor wrote', async () => {
    const input = sample();
    const compressed = await through(input, [await (await createCompressor('gzip', 1)).compress()]);
    expect(execFileSync('gzip', ['-d', '-c'], { input: compressed, maxBuffer: 64 << 20 }).equals(input)).toBe(true);
  });
});

describe('damaged input', () => {
  it('zstd decompression of garbage is an IntegrityError', async () => {
    const decompress = await (await createCompressor('zstd')).decompress();
    await expect(through(randomBytes(10_000), [decompress])).rejects.toBeInstanceOf(IntegrityError);
  });

  it('levels out of range are refused with the range', async () => {
    await expect(createCompressor('zstd', 42)).rejects.toThrow(ConfigError);
    await expect(createCompressor('gzip', 0)).rejects.toThrow(/1-9/);
  });
});

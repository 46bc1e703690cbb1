import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execFileSync } from 'node:child_process';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { ConfigError, IntegrityError } from '../../core/errors.js';
import type { CompressionId, Compressor } from '../../core/ports/compressor.js';
import { spawnTool, toolOutput } from '../../core/adapters/process/child-process.js';
import { DumpFailedError } from '../../core/errors.js';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function sample(): Buffer {
  // Compressible, but not trivially: repeated words with random numbers.
  const parts: string[] = [];
  for (let i = 0; i < 40_000; i++) parts.push(`row ${i} ${randomBytes(3).toString('hex')} customer shipped\n`);
  return Buffer.from(parts.join(''));
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function compressAll(compressor: Compressor, input: Buffer): Promise<{ output: Buffer; plaintextBytes: number }> {
  const compression = await compressor.open();
  const [output] = await Promise.all([readAll(compression.output), pipeline(Readable.from([input.subarray(0, 1000), input.subarray(1000)]), compression.input)]);
  return { output, plaintextBytes: compression.plaintextBytes() };
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
    const { output: compressed, plaintextBytes } = await compressAll(compressor, input);
    expect(plaintextBytes).toBe(input.length);
    if (id !== 'none') expect(compressed.length).toBeLessThan(input.length / 2);
    expect((await through(compressed, [await compressor.decompress()])).equals(input)).toBe(true);
    expect(compressor.implementation).toMatch(id === 'zstd' ? /^zstd \d+\.\d+\.\d+ \(cli, -T0\)$/ : id === 'gzip' ? /pigz|zlib/ : /^none$/);
  });
});

describe('compressed output is the standard format', () => {
  it('zstd -d reads what the zstd compressor wrote', async () => {
    const input = sample();
    const { output: compressed } = await compressAll(await createCompressor('zstd', 5), input);
    expect(execFileSync('zstd', ['-d', '-c'], { input: compressed, maxBuffer: 64 << 20 }).equals(input)).toBe(true);
  });

  it('gzip -d reads what the gzip compressor wrote', async () => {
    const input = sample();
    const { output: compressed } = await compressAll(await createCompressor('gzip', 1), input);
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

describe('zstd fed directly by a tool (the plaintext never enters Node)', () => {
  const dumpFailed = (exit: { code: number | null; signal: string | null }) => new DumpFailedError(`dump died (${exit.signal ?? exit.code})`, '');

  async function direct(command: string, args: string[]) {
    const compression = await (await createCompressor('zstd')).open();
    const tool = await spawnTool(command, args, { stdout: compression.direct!.pipe });
    const verdict = new Promise<Error | undefined>((resolve) => toolOutput(tool, dumpFailed).once('end', () => resolve(undefined)).once('error', resolve).resume());
    compression.direct!.producerDone(verdict, tool.child.pid);
    return { compression, tool };
  }

  it('compresses what the tool wrote and counts it exactly', async () => {
    const input = sample();
    const file = join(mkdtempSync(join(tmpdir(), 'vaultra-zstd-')), 'input');
    writeFileSync(file, input);
    const { compression } = await direct('cat', [file]);
    const output = await readAll(compression.output);
    expect(compression.plaintextBytes()).toBe(input.length);
    expect(execFileSync('zstd', ['-d', '-c'], { input: output, maxBuffer: 64 << 20 }).equals(input)).toBe(true);
  });

  it('fails with the tool\'s own error when the tool dies, although zstd ends cleanly', async () => {
    const { compression } = await direct('sh', ['-c', 'head -c 300000 /dev/urandom; kill -9 $$']);
    await expect(readAll(compression.output)).rejects.toThrow(/dump died \(SIGKILL\)/);
  });

  it('destroying the output stops the compressor', async () => {
    const { compression, tool } = await direct('sh', ['-c', 'exec cat /dev/zero']);
    await new Promise((resolve) => compression.output.once('data', resolve));
    compression.output.destroy();
    // zstd is gone, so the producer's next write fails (SIGPIPE).
    const exit = await tool.exited;
    expect(exit.signal ?? exit.code).toBeTruthy();
  });
});

import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { fanOut } from '../../core/pipeline/fan-out.js';

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('fanOut', () => {
  it('every branch gets every byte, even one whose reader starts after the input finished', async () => {
    const data = randomBytes(300 * 1024);
    const { input, branches } = fanOut(2);
    const first = readAll(branches[0]!);
    // The second destination is slow to start (say, it creates its folder first): by the time it
    // reads, the input has finished and been auto-destroyed. Its bytes must still be there.
    await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), input);
    await tick();
    expect(input.destroyed).toBe(true);
    expect((await first).equals(data)).toBe(true);
    expect((await readAll(branches[1]!)).equals(data)).toBe(true);
  });

  it('an upstream failure reaches every branch', async () => {
    const { input, branches } = fanOut(2);
    const reads = branches.map((branch) => readAll(branch));
    const failing = Readable.from(
      (async function* () {
        yield Buffer.alloc(1024);
        throw new Error('upstream broke');
      })(),
    );
    await expect(pipeline(failing, input)).rejects.toThrow(/upstream broke/);
    for (const read of reads) await expect(read).rejects.toThrow(/upstream broke/);
  });

  it('a branch whose reader gave up fails the fan-out instead of stalling it', async () => {
    const { input, branches } = fanOut(2);
    const healthy = readAll(branches[0]!).catch(() => undefined);
    branches[1]!.destroy(new Error('destination gave up'));
    const many = Readable.from((function* () { for (let i = 0; i < 64; i++) yield Buffer.alloc(64 * 1024); })());
    await expect(pipeline(many, input)).rejects.toThrow(/stopped reading|destination gave up/);
    await healthy;
  });
});

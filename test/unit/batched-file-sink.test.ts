import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { batchedFileSink } from '../../core/adapters/storage/batched-file-sink.js';

const folders: string[] = [];
const freshFile = async () => {
  const folder = await mkdtemp(join(tmpdir(), 'vaultra-batched-sink-'));
  folders.push(folder);
  return join(folder, 'object');
};
afterEach(async () => {
  await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

/** Chunks of uneven sizes (empty ones included) around and across the 1 MiB batch boundary. */
function unevenChunks(): Buffer[] {
  const sizes = [0, 1, 65_552, 65_552, 300_000, 7, 0, 1_048_576, 2_000_001, 65_536, 3];
  return sizes.map((size, i) => Buffer.alloc(size, i + 1));
}

describe('batchedFileSink', () => {
  it('writes every byte in order, whatever the chunk sizes, and closes the file', async () => {
    // Prepare
    const path = await freshFile();
    const file = await open(path, 'wx', 0o600);
    const chunks = unevenChunks();
    const expected = createHash('sha256').update(Buffer.concat(chunks)).digest('hex');

    // Act
    await pipeline(Readable.from(chunks), batchedFileSink(file));

    // Assess
    const written = await readFile(path);
    expect(written.length).toBe(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    expect(createHash('sha256').update(written).digest('hex')).toBe(expected);
    expect(file.fd).toBe(-1);
  });

  it('an empty stream leaves an empty file', async () => {
    const path = await freshFile();
    const file = await open(path, 'wx', 0o600);
    await pipeline(Readable.from([]), batchedFileSink(file));
    expect((await readFile(path)).length).toBe(0);
    expect(file.fd).toBe(-1);
  });

  it('a failing upstream fails the pipeline with its error and still closes the file', async () => {
    // Prepare
    const path = await freshFile();
    const file = await open(path, 'wx', 0o600);
    const failing = Readable.from(
      (function* () {
        yield Buffer.alloc(2 * 1024 * 1024, 1);
        throw new Error('the dump died');
      })(),
    );

    const sink = batchedFileSink(file);

    // Act
    const piped = pipeline(failing, sink);

    // Assess: the pipeline settles at the error; the file is closed as the sink is torn down.
    await expect(piped).rejects.toThrow('the dump died');
    if (!sink.closed) await new Promise((resolve) => sink.once('close', resolve));
    expect(file.fd).toBe(-1);
  });
});

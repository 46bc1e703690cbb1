/**
 * Random-access age reads (age-random-access.ts) against files the real encrypting stage and the
 * `age` CLI wrote: every range of plaintext a chunk reader may ask for decrypts to the same bytes
 * as the whole file, from just the segments holding it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { AgeRandomAccessDecryptor, ageHeaderLength } from '../../core/adapters/encryption/age-random-access.js';
import type { AgeRecipient } from '../../core/adapters/encryption/age/age-stream.js';
import { formatIdentityFile, generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { IntegrityError, KeyError } from '../../core/errors.js';
import type { RandomAccessFile } from '../../core/ports/encryptor.js';
import { runOk } from '../support/exec.js';
import { requireTools } from '../support/requirements.js';

const KiB = 1024;
const SEGMENT = 64 * KiB;
const key = generateX25519Identity();
const other = generateX25519Identity();
const decryptor = new AgeRandomAccessDecryptor([{ kind: 'x25519', identity: key.identity }]);

async function encrypt(plaintext: Buffer, recipients: AgeRecipient[] = [{ kind: 'x25519', recipient: key.recipient }]): Promise<Buffer> {
  return buffer(Readable.from([plaintext]).pipe(new AgeEncryptor(recipients).encrypt()));
}

/** Reads plaintext `[from, to)` the way a chunk reader does: the stored range, then its segments. */
function readRange(opened: RandomAccessFile, file: Buffer, from: number, to: number): Buffer {
  const range = opened.cipherRange(from, to, file.length);
  const plaintext = opened.decryptRange(range, file.subarray(range.start, range.end), file.length);
  return plaintext.subarray(from - range.plaintextStart, to - range.plaintextStart);
}

/** A deterministic sequence of ranges (no randomness the test cannot replay). */
function rangesOf(size: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = [
    [0, size],
    [0, Math.min(1, size)],
    [Math.max(0, size - 1), size],
    [size, size],
  ];
  let seed = size + 17;
  const next = (bound: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), bound === 0 ? 0 : seed % (bound + 1));
  for (let i = 0; i < 40; i++) {
    const from = next(size);
    ranges.push([from, from + next(Math.min(size - from, 3 * SEGMENT))]);
  }
  for (const boundary of [SEGMENT - 1, SEGMENT, SEGMENT + 1, 2 * SEGMENT]) if (boundary <= size) ranges.push([Math.max(0, boundary - 5), Math.min(size, boundary + 5)]);
  return ranges;
}

describe('AgeRandomAccessDecryptor', () => {
  for (const size of [0, 1, SEGMENT, SEGMENT + 1, 1_000_000 + 7]) {
    it(`reads any range of a ${size}-byte plaintext`, async () => {
      // Prepare
      const plaintext = randomBytes(size);
      const file = await encrypt(plaintext);
      // Act
      const opened = await decryptor.openFile('age-v1', file.subarray(0, decryptor.headerProbeBytes), [{ type: 'x25519', recipient: key.recipient }]);
      // Assess
      expect(opened.header.length).toBe(ageHeaderLength(file));
      for (const [from, to] of rangesOf(size)) expect(readRange(opened, file, from, to).equals(plaintext.subarray(from, to)), `range ${from}-${to}`).toBe(true);
    });
  }

  it('fetches only the segments holding the range', async () => {
    const file = await encrypt(randomBytes(5 * SEGMENT + 100));
    const opened = await decryptor.openFile('age-v1', file.subarray(0, 4096));
    const payloadStart = opened.header.length + 16;
    expect(opened.cipherRange(SEGMENT + 10, 2 * SEGMENT + 1, file.length)).toEqual({ start: payloadStart + (SEGMENT + 16), end: payloadStart + 3 * (SEGMENT + 16), plaintextStart: SEGMENT });
    // The last segment is short: the range ends with the file.
    expect(opened.cipherRange(5 * SEGMENT, 5 * SEGMENT + 100, file.length)).toEqual({ start: payloadStart + 5 * (SEGMENT + 16), end: file.length, plaintextStart: 5 * SEGMENT });
  });

  it('opens a passphrase-encrypted file', async () => {
    const plaintext = randomBytes(3 * SEGMENT + 5);
    // Work factor 10: the lowest that still exercises scrypt, so the test stays fast.
    const file = await encrypt(plaintext, [{ kind: 'scrypt', passphrase: 'correct horse battery staple', workFactor: 10 }]);
    const opened = await new AgeRandomAccessDecryptor([{ kind: 'scrypt', passphrase: 'correct horse battery staple' }]).openFile('age-v1', file.subarray(0, 4096), [{ type: 'scrypt', workFactor: 10 }]);
    expect(readRange(opened, file, SEGMENT - 3, 3 * SEGMENT + 5).equals(plaintext.subarray(SEGMENT - 3))).toBe(true);
  });

  it('refuses a segment with one byte changed', async () => {
    const file = await encrypt(randomBytes(3 * SEGMENT));
    const opened = await decryptor.openFile('age-v1', file.subarray(0, 4096));
    const tampered = Buffer.from(file);
    tampered[opened.header.length + 16 + (SEGMENT + 16) + 100]! ^= 1;
    expect(() => readRange(opened, tampered, SEGMENT, SEGMENT + 10)).toThrow(IntegrityError);
    // The untouched segments still read.
    expect(() => readRange(opened, tampered, 0, 10)).not.toThrow();
  });

  it('refuses a truncated file: its last whole segment is not sealed as the last', async () => {
    const file = await encrypt(randomBytes(3 * SEGMENT + 10));
    const opened = await decryptor.openFile('age-v1', file.subarray(0, 4096));
    const truncated = file.subarray(0, opened.header.length + 16 + 2 * (SEGMENT + 16));
    expect(() => readRange(opened, truncated, SEGMENT, SEGMENT + 10)).toThrow(IntegrityError);
  });

  it('refuses a range past the end of the plaintext', async () => {
    const file = await encrypt(randomBytes(100));
    const opened = await decryptor.openFile('age-v1', file.subarray(0, 4096));
    expect(() => opened.cipherRange(50, 101, file.length)).toThrow(IntegrityError);
  });

  it('fails with KeyError when no identity opens the file', async () => {
    const file = await encrypt(randomBytes(10));
    const stranger = new AgeRandomAccessDecryptor([{ kind: 'x25519', identity: other.identity }]);
    await expect(stranger.openFile('age-v1', file.subarray(0, 4096))).rejects.toBeInstanceOf(KeyError);
  });

  it('fails with IntegrityError when the file is not encrypted to the recipients the manifest lists', async () => {
    const file = await encrypt(randomBytes(10));
    await expect(decryptor.openFile('age-v1', file.subarray(0, 4096), [{ type: 'x25519', recipient: key.recipient }, { type: 'x25519', recipient: other.recipient }])).rejects.toBeInstanceOf(IntegrityError);
  });

  it('asks for more bytes (RangeError) when the prefix ends inside the header or before the payload nonce', async () => {
    const file = await encrypt(randomBytes(10));
    const headerBytes = ageHeaderLength(file)!;
    expect(ageHeaderLength(file.subarray(0, headerBytes - 1))).toBeUndefined();
    await expect(decryptor.openFile('age-v1', file.subarray(0, headerBytes - 1))).rejects.toBeInstanceOf(RangeError);
    await expect(decryptor.openFile('age-v1', file.subarray(0, headerBytes + 15))).rejects.toBeInstanceOf(RangeError);
    await expect(decryptor.openFile('age-v1', file.subarray(0, headerBytes + 16))).resolves.toBeDefined();
  });

  it('refuses a file that is not age', async () => {
    await expect(decryptor.openFile('age-v1', Buffer.from('PK\x03\x04 not age at all'))).rejects.toBeInstanceOf(IntegrityError);
  });

  it('reads format none as its own plaintext, and refuses an age file read as none', async () => {
    const plaintext = randomBytes(1000);
    const opened = await decryptor.openFile('none', plaintext.subarray(0, 4096));
    expect(opened.header.length).toBe(0);
    expect(readRange(opened, plaintext, 10, 900).equals(plaintext.subarray(10, 900))).toBe(true);
    const file = await encrypt(plaintext);
    await expect(decryptor.openFile('none', file.subarray(0, 4096))).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe('AgeRandomAccessDecryptor and the age CLI', () => {
  const tools = requireTools('age');
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-age-ra-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(!tools)('reads ranges of a file `age` encrypted, and `age -d` reads what Vaultra encrypted', async () => {
    const { age } = tools!;
    const plaintext = randomBytes(4 * SEGMENT + 333);
    await writeFile(join(dir, 'plain.bin'), plaintext);
    await writeFile(join(dir, 'key.txt'), formatIdentityFile(key.identity, new Date(0)));
    await runOk(age, ['-r', key.recipient, '-o', join(dir, 'theirs.age'), join(dir, 'plain.bin')]);
    const theirs = await readFile(join(dir, 'theirs.age'));
    const opened = await decryptor.openFile('age-v1', theirs.subarray(0, 4096), [{ type: 'x25519', recipient: key.recipient }]);
    for (const [from, to] of rangesOf(plaintext.length)) expect(readRange(opened, theirs, from, to).equals(plaintext.subarray(from, to)), `range ${from}-${to}`).toBe(true);

    const ours = await encrypt(plaintext);
    await writeFile(join(dir, 'ours.age'), ours);
    const decrypted = (await runOk(age, ['-d', '-i', join(dir, 'key.txt'), join(dir, 'ours.age')])).stdoutBytes;
    const mine = await decryptor.openFile('age-v1', ours.subarray(0, 4096));
    expect(createHash('sha256').update(readRange(mine, ours, 0, plaintext.length)).digest('hex')).toBe(createHash('sha256').update(decrypted).digest('hex'));
  });
});

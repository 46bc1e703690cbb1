/**
 * What a manifest may say, and the stages that hold the data to it: object names that can only
 * be plain names in their run folder, encryption fields that agree with each other, the age
 * header held to the manifest's recipients, data read as "none" (not encrypted, not compressed)
 * that is not, and the exact plaintext size.
 */
import { randomBytes } from 'node:crypto';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { manifestSchema, objectNameSchema, type Manifest } from '../../core/domain/manifest.js';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { NoneCompressor } from '../../core/adapters/compression/none-compressor.js';
import { ExactSizeVerifier, LeadingBytesCheck } from '../../core/pipeline/byte-taps.js';
import type { RecipientDescription } from '../../core/ports/encryptor.js';
import { IntegrityError, KeyError } from '../../core/errors.js';
import { readManifest } from '../../core/usecases/locate-backup.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';

async function run(stages: Transform[], input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  const pieces = [input.subarray(0, 3), input.subarray(3, 70_000), input.subarray(70_000)].filter((p) => p.length > 0);
  await pipeline(Readable.from(pieces), ...(stages as [Transform]), new Writable({ write: (chunk: Buffer, _e, cb) => (out.push(chunk), cb()) }));
  return Buffer.concat(out);
}

async function encrypt(data: Buffer, encryptor: AgeEncryptor): Promise<Buffer> {
  return run([encryptor.encrypt()], data);
}

const manifest = (patch: (m: Manifest) => void = () => undefined): unknown => {
  const m: Manifest = {
    schema: 'vaultra.manifest/v1',
    runId: '20261122T031502.123Z-3f9c2a',
    job: 'shop',
    startedAt: '2026-11-22T03:15:02.123Z',
    finishedAt: '2026-11-22T03:15:04.000Z',
    source: { engine: 'postgres', database: 'shop', serverVersion: '15.14' },
    dump: { tool: 'pg_dump', toolVersion: '15.14', format: 'pg_dump-custom', consistency: 'snapshot' },
    compression: { id: 'zstd', level: 3, implementation: 'zstd 1.5.4 (cli, -T0)' },
    encryption: { format: 'age-v1', recipients: [{ type: 'x25519', recipient: generateX25519Identity().recipient }] },
    plaintextBytes: 10,
    objects: [{ name: 'data.pgdump.zst.age', role: 'data', sizeBytes: 100, sha256: 'a'.repeat(64) }],
    contents: [],
    vaultraVersion: '0.1.0',
  };
  patch(m);
  return m;
};

describe('manifest schema', () => {
  it('accepts the object names Vaultra writes', () => {
    for (const name of ['data.pgdump.zst.age', 'data.tar.gz', 'data.sqlite', 'part-0001.bin', '_x']) expect(objectNameSchema.safeParse(name).success, name).toBe(true);
    expect(manifestSchema.safeParse(manifest()).success).toBe(true);
  });

  it('refuses object names that are not plain names in the run folder', () => {
    for (const name of ['', '.', '..', '.hidden', 'a/b', '../data', '/etc/passwd', 'data\\x', 'manifest.json', 'da ta', 'x'.repeat(256)]) {
      expect(objectNameSchema.safeParse(name).success, JSON.stringify(name)).toBe(false);
    }
    const result = manifestSchema.safeParse(manifest((m) => void (m.objects[0]!.name = '..')));
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/plain file names in the run folder/);
  });

  it('refuses two objects of the same name', () => {
    const twice = manifest((m) => void m.objects.push({ ...m.objects[0]! }));
    expect(manifestSchema.safeParse(twice).error?.issues[0]?.message).toMatch(/unique/);
  });

  it('refuses encryption fields that contradict each other', () => {
    const issue = (patch: (m: Manifest) => void) => manifestSchema.safeParse(manifest(patch)).error?.issues[0]?.message;
    expect(issue((m) => void (m.encryption.recipients = []))).toMatch(/recipients must be listed for age-v1/);
    expect(issue((m) => void (m.encryption.format = 'none'))).toMatch(/only for age-v1/);
    expect(issue((m) => void m.encryption.recipients.push({ type: 'scrypt', workFactor: 18 }))).toMatch(/only recipient/);
    expect(issue((m) => void (m.encryption = { format: 'none', recipients: [] }))).toBeUndefined();
  });
});

describe('the age header held to the manifest\'s recipients', () => {
  const a = generateX25519Identity();
  const b = generateX25519Identity();
  const data = randomBytes(150_000);
  const x25519 = (recipient: string): RecipientDescription => ({ type: 'x25519', recipient });
  const openWith = (identity: string) => new AgeDecryptor([{ kind: 'x25519', identity }]);

  it('decrypts when the header holds exactly the listed recipients, whichever listed identity opens it', async () => {
    const file = await encrypt(data, new AgeEncryptor([{ kind: 'x25519', recipient: a.recipient }, { kind: 'x25519', recipient: b.recipient }]));
    const listed = [x25519(b.recipient), x25519(a.recipient.toUpperCase())];
    expect((await run([openWith(a.identity).decrypt('age-v1', listed)], file)).equals(data)).toBe(true);
    expect((await run([openWith(b.identity).decrypt('age-v1', listed)], file)).equals(data)).toBe(true);
  });

  it('refuses a header with another number of recipients than the manifest lists', async () => {
    const file = await encrypt(data, new AgeEncryptor([{ kind: 'x25519', recipient: a.recipient }]));
    const both = run([openWith(a.identity).decrypt('age-v1', [x25519(a.recipient), x25519(b.recipient)])], file);
    await expect(both).rejects.toThrow(/encrypted to X25519 recipient, its manifest lists 2× X25519 recipient/);
    await expect(run([openWith(a.identity).decrypt('age-v1', [{ type: 'scrypt', workFactor: 18 }])], file)).rejects.toBeInstanceOf(IntegrityError);
  });

  it('refuses a file opened by an identity whose recipient the manifest does not list', async () => {
    const file = await encrypt(data, new AgeEncryptor([{ kind: 'x25519', recipient: a.recipient }]));
    await expect(run([openWith(a.identity).decrypt('age-v1', [x25519(b.recipient)])], file)).rejects.toThrow(new RegExp(`opens with recipient ${a.recipient}, which its manifest does not list`));
  });

  it('refuses a passphrase file whose work factor is not the manifest\'s', async () => {
    const file = await encrypt(data, new AgeEncryptor([{ kind: 'scrypt', passphrase: 'pw', workFactor: 10 }]));
    const decryptor = new AgeDecryptor([{ kind: 'scrypt', passphrase: 'pw' }]);
    expect((await run([decryptor.decrypt('age-v1', [{ type: 'scrypt', workFactor: 10 }])], file)).equals(data)).toBe(true);
    await expect(run([decryptor.decrypt('age-v1', [{ type: 'scrypt', workFactor: 11 }])], file)).rejects.toThrow(/work factor 10\), its manifest lists passphrase \(scrypt work factor 11/);
  });

  it('refuses a manifest recipient that is not a valid age recipient as damage, not as a key problem, before any byte is read', () => {
    let error: unknown;
    try {
      openWith(a.identity).decrypt('age-v1', [x25519('age1notarecipient')]);
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(IntegrityError);
    expect(error).not.toBeInstanceOf(KeyError);
  });

  it('refuses age data read as "none" (not encrypted), and passes anything else through', async () => {
    const file = await encrypt(data, new AgeEncryptor([{ kind: 'x25519', recipient: a.recipient }]));
    await expect(run([new AgeDecryptor([]).decrypt('none')], file)).rejects.toThrow(/age-encrypted, but its manifest says it is not encrypted/);
    expect((await run([new AgeDecryptor([]).decrypt('none')], data)).equals(data)).toBe(true);
    expect((await run([new AgeDecryptor([]).decrypt('none')], Buffer.from('age'))).toString()).toBe('age');
  });
});

describe('stages that hold the data to the manifest', () => {
  it('"none" decompression refuses zstd and gzip streams and passes other bytes', async () => {
    const none = async () => (await new NoneCompressor().decompress()) as Transform;
    await expect(run([await none()], Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(100)]))).rejects.toThrow(/zstd-compressed, but its manifest says it is not compressed/);
    await expect(run([await none()], gzipSync(randomBytes(100)))).rejects.toThrow(/gzip-compressed/);
    const dump = Buffer.concat([Buffer.from('PGDMP'), randomBytes(100_000)]);
    expect((await run([await none()], dump)).equals(dump)).toBe(true);
    expect((await run([await none()], Buffer.alloc(0))).length).toBe(0);
  });

  it('the exact-size check fails before the end when the plaintext is longer or shorter, and counts what passed', async () => {
    const bytes = randomBytes(100_000);
    const describe = (problem: string) => `the dump ${problem} its manifest says`;
    const exact = new ExactSizeVerifier(bytes.length, describe);
    expect((await run([exact], bytes)).equals(bytes)).toBe(true);
    expect(exact.bytes).toBe(bytes.length);
    await expect(run([new ExactSizeVerifier(bytes.length - 1, describe)], bytes)).rejects.toThrow(`the dump is longer than the ${bytes.length - 1} bytes its manifest says`);
    await expect(run([new ExactSizeVerifier(bytes.length + 1, describe)], bytes)).rejects.toThrow(`the dump is ${bytes.length} bytes, not the ${bytes.length + 1} its manifest says`);
  });

  it('the leading-bytes check sees exactly the first bytes, across chunks, and a short stream at its end', async () => {
    const seen: string[] = [];
    const look = (head: Buffer) => {
      seen.push(head.toString('hex'));
      return undefined;
    };
    await run([new LeadingBytesCheck(4, look)], Buffer.from('0102030405', 'hex'));
    await run([new LeadingBytesCheck(4, look)], Buffer.from('01', 'hex'));
    expect(seen).toEqual(['01020304', '01']);
  });
});

describe('a manifest is read only where it belongs', () => {
  it('refuses a genuine manifest moved to another date folder of the same run', async () => {
    const storage = new MemoryStorageBackend();
    const text = JSON.stringify(manifest());
    await storage.put('shop/2026/11/22/20261122T031502.123Z-3f9c2a/manifest.json', Readable.from([Buffer.from(text)]));
    await storage.put('shop/2026/11/23/20261122T031502.123Z-3f9c2a/manifest.json', Readable.from([Buffer.from(text)]));
    await expect(readManifest(storage, 'shop/2026/11/22/20261122T031502.123Z-3f9c2a/manifest.json')).resolves.toMatchObject({ job: 'shop' });
    await expect(readManifest(storage, 'shop/2026/11/23/20261122T031502.123Z-3f9c2a/manifest.json')).rejects.toThrow(IntegrityError);
  });
});

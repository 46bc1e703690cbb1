/**
 * The `vaultra-kms` age stanza: a file key wrapped by a key service beside X25519 recipients,
 * written once per file before the header, unwrapped on restore through the service the stanza
 * names — only when no local identity opens the file. The key service here is an in-memory fake
 * (AES-256-GCM under a secret per key id); the AWS adapter on moto is tested in
 * test/contract/aws-kms-key-service.test.ts and end to end in test/integration/aws-kms-*.test.ts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import type { AgeIdentity, AgeRecipient } from '../../core/adapters/encryption/age/age-stream.js';
import { generateX25519Identity, recipientOf } from '../../core/adapters/encryption/age/bech32-keys.js';
import { encodeHeader, parseHeader, type Stanza } from '../../core/adapters/encryption/age/header.js';
import { KMS_STANZA_TYPE } from '../../core/adapters/encryption/age/kms-stanza.js';
import { manifestSchema } from '../../core/domain/manifest.js';
import { ConfigError, IntegrityError, KeyError } from '../../core/errors.js';
import type { KeyService, KeyServiceId } from '../../core/ports/key-service.js';

/** A key service in memory: one random AES key per key id; `refuse` makes a key unusable. */
class FakeKeyService implements KeyService {
  readonly id: KeyServiceId = 'aws-kms';
  readonly #keys = new Map<string, Buffer>();
  readonly refused = new Set<string>();
  wraps = 0;
  unwraps = 0;
  /** When set, wrapKey waits for it (a slow KMS). */
  gate: Promise<void> | undefined;
  lastSignal: AbortSignal | undefined;

  async wrapKey(keyId: string, fileKey: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    this.wraps++;
    this.lastSignal = signal;
    await this.gate;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key(keyId), iv);
    const sealed = Buffer.concat([cipher.update(fileKey), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]);
  }

  async unwrapKey(keyId: string, wrapped: Uint8Array): Promise<Uint8Array> {
    this.unwraps++;
    if (this.refused.has(keyId)) throw new KeyError(`fake key ${keyId}: the key is disabled`);
    const bytes = Buffer.from(wrapped);
    const decipher = createDecipheriv('aes-256-gcm', this.#key(keyId), bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(-16));
    try {
      return Buffer.concat([decipher.update(bytes.subarray(12, -16)), decipher.final()]);
    } catch {
      throw new KeyError(`fake key ${keyId}: could not decrypt the wrapped file key`);
    }
  }

  #key(keyId: string): Buffer {
    let key = this.#keys.get(keyId);
    if (!key) this.#keys.set(keyId, (key = randomBytes(32)));
    return key;
  }
}

const KEY_A = 'arn:aws:kms:eu-west-1:123456789012:key/aaaaaaaa-0000-4000-8000-000000000001';
const KEY_B = 'arn:aws:kms:eu-west-1:123456789012:key/bbbbbbbb-0000-4000-8000-000000000002';

async function through(stage: Transform, input: Buffer, chunkBytes = 50_000): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < input.length; at += chunkBytes) pieces.push(input.subarray(at, at + chunkBytes));
  const received: Buffer[] = [];
  await pipeline(
    Readable.from(pieces, { objectMode: false }),
    stage,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        received.push(chunk);
        callback();
      },
    }),
  );
  return Buffer.concat(received);
}

const encrypt = (plaintext: Buffer, recipients: AgeRecipient[]): Promise<Buffer> => through(new AgeEncryptor(recipients).encrypt(), plaintext);
const decrypt = (file: Buffer, identities: AgeIdentity[]): Promise<Buffer> => through(new AgeDecryptor(identities).decrypt('age-v1'), file);
const kmsIdentity = (service: KeyService, allowed: KeyServiceId[] = ['aws-kms']): AgeIdentity => ({ kind: 'kms', allowed, keyServiceFor: async () => service });

/** The header of an age file, parsed, and the bytes after it. */
function splitFile(file: Buffer): { stanzas: readonly Stanza[]; payload: Buffer } {
  const end = file.indexOf('\n---') + 1;
  const headerEnd = file.indexOf(0x0a, end) + 1;
  return { stanzas: parseHeader(file.subarray(0, headerEnd)).stanzas, payload: file.subarray(headerEnd) };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('vaultra-kms stanza', () => {
  it('wraps the file key through the key service once per file and unwraps it with no local identity', async () => {
    const kms = new FakeKeyService();
    const plaintext = randomBytes(300_000);
    const file = await encrypt(plaintext, [{ kind: 'kms', keyService: kms, keyId: KEY_A }]);
    // Six writes of 50 KB, one header: the key service is asked once, before the first byte.
    expect(kms.wraps).toBe(1);
    const { stanzas } = splitFile(file);
    expect(stanzas).toHaveLength(1);
    expect(stanzas[0]).toMatchObject({ type: KMS_STANZA_TYPE, args: ['aws-kms', KEY_A] });
    expect(file.subarray(0, 200).toString('latin1')).toContain(`-> vaultra-kms aws-kms ${KEY_A}\n`);
    expect((await decrypt(file, [kmsIdentity(kms)])).equals(plaintext)).toBe(true);
    expect(kms.unwraps).toBe(1);
  });

  it('an empty input still gets a header (the key is wrapped at the end)', async () => {
    const kms = new FakeKeyService();
    const file = await encrypt(Buffer.alloc(0), [{ kind: 'kms', keyService: kms, keyId: KEY_A }]);
    expect(kms.wraps).toBe(1);
    expect((await decrypt(file, [kmsIdentity(kms)])).length).toBe(0);
  });

  it('beside an X25519 recipient, the identity opens the file without calling the key service', async () => {
    const kms = new FakeKeyService();
    const { identity } = generateX25519Identity();
    const plaintext = randomBytes(70_000);
    const file = await encrypt(plaintext, [
      { kind: 'x25519', recipient: recipientOf(identity) },
      { kind: 'kms', keyService: kms, keyId: KEY_A },
    ]);
    expect((await decrypt(file, [{ kind: 'x25519', identity }, kmsIdentity(kms)])).equals(plaintext)).toBe(true);
    expect(kms.unwraps).toBe(0);
    // A restore with no identity but KMS access opens it too.
    expect((await decrypt(file, [kmsIdentity(kms)])).equals(plaintext)).toBe(true);
    expect(kms.unwraps).toBe(1);
  });

  it('the manifest description names service and key id only, and the manifest schema accepts it', () => {
    const kms = new FakeKeyService();
    const { identity } = generateX25519Identity();
    const encryptor = new AgeEncryptor([
      { kind: 'x25519', recipient: recipientOf(identity) },
      { kind: 'kms', keyService: kms, keyId: KEY_A },
    ]);
    expect(encryptor.recipients).toEqual([
      { type: 'x25519', recipient: recipientOf(identity) },
      { type: 'kms', service: 'aws-kms', keyId: KEY_A },
    ]);
    const recipientsSchema = manifestSchema.shape.encryption.shape.recipients;
    expect(recipientsSchema.parse(encryptor.recipients)).toEqual(encryptor.recipients);
    expect(() => recipientsSchema.parse([{ type: 'kms', service: 'aws-kms', keyId: KEY_A, wrapped: 'AAAA' }])).toThrow();
    expect(() => recipientsSchema.parse([{ type: 'kms', service: 'other-kms', keyId: KEY_A }])).toThrow();
  });

  it('after rotation, a file naming either key opens; each stanza is unwrapped under the key it names', async () => {
    const kms = new FakeKeyService();
    const before = randomBytes(1000);
    const after = randomBytes(1000);
    const old = await encrypt(before, [{ kind: 'kms', keyService: kms, keyId: KEY_A }]);
    const rotated = await encrypt(after, [{ kind: 'kms', keyService: kms, keyId: KEY_B }]);
    expect((await decrypt(old, [kmsIdentity(kms)])).equals(before)).toBe(true);
    expect((await decrypt(rotated, [kmsIdentity(kms)])).equals(after)).toBe(true);
  });

  it('when one key refuses, the next stanza is tried; when every key refuses, its KeyError is the answer', async () => {
    const kms = new FakeKeyService();
    const plaintext = randomBytes(1000);
    const file = await encrypt(plaintext, [
      { kind: 'kms', keyService: kms, keyId: KEY_A },
      { kind: 'kms', keyService: kms, keyId: KEY_B },
    ]);
    kms.refused.add(KEY_A);
    expect((await decrypt(file, [kmsIdentity(kms)])).equals(plaintext)).toBe(true);
    kms.refused.add(KEY_B);
    const error = await rejection(decrypt(file, [kmsIdentity(kms)]));
    expect(error).toBeInstanceOf(KeyError);
    expect((error as Error).message).toBe(`fake key ${KEY_A}: the key is disabled`);
  });

  it('without permission to use the service, the KeyError names the key the backup needs', async () => {
    const kms = new FakeKeyService();
    const file = await encrypt(randomBytes(100), [{ kind: 'kms', keyService: kms, keyId: KEY_A }]);
    for (const identities of [[], [kmsIdentity(kms, ['gcp-kms'])], [{ kind: 'x25519', identity: generateX25519Identity().identity } as const]]) {
      const error = await rejection(decrypt(file, identities));
      expect(error).toBeInstanceOf(KeyError);
      expect((error as Error).message).toContain(`aws-kms key ${KEY_A}`);
    }
    expect(kms.unwraps).toBe(0);
  });

  it('a key service that hands back the wrong key fails the header MAC: damage, not a key problem', async () => {
    const kms = new FakeKeyService();
    const file = await encrypt(randomBytes(100), [{ kind: 'kms', keyService: kms, keyId: KEY_A }]);
    const liar: KeyService = { id: 'aws-kms', wrapKey: () => Promise.reject(new Error('unused')), unwrapKey: async () => randomBytes(16) };
    await expect(decrypt(file, [kmsIdentity(liar)])).rejects.toBeInstanceOf(IntegrityError);
  });

  it('an altered wrapped key is refused by the key service (KeyError); the use case then tells damage by the object hash', async () => {
    const kms = new FakeKeyService();
    const file = await encrypt(randomBytes(100), [{ kind: 'kms', keyService: kms, keyId: KEY_A }]);
    const { stanzas, payload } = splitFile(file);
    const body = Buffer.from(stanzas[0]!.body);
    body[20]! ^= 0x01;
    // Re-encoded under a random key: only the key service's refusal can show here.
    const altered = Buffer.concat([encodeHeader([{ ...stanzas[0]!, body }], randomBytes(16)), payload]);
    await expect(decrypt(altered, [kmsIdentity(kms)])).rejects.toBeInstanceOf(KeyError);
  });

  it('malformed stanzas are damage; a stanza of a service this version does not know is skipped', async () => {
    const kms = new FakeKeyService();
    const fileKey = randomBytes(16);
    const body = Buffer.from(await kms.wrapKey(KEY_A, fileKey));
    const fileWith = (stanzas: Stanza[]) => Buffer.concat([encodeHeader(stanzas, fileKey), randomBytes(32)]);
    await expect(decrypt(fileWith([{ type: KMS_STANZA_TYPE, args: ['aws-kms'], body }]), [kmsIdentity(kms)])).rejects.toBeInstanceOf(IntegrityError);
    await expect(decrypt(fileWith([{ type: KMS_STANZA_TYPE, args: ['aws-kms', KEY_A, 'extra'], body }]), [kmsIdentity(kms)])).rejects.toBeInstanceOf(IntegrityError);
    await expect(decrypt(fileWith([{ type: KMS_STANZA_TYPE, args: ['aws-kms', KEY_A], body: Buffer.alloc(0) }]), [kmsIdentity(kms)])).rejects.toBeInstanceOf(IntegrityError);
    const unknown = await rejection(decrypt(fileWith([{ type: KMS_STANZA_TYPE, args: ['oci-kms', 'ocid1.key'], body }]), [kmsIdentity(kms)]));
    expect(unknown).toBeInstanceOf(KeyError);
    expect((unknown as Error).message).toMatch(/does not know/);
  });

  it('refuses key ids that cannot be stanza arguments, and a passphrase beside a key service', () => {
    const kms = new FakeKeyService();
    expect(() => new AgeEncryptor([{ kind: 'kms', keyService: kms, keyId: 'alias/my key' }])).toThrow(KeyError);
    expect(() => new AgeEncryptor([{ kind: 'kms', keyService: kms, keyId: '' }])).toThrow(KeyError);
    expect(() => new AgeEncryptor([{ kind: 'kms', keyService: kms, keyId: 'alias/é' }])).toThrow(KeyError);
    expect(() => new AgeEncryptor([{ kind: 'scrypt', passphrase: 'correct horse' }, { kind: 'kms', keyService: kms, keyId: KEY_A }])).toThrow(ConfigError);
  });

  it('a failing key service fails the stage with its error, before any byte is written', async () => {
    const failing: KeyService = { id: 'aws-kms', wrapKey: () => Promise.reject(new KeyError(`AWS KMS key ${KEY_A}: not found`)), unwrapKey: () => Promise.reject(new Error('unused')) };
    const received: Buffer[] = [];
    const stage = new AgeEncryptor([{ kind: 'kms', keyService: failing, keyId: KEY_A }]).encrypt();
    stage.on('data', (chunk: Buffer) => received.push(chunk));
    await expect(pipeline(Readable.from([randomBytes(1000)]), stage, new Writable({ write: (_c, _e, cb) => cb() }))).rejects.toThrow(`AWS KMS key ${KEY_A}: not found`);
    expect(received).toEqual([]);
  });

  it('destroying the stage while the key service is still wrapping aborts the call', async () => {
    const kms = new FakeKeyService();
    kms.gate = new Promise(() => undefined);
    const stage = new AgeEncryptor([{ kind: 'kms', keyService: kms, keyId: KEY_A }]).encrypt();
    stage.write(randomBytes(100));
    await new Promise((resolve) => setImmediate(resolve));
    expect(kms.wraps).toBe(1);
    expect(kms.lastSignal?.aborted).toBe(false);
    stage.destroy();
    expect(kms.lastSignal?.aborted).toBe(true);
  });
});

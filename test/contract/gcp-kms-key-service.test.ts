/**
 * GcpKmsKeyService against an in-memory mock of `KeyManagementServiceClient`: Cloud KMS has no
 * emulator. The mock keeps AES-256-GCM keys with versions (a primary, enable/disable), checks the
 * request's CRC32C fields and authenticates the additional data as Cloud KMS does, and answers
 * with gRPC-shaped errors (`code`, `details`), so the contract suite, the exact requests and the
 * error translation are all exercised.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { AgeDecryptor, AgeEncryptor } from '../../core/adapters/encryption/age-encryptor.js';
import { formatIdentityFile, generateX25519Identity } from '../../core/adapters/encryption/age/bech32-keys.js';
import { GCP_KMS_ADDITIONAL_AUTHENTICATED_DATA, GcpKmsKeyService, type KmsClientLike } from '../../core/adapters/keys/gcp-kms-key-service.js';
import { keyServiceFor } from '../../core/adapters/keys/key-services.js';
import { crc32c } from '../../core/adapters/gcp/crc32c.js';
import { KeyError, StorageError } from '../../core/errors.js';
import { keyServiceContract } from './key-service.contract.js';
import { runOk } from '../support/exec.js';
import { requireTool } from '../support/requirements.js';

type EncryptRequest = Parameters<KmsClientLike['encrypt']>[0];
type DecryptRequest = Parameters<KmsClientLike['decrypt']>[0];

const RING = 'projects/vaultra-test/locations/europe-west1/keyRings/backups';

function grpcError(code: number, name: string, details: string): Error {
  return Object.assign(new Error(`${code} ${name}: ${details}`), { code, details });
}

/** An in-memory Cloud KMS: CryptoKeys with versions; the ciphertext names its version (as Cloud KMS's does). */
class InMemoryKmsClient implements KmsClientLike {
  readonly encrypts: EncryptRequest[] = [];
  readonly decrypts: DecryptRequest[] = [];
  readonly keys = new Map<string, { versions: { material: Buffer; enabled: boolean }[]; primary: number }>();
  /** Names the caller may not use (PERMISSION_DENIED), as IAM would. */
  readonly forbidden = new Set<string>();

  createKey(name: string): string {
    this.keys.set(name, { versions: [{ material: randomBytes(32), enabled: true }], primary: 0 });
    return name;
  }

  /** Cloud KMS's automatic rotation: a new primary version, older ones still decrypt. */
  rotate(name: string): void {
    const key = this.keys.get(name)!;
    key.versions.push({ material: randomBytes(32), enabled: true });
    key.primary = key.versions.length - 1;
  }

  async encrypt(request: EncryptRequest): Promise<[Awaited<ReturnType<KmsClientLike['encrypt']>>[0]]> {
    this.encrypts.push(request);
    const key = this.usable(request.name);
    if (request.plaintextCrc32c.value !== crc32c(request.plaintext)) throw grpcError(3, 'INVALID_ARGUMENT', 'The checksum in field plaintext_crc32c did not match the data in field plaintext.');
    const version = key.versions[key.primary]!;
    if (!version.enabled) throw grpcError(9, 'FAILED_PRECONDITION', `${request.name}/cryptoKeyVersions/${key.primary + 1} is not enabled, current state is: DISABLED.`);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', version.material, iv).setAAD(request.additionalAuthenticatedData);
    const body = Buffer.concat([cipher.update(request.plaintext), cipher.final()]);
    const ciphertext = Buffer.concat([Buffer.from([key.primary]), iv, cipher.getAuthTag(), body]);
    return [
      {
        name: `${request.name}/cryptoKeyVersions/${key.primary + 1}`,
        ciphertext,
        ciphertextCrc32c: { value: String(crc32c(ciphertext)) },
        verifiedPlaintextCrc32c: true,
        verifiedAdditionalAuthenticatedDataCrc32c: request.additionalAuthenticatedDataCrc32c.value === crc32c(request.additionalAuthenticatedData),
      },
    ];
  }

  async decrypt(request: DecryptRequest): Promise<[Awaited<ReturnType<KmsClientLike['decrypt']>>[0]]> {
    this.decrypts.push(request);
    const key = this.usable(request.name);
    if (request.ciphertextCrc32c.value !== crc32c(request.ciphertext)) throw grpcError(3, 'INVALID_ARGUMENT', 'The checksum in field ciphertext_crc32c did not match the data in field ciphertext.');
    const invalid = () => grpcError(3, 'INVALID_ARGUMENT', 'Decryption failed: the ciphertext is invalid.');
    const c = Buffer.from(request.ciphertext);
    const version = key.versions[c[0]!];
    if (!version || c.length < 29) throw invalid();
    if (!version.enabled) throw grpcError(9, 'FAILED_PRECONDITION', `${request.name}/cryptoKeyVersions/${c[0]! + 1} is not enabled, current state is: DISABLED.`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', version.material, c.subarray(1, 13)).setAAD(request.additionalAuthenticatedData).setAuthTag(c.subarray(13, 29));
      const plaintext = Buffer.concat([decipher.update(c.subarray(29)), decipher.final()]);
      return [{ plaintext, plaintextCrc32c: { value: crc32c(plaintext) } }];
    } catch {
      throw invalid();
    }
  }

  private usable(name: string) {
    if (this.forbidden.has(name)) throw grpcError(7, 'PERMISSION_DENIED', `Permission 'cloudkms.cryptoKeyVersions.useToEncrypt' denied on resource '${name}' (or it may not exist).`);
    const key = this.keys.get(name);
    if (!key) throw grpcError(5, 'NOT_FOUND', `CryptoKey ${name} not found.`);
    return key;
  }
}

describe('GcpKmsKeyService (in-memory KeyManagementServiceClient mock: Cloud KMS has no emulator)', () => {
  keyServiceContract('GcpKmsKeyService on the in-memory KeyManagementServiceClient mock', async () => {
    const kms = new InMemoryKmsClient();
    return {
      service: new GcpKmsKeyService({ client: kms }),
      keyId: kms.createKey(`${RING}/cryptoKeys/db`),
      rotatedKeyId: kms.createKey(`${RING}/cryptoKeys/db-2027`),
      missingKeyId: `${RING}/cryptoKeys/never-created`,
    };
  });

  it('is the service the registry gives for gcp-kms', async () => {
    expect(await keyServiceFor('gcp-kms')).toBeInstanceOf(GcpKmsKeyService);
  });

  it('sends exactly the key name, the fixed additional authenticated data and their CRC32Cs (mock records the requests)', async () => {
    const kms = new InMemoryKmsClient();
    const keyId = kms.createKey(`${RING}/cryptoKeys/db`);
    const service = new GcpKmsKeyService({ client: kms });
    const fileKey = randomBytes(16);
    const wrapped = await service.wrapKey(keyId, fileKey);
    await service.unwrapKey(keyId, wrapped);
    const aad = Buffer.from('vaultra:purpose=age-file-key');
    expect(GCP_KMS_ADDITIONAL_AUTHENTICATED_DATA).toBe('vaultra:purpose=age-file-key');
    expect(kms.encrypts).toEqual([
      { name: keyId, plaintext: fileKey, additionalAuthenticatedData: aad, plaintextCrc32c: { value: crc32c(fileKey) }, additionalAuthenticatedDataCrc32c: { value: crc32c(aad) } },
    ]);
    expect(kms.decrypts).toEqual([
      { name: keyId, ciphertext: wrapped, additionalAuthenticatedData: aad, ciphertextCrc32c: { value: crc32c(wrapped) }, additionalAuthenticatedDataCrc32c: { value: crc32c(aad) } },
    ]);
  });

  it("keeps unwrapping after Cloud KMS's automatic rotation of the same key (mock rotates the primary version)", async () => {
    const kms = new InMemoryKmsClient();
    const keyId = kms.createKey(`${RING}/cryptoKeys/db`);
    const service = new GcpKmsKeyService({ client: kms });
    const before = randomBytes(16);
    const wrappedBefore = await service.wrapKey(keyId, before);
    kms.rotate(keyId);
    const after = randomBytes(16);
    const wrappedAfter = await service.wrapKey(keyId, after);
    expect(Buffer.from(await service.unwrapKey(keyId, wrappedBefore)).equals(before)).toBe(true);
    expect(Buffer.from(await service.unwrapKey(keyId, wrappedAfter)).equals(after)).toBe(true);
  });

  it('translates Cloud KMS refusals into KeyErrors naming the key, and transient failures into retryable StorageErrors (mock errors)', async () => {
    const kms = new InMemoryKmsClient();
    const keyId = kms.createKey(`${RING}/cryptoKeys/db`);
    const service = new GcpKmsKeyService({ client: kms });
    const wrapped = await service.wrapKey(keyId, randomBytes(16));
    const keyError = (pattern: RegExp) => (error: unknown) => error instanceof KeyError && error.message.includes(keyId) && pattern.test(error.message);

    kms.forbidden.add(keyId);
    await expect(service.wrapKey(keyId, randomBytes(16))).rejects.toSatisfy(keyError(/permission denied to cloudkms\.cryptoKeyVersions\.useToEncrypt/));
    await expect(service.unwrapKey(keyId, wrapped)).rejects.toSatisfy(keyError(/useToDecrypt \(grant the caller roles\/cloudkms\.cryptoKeyDecrypter or cryptoKeyEncrypterDecrypter/));
    kms.forbidden.clear();

    kms.keys.get(keyId)!.versions[0]!.enabled = false;
    await expect(service.wrapKey(keyId, randomBytes(16))).rejects.toSatisfy(keyError(/primary version is not enabled/));
    await expect(service.unwrapKey(keyId, wrapped)).rejects.toSatisfy(keyError(/version that wrapped this backup is not enabled/));

    const unavailable: KmsClientLike = { encrypt: () => Promise.reject(grpcError(14, 'UNAVAILABLE', 'connection reset')), decrypt: () => Promise.reject(grpcError(4, 'DEADLINE_EXCEEDED', 'deadline')) };
    const flaky = new GcpKmsKeyService({ client: unavailable });
    await expect(flaky.wrapKey(keyId, randomBytes(16))).rejects.toSatisfy((e: unknown) => e instanceof StorageError && e.retryable && e.message.includes(keyId));
    await expect(flaky.unwrapKey(keyId, wrapped)).rejects.toSatisfy((e: unknown) => e instanceof StorageError && e.retryable);
  });

  it('fails when an answer does not pass its CRC32C check: damaged in transit (mock answers are altered)', async () => {
    const kms = new InMemoryKmsClient();
    const keyId = kms.createKey(`${RING}/cryptoKeys/db`);
    const good = new GcpKmsKeyService({ client: kms });
    const wrapped = await good.wrapKey(keyId, randomBytes(16));
    const altered = (change: (answer: Record<string, unknown>) => void, method: 'encrypt' | 'decrypt'): KmsClientLike => ({
      encrypt: async (request) => {
        const [answer] = await kms.encrypt(request);
        if (method === 'encrypt') change(answer as Record<string, unknown>);
        return [answer];
      },
      decrypt: async (request) => {
        const [answer] = await kms.decrypt(request);
        if (method === 'decrypt') change(answer as Record<string, unknown>);
        return [answer];
      },
    });
    const damaged = /damaged in transit/;
    await expect(new GcpKmsKeyService({ client: altered((a) => (a.ciphertextCrc32c = { value: 1 }), 'encrypt') }).wrapKey(keyId, randomBytes(16))).rejects.toThrow(damaged);
    await expect(new GcpKmsKeyService({ client: altered((a) => (a.verifiedPlaintextCrc32c = false), 'encrypt') }).wrapKey(keyId, randomBytes(16))).rejects.toThrow(damaged);
    await expect(new GcpKmsKeyService({ client: altered((a) => (a.verifiedAdditionalAuthenticatedDataCrc32c = false), 'encrypt') }).wrapKey(keyId, randomBytes(16))).rejects.toThrow(damaged);
    await expect(new GcpKmsKeyService({ client: altered((a) => (a.name = `${RING}/cryptoKeys/other/cryptoKeyVersions/1`), 'encrypt') }).wrapKey(keyId, randomBytes(16))).rejects.toThrow(/not a version of/);
    await expect(new GcpKmsKeyService({ client: altered((a) => (a.plaintextCrc32c = { value: 7 }), 'decrypt') }).unwrapKey(keyId, wrapped)).rejects.toSatisfy((e: unknown) => e instanceof KeyError && damaged.test(e.message));
  });

  it('refuses malformed key ids and key versions before calling Cloud KMS (mock must not be called)', async () => {
    const untouched: KmsClientLike = { encrypt: () => Promise.reject(new Error('must not be called')), decrypt: () => Promise.reject(new Error('must not be called')) };
    const service = new GcpKmsKeyService({ client: untouched });
    await expect(service.wrapKey('my-key', randomBytes(16))).rejects.toThrow(/not a Cloud KMS CryptoKey name/);
    await expect(service.wrapKey('arn:aws:kms:us-east-1:123456789012:key/1', randomBytes(16))).rejects.toBeInstanceOf(KeyError);
    await expect(service.unwrapKey(`${RING}/cryptoKeys/db/cryptoKeyVersions/3`, randomBytes(40))).rejects.toThrow(/names a key version: name the CryptoKey itself/);
  });

  it('with the real client and no usable credentials: a KeyError naming the key, and nothing left unhandled (no mock)', async () => {
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/vaultra-test-adc.json';
    try {
      const keyId = `${RING}/cryptoKeys/db`;
      await expect(new GcpKmsKeyService().wrapKey(keyId, randomBytes(16))).rejects.toSatisfy((e: unknown) => e instanceof KeyError && e.message.includes(keyId) && /no valid Google Cloud credentials/.test(e.message));
      // The SDK's own failure path leaves a rejection unhandled; vitest fails the file if one surfaces.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    }
  });

  it('stops waiting when the signal aborts, and cancels the call (mock call that never answers)', async () => {
    let cancelled = false;
    const never = (): Promise<never> & { cancel: () => void } => Object.assign(new Promise<never>(() => undefined), { cancel: () => (cancelled = true) });
    const service = new GcpKmsKeyService({ client: { encrypt: never, decrypt: never } });
    const controller = new AbortController();
    const wrap = service.wrapKey(`${RING}/cryptoKeys/db`, randomBytes(16), controller.signal);
    controller.abort(new Error('interrupted'));
    await expect(wrap).rejects.toThrow('interrupted');
    expect(cancelled).toBe(true);
  });
});

async function through(stage: Transform, input: Buffer): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of Readable.from([input]).pipe(stage)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('age files wrapped by GcpKmsKeyService (in-memory KeyManagementServiceClient mock)', () => {
  it('decrypt through Cloud KMS alone; after moving to a new key id, files of both keys still decrypt', async () => {
    const kms = new InMemoryKmsClient();
    const service = new GcpKmsKeyService({ client: kms });
    const oldKey = kms.createKey(`${RING}/cryptoKeys/db`);
    const newKey = kms.createKey(`${RING}/cryptoKeys/db-2027`);
    const before = randomBytes(200_000);
    const after = randomBytes(1000);
    const oldFile = await through(new AgeEncryptor([{ kind: 'kms', keyService: service, keyId: oldKey }]).encrypt(), before);
    const newFile = await through(new AgeEncryptor([{ kind: 'kms', keyService: service, keyId: newKey }]).encrypt(), after);
    expect(oldFile.toString('latin1')).toContain(`-> vaultra-kms gcp-kms ${oldKey}`);
    const decryptor = new AgeDecryptor([{ kind: 'kms', allowed: ['gcp-kms'], keyServiceFor: async () => service }]);
    expect((await through(decryptor.decrypt('age-v1'), oldFile)).equals(before)).toBe(true);
    expect((await through(decryptor.decrypt('age-v1'), newFile)).equals(after)).toBe(true);
    expect(kms.decrypts.map((r) => r.name)).toEqual([oldKey, newKey]);
  });

});

describe('age files wrapped by GcpKmsKeyService beside an X25519 recipient (in-memory KeyManagementServiceClient mock)', () => {
  const age = requireTool('age');
  if (!age) return;

  it('the age CLI opens them with the X25519 identity', async () => {
    const kms = new InMemoryKmsClient();
    const keyId = kms.createKey(`${RING}/cryptoKeys/db`);
    const { identity, recipient } = generateX25519Identity();
    const data = randomBytes(100_000);
    const file = await through(new AgeEncryptor([{ kind: 'x25519', recipient }, { kind: 'kms', keyService: new GcpKmsKeyService({ client: kms }), keyId }]).encrypt(), data);
    const dir = mkdtempSync(join(tmpdir(), 'vaultra-gcp-kms-age-'));
    try {
      writeFileSync(join(dir, 'identity.txt'), formatIdentityFile(identity), { mode: 0o600 });
      writeFileSync(join(dir, 'data.age'), file);
      await runOk(age, ['-d', '-i', join(dir, 'identity.txt'), '-o', join(dir, 'data'), join(dir, 'data.age')]);
      expect(readFileSync(join(dir, 'data')).equals(data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Cloud KMS and Azure Key Vault signers against MOCKS: neither service has an emulator that runs
 * here. Each mock holds a real P-256 key (node:crypto) and answers in its service's shape — Cloud
 * KMS: `AsymmetricSign` over a SHA-256 digest with CRC32C fields, DER signature, `GetPublicKey` PEM;
 * Key Vault (the real SDK clients over a fake HTTP transport): `sign` ES256 over the digest,
 * r ‖ s signature, the key as a JWK. What is proven: the digest each adapter sends, the signature
 * encoding that reaches the signature file, and that a restore verifies it with the public key
 * alone (node:crypto), through authenticate-backup.ts.
 *
 * node:crypto cannot sign a bare digest, so each mock is told the payloads it may be asked to sign
 * and signs the one whose SHA-256 it received: the same ECDSA signature, and a check that the
 * adapter hashed the right bytes.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CryptographyClient, KeyClient, type CryptographyClientOptions } from '@azure/keyvault-keys';
import { AzureKeyVaultSigner, type KeyVaultSignClient } from '../../core/adapters/signing/azure-keyvault-signer.js';
import { GcpKmsSigner, type KmsSignClientLike } from '../../core/adapters/signing/gcp-kms-signer.js';
import { kmsSignerFor } from '../../core/adapters/signing/signers.js';
import { crc32c } from '../../core/adapters/gcp/crc32c.js';
import type { ManifestSigner, PublicKeySource } from '../../core/ports/manifest-signer.js';
import { signatureKeyOf, signedPayload } from '../../core/domain/manifest-signature.js';
import { manifestKey } from '../../core/domain/object-layout.js';
import type { Manifest } from '../../core/domain/manifest.js';
import { KeyError, StorageError } from '../../core/errors.js';
import { authenticateBackup } from '../../core/usecases/authenticate-backup.js';
import { locateBackup } from '../../core/usecases/locate-backup.js';
import { sha256Hex, signManifest } from '../../core/usecases/sign-manifest.js';
import { MemoryStorageBackend } from '../fakes/memory-storage.js';

const RUN = '20261122T031502.123Z-3f9c2a';
const VERSION = 'projects/vaultra-test/locations/europe-west1/keyRings/backups/cryptoKeys/signing/cryptoKeyVersions/1';
const VAULT = 'https://vaultra-test.vault.azure.net';

/** Payloads the mocks may sign, by the hex SHA-256 the adapters send. */
class KnownPayloads {
  readonly #byDigest = new Map<string, Buffer>();
  add(payload: Buffer): void {
    this.#byDigest.set(createHash('sha256').update(payload).digest('hex'), payload);
  }
  of(digest: Uint8Array): Buffer {
    const payload = this.#byDigest.get(Buffer.from(digest).toString('hex'));
    if (!payload) throw new Error('the adapter sent a digest of bytes nobody expected it to sign');
    return payload;
  }
}

/** MOCK of Cloud KMS's asymmetric signing (no emulator exists). */
class InMemoryCloudKms implements KmsSignClientLike {
  readonly payloads = new KnownPayloads();
  readonly keyPair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  readonly requests: { name: string; digestHex: string }[] = [];
  fail: Error | undefined;
  damageAnswer = false;

  asymmetricSign(request: Parameters<KmsSignClientLike['asymmetricSign']>[0]): ReturnType<KmsSignClientLike['asymmetricSign']> {
    this.requests.push({ name: request.name, digestHex: Buffer.from(request.digest.sha256).toString('hex') });
    if (this.fail) return Promise.reject(this.fail);
    if (request.digestCrc32c.value !== crc32c(request.digest.sha256)) return Promise.reject(Object.assign(new Error('3 INVALID_ARGUMENT: digest checksum'), { code: 3 }));
    const signature = sign('sha256', this.payloads.of(request.digest.sha256), { key: this.keyPair.privateKey, dsaEncoding: 'der' });
    const crc = (crc32c(signature) ^ (this.damageAnswer ? 1 : 0)) >>> 0;
    return Promise.resolve([{ name: request.name, signature, signatureCrc32c: { value: String(crc) }, verifiedDigestCrc32c: true }]);
  }

  getPublicKey(request: { name: string }): ReturnType<KmsSignClientLike['getPublicKey']> {
    const pem = this.keyPair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    return Promise.resolve([{ name: request.name, pem, pemCrc32c: { value: crc32c(Buffer.from(pem)) }, algorithm: 'EC_SIGN_P256_SHA256' }]);
  }
}

type HttpClient = NonNullable<CryptographyClientOptions['httpClient']>;
type PipelineRequest = Parameters<HttpClient['sendRequest']>[0];
type PipelineResponse = Awaited<ReturnType<HttpClient['sendRequest']>>;

function headers(values: Record<string, string>): PipelineResponse['headers'] {
  const map = new Map(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    get: (name) => map.get(name.toLowerCase()),
    has: (name) => map.has(name.toLowerCase()),
    set: (name, value) => void map.set(name.toLowerCase(), String(value)),
    delete: (name) => void map.delete(name.toLowerCase()),
    toJSON: () => Object.fromEntries(map),
    [Symbol.iterator]: () => map.entries(),
  };
}

/** MOCK of Key Vault's keys API for an EC P-256 key version: GET key, POST sign (no emulator exists). */
class FakeKeyVault implements HttpClient {
  readonly payloads = new KnownPayloads();
  readonly keys = new Map<string, { privateKey: KeyObject; publicKey: KeyObject }>();
  readonly seen: { method: string; path: string; body?: Record<string, unknown> }[] = [];
  denySign = false;

  createKey(name: string): string {
    const version = randomBytes(16).toString('hex');
    this.keys.set(`${name}/${version}`, generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    return `${VAULT}/keys/${name}/${version}`;
  }

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const url = new URL(request.url);
    const body = typeof request.body === 'string' && request.body ? (JSON.parse(request.body) as Record<string, unknown>) : undefined;
    const reply = (status: number, json: unknown, extra: Record<string, string> = {}): PipelineResponse => ({
      request,
      status,
      headers: headers({ 'content-type': 'application/json; charset=utf-8', ...extra }),
      bodyAsText: JSON.stringify(json),
    });
    if (request.headers.get('authorization') !== 'Bearer fake-entra-token') {
      return reply(401, { error: { code: 'Unauthorized', message: 'no token' } }, { 'www-authenticate': 'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"' });
    }
    this.seen.push({ method: request.method, path: url.pathname, body });
    const match = /^\/keys\/([^/]+)\/([^/]+)(\/sign)?$/.exec(url.pathname);
    const key = match && this.keys.get(`${match[1]}/${match[2]}`);
    if (!match || !key) return reply(404, { error: { code: 'KeyNotFound', message: `no key ${url.pathname}` } });
    const kid = `${VAULT}/keys/${match[1]}/${match[2]}`;
    if (!match[3]) {
      const jwk = key.publicKey.export({ format: 'jwk' });
      return reply(200, { key: { kid, kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, key_ops: ['sign', 'verify'] }, attributes: { enabled: true } });
    }
    if (this.denySign) return reply(403, { error: { code: 'Forbidden', message: 'The user does not have keys sign permission on key vault.' } });
    if (body?.alg !== 'ES256') return reply(400, { error: { code: 'BadParameter', message: `unsupported alg ${String(body?.alg)}` } });
    const payload = this.payloads.of(Buffer.from(String(body.value), 'base64url'));
    const raw = sign('sha256', payload, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
    return reply(200, { kid, value: raw.toString('base64url') });
  }
}

/** The real SDK clients over the fake transport, as `AzureKeyVaultSigner` builds them by default. */
function keyVaultClient(vault: FakeKeyVault, keyUrl: string): KeyVaultSignClient {
  const credential = { getToken: async () => ({ token: 'fake-entra-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const options = { httpClient: vault, retryOptions: { maxRetries: 0 } };
  const crypto = new CryptographyClient(keyUrl, credential, options);
  const keys = new KeyClient(VAULT, credential, options);
  const [, , name, version] = new URL(keyUrl).pathname.split('/');
  return { sign: (algorithm, digest, o) => crypto.sign(algorithm, digest, o), getKey: (o) => keys.getKey(name!, { version: version!, ...o }) };
}

function manifestOf(): Manifest {
  return {
    schema: 'vaultra.manifest/v1',
    runId: RUN,
    job: 'shop',
    startedAt: '2026-11-22T03:15:02.123Z',
    finishedAt: '2026-11-22T03:15:09.000Z',
    source: { engine: 'postgres', database: 'shop', serverVersion: '15.8' },
    dump: { tool: 'pg_dump', toolVersion: '15.8', format: 'custom', consistency: 'snapshot' },
    compression: { id: 'zstd', level: 3, implementation: 'zstd-cli' },
    encryption: { format: 'age-v1', recipients: [{ type: 'kms', service: 'gcp-kms', keyId: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' }] },
    plaintextBytes: 1,
    objects: [{ name: 'data.pgdump.zst.age', role: 'data', sizeBytes: 1, sha256: 'c'.repeat(64) }],
    contents: [],
    vaultraVersion: '0.0.0-test',
  };
}

/** Signs a manifest as backup.ts does, stores both, and authenticates it as restore does, trusting `signer`'s fetched public key. */
async function signAndAuthenticate(signer: ManifestSigner & PublicKeySource, known: KnownPayloads) {
  const storage = new MemoryStorageBackend('cloud-signed');
  const text = JSON.stringify(manifestOf(), null, 2) + '\n';
  const key = manifestKey('shop', RUN);
  const fields = { job: 'shop', runId: RUN, manifestKey: key, manifestSha256: sha256Hex(text) };
  known.add(signedPayload(fields));
  const signatureText = await signManifest(signer, fields);
  await storage.put(signatureKeyOf(key), Readable.from([signatureText]));
  await storage.put(key, Readable.from([text]));
  const backup = await locateBackup(storage, { ref: RUN });
  const publicKey = await signer.publicKey();
  return { signatureText, result: await authenticateBackup(storage, backup, { signers: [{ publicKey, label: signer.keyId }] }, { action: 'restore' }) };
}

describe('GcpKmsSigner (in-memory Cloud KMS mock: no emulator exists)', () => {
  it('sends the SHA-256 of the payload with its CRC32C; the DER signature verifies with the PEM public key alone', async () => {
    const kms = new InMemoryCloudKms();
    const signer = new GcpKmsSigner(VERSION, { client: kms });
    expect(signer.keyId).toBe(`gcp-kms:${VERSION}`);
    const { signatureText, result } = await signAndAuthenticate(signer, kms.payloads);
    expect(JSON.parse(signatureText)).toMatchObject({ algorithm: 'ecdsa-p256-sha256', keyId: `gcp-kms:${VERSION}` });
    expect(Buffer.from((JSON.parse(signatureText) as { signature: string }).signature, 'base64')[0]).toBe(0x30);
    expect(result).toMatchObject({ verified: true, keyId: `gcp-kms:${VERSION}` });
    expect(kms.requests).toEqual([{ name: VERSION, digestHex: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
  });

  it('refuses a CryptoKey without a version, an answer damaged in transit, and translates gRPC refusals', async () => {
    expect(() => new GcpKmsSigner(VERSION.replace(/\/cryptoKeyVersions\/1$/, ''))).toThrow(/signing names one/);
    const kms = new InMemoryCloudKms();
    const signer = new GcpKmsSigner(VERSION, { client: kms });
    const payload = Buffer.from('payload');
    kms.payloads.add(payload);
    kms.damageAnswer = true;
    await expect(signer.sign(payload)).rejects.toThrow(/damaged in transit/);
    kms.damageAnswer = false;
    kms.fail = Object.assign(new Error('7 PERMISSION_DENIED: denied'), { code: 7, details: 'Permission cloudkms.cryptoKeyVersions.useToSign denied' });
    await expect(signer.sign(payload)).rejects.toSatisfy((e: unknown) => e instanceof KeyError && e.message.includes(VERSION) && /roles\/cloudkms\.signer/.test(e.message));
    kms.fail = Object.assign(new Error('14 UNAVAILABLE'), { code: 14, details: 'try later' });
    await expect(signer.sign(payload)).rejects.toSatisfy((e: unknown) => e instanceof StorageError && e.retryable);
  });
});

describe('AzureKeyVaultSigner (real SDK clients over a fake Key Vault transport: no emulator exists)', () => {
  it('signs ES256 over the digest; the r ‖ s answer becomes DER that verifies with the JWK public key alone', async () => {
    const vault = new FakeKeyVault();
    const keyUrl = vault.createKey('vaultra-signing');
    const signer = new AzureKeyVaultSigner(keyUrl, { client: keyVaultClient(vault, keyUrl) });
    const { signatureText, result } = await signAndAuthenticate(signer, vault.payloads);
    expect(result).toMatchObject({ verified: true, keyId: `azure-keyvault:${keyUrl}` });
    const der = Buffer.from((JSON.parse(signatureText) as { signature: string }).signature, 'base64');
    expect(der[0]).toBe(0x30);
    const path = new URL(keyUrl).pathname;
    const signRequest = vault.seen.find((r) => r.path === `${path}/sign`);
    expect(signRequest?.body).toEqual({ alg: 'ES256', value: expect.any(String) });
    expect(Buffer.from(String(signRequest!.body!.value), 'base64url')).toHaveLength(32);
  });

  it('refuses a versionless key id before any call, and a denied sign with a KeyError naming the key', async () => {
    expect(() => new AzureKeyVaultSigner(`${VAULT}/keys/vaultra-signing`)).toThrow(/signing names one version/);
    const vault = new FakeKeyVault();
    const keyUrl = vault.createKey('vaultra-signing');
    vault.denySign = true;
    const signer = new AzureKeyVaultSigner(keyUrl, { client: keyVaultClient(vault, keyUrl) });
    const payload = Buffer.from('payload');
    vault.payloads.add(payload);
    await expect(signer.sign(payload)).rejects.toSatisfy((e: unknown) => e instanceof KeyError && e.message.includes(keyUrl) && /refused sign/.test(e.message));
  });
});

describe('the signer registry', () => {
  it('maps each --signing-key service prefix to its adapter, without calling the service', async () => {
    expect((await kmsSignerFor(`gcp-kms:${VERSION}`)).keyId).toBe(`gcp-kms:${VERSION}`);
    const keyUrl = `${VAULT}/keys/vaultra-signing/${'a'.repeat(32)}`;
    expect((await kmsSignerFor(`azure-keyvault:${keyUrl}`)).keyId).toBe(`azure-keyvault:${keyUrl}`);
  });
});

/**
 * AzureKeyVaultKeyService. Key Vault has no emulator, so the tests inject the real SDK
 * `CryptographyClient` wired to a MOCK: `FakeKeyVault`, an in-process HTTP transport (the
 * SDK's `httpClient` option) that answers like Key Vault — challenge authentication, key
 * versions with real RSA keys (node:crypto), RSA-OAEP-256 wrap/unwrap, Key Vault's error
 * bodies. The SDK's own serialization and error parsing run for real; the tests assert the
 * exact REST requests and how each refusal is translated.
 */
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CryptographyClient, type CryptographyClientOptions } from '@azure/keyvault-keys';
import { AzureKeyVaultKeyService } from '../../core/adapters/keys/azure-keyvault-key-service.js';
import { keyServiceFor } from '../../core/adapters/keys/key-services.js';
import { KeyError } from '../../core/errors.js';
import { keyServiceContract } from './key-service.contract.js';

type HttpClient = NonNullable<CryptographyClientOptions['httpClient']>;
type PipelineRequest = Parameters<HttpClient['sendRequest']>[0];
type PipelineResponse = Awaited<ReturnType<HttpClient['sendRequest']>>;
type HttpHeaders = PipelineResponse['headers'];

const VAULT = 'https://vaultra-test.vault.azure.net';
const version = () => randomBytes(16).toString('hex');

/** RSA key generation is slow on these machines: a few key pairs, handed out in turn (consecutive keys always differ). */
const keyPairs: { privateKey: KeyObject; publicKey: KeyObject }[] = [];
let nextPair = 0;
function keyPair(): { privateKey: KeyObject; publicKey: KeyObject } {
  if (keyPairs.length < 3) keyPairs.push(generateKeyPairSync('rsa', { modulusLength: 2048 }));
  return keyPairs[nextPair++ % keyPairs.length]!;
}

/** Response headers, case-insensitive, as the SDK's pipeline reads them. */
function headers(values: Record<string, string>): HttpHeaders {
  const map = new Map(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
  const self: HttpHeaders = {
    get: (name) => map.get(name.toLowerCase()),
    has: (name) => map.has(name.toLowerCase()),
    set: (name, value) => void map.set(name.toLowerCase(), String(value)),
    delete: (name) => void map.delete(name.toLowerCase()),
    toJSON: () => Object.fromEntries(map),
    [Symbol.iterator]: () => map.entries(),
  };
  return self;
}

interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly apiVersion: string | null;
  readonly authorized: boolean;
  readonly body: Record<string, unknown> | undefined;
}

interface KeyVersion {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  enabled: boolean;
}

/** MOCK of Azure Key Vault's keys API (no emulator exists): just what wrapKey/unwrapKey and the SDK's key lookup use. */
class FakeKeyVault implements HttpClient {
  readonly seen: SeenRequest[] = [];
  readonly keys = new Map<string, KeyVersion>(); // "<name>/<version>"
  /** When set, GET of a key answers 403 (an identity with wrap/unwrap permissions but not get). */
  denyGet = false;
  /** When set, every call answers this status and error code. */
  failWith: { status: number; code: string; message: string } | undefined;

  /** Creates an RSA key version and returns its id (the URL Key Vault would give it). */
  createKey(name: string): string {
    const { privateKey, publicKey } = keyPair();
    const id = `${name}/${version()}`;
    this.keys.set(id, { privateKey, publicKey, enabled: true });
    return `${VAULT}/keys/${id}`;
  }

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const url = new URL(request.url);
    const authorized = request.headers.get('authorization') === 'Bearer fake-entra-token';
    const body = typeof request.body === 'string' && request.body ? (JSON.parse(request.body) as Record<string, unknown>) : undefined;
    this.seen.push({ method: request.method, path: url.pathname, apiVersion: url.searchParams.get('api-version'), authorized, body });
    const reply = (status: number, json: unknown, extra: Record<string, string> = {}): PipelineResponse => ({
      request,
      status,
      headers: headers({ 'content-type': 'application/json; charset=utf-8', ...extra }),
      bodyAsText: json === undefined ? '' : JSON.stringify(json),
    });
    const error = (status: number, code: string, message: string) => reply(status, { error: { code, message } });
    // Key Vault's challenge: a request without a token learns where to get one.
    if (!authorized) {
      return reply(401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
        'www-authenticate': 'Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://vault.azure.net"',
      });
    }
    if (this.failWith) return error(this.failWith.status, this.failWith.code, this.failWith.message);
    const match = /^\/keys\/([^/]+)\/([^/]+)(?:\/(wrapkey|unwrapkey))?$/.exec(url.pathname);
    if (!match) return error(400, 'BadParameter', `unexpected ${request.method} ${url.pathname}`);
    const [, name, keyVersion, operation] = match;
    const key = this.keys.get(`${name}/${keyVersion}`);
    const kid = `${VAULT}/keys/${name}/${keyVersion}`;
    if (!key) return error(404, 'KeyNotFound', `A key with (name/id) ${name}/${keyVersion} was not found in this key vault.`);
    if (!key.enabled) return error(403, 'Forbidden', `Operation ${operation ?? 'get'} is not allowed on a disabled key.`);
    if (!operation) {
      if (this.denyGet) return error(403, 'Forbidden', 'The user, group or application does not have keys get permission on key vault.');
      const jwk = key.publicKey.export({ format: 'jwk' });
      return reply(200, {
        key: { kid, kty: 'RSA', key_ops: ['wrapKey', 'unwrapKey'], n: jwk.n, e: jwk.e },
        attributes: { enabled: true, created: 1_700_000_000, updated: 1_700_000_000, recoveryLevel: 'Recoverable+Purgeable' },
      });
    }
    if (body?.alg !== 'RSA-OAEP-256') return error(400, 'BadParameter', `unsupported algorithm ${String(body?.alg)}`);
    const value = Buffer.from(String(body.value), 'base64url');
    if (operation === 'wrapkey') {
      const wrapped = publicEncrypt({ key: key.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, value);
      return reply(200, { kid, value: wrapped.toString('base64url') });
    }
    try {
      const unwrapped = privateDecrypt({ key: key.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, value);
      return reply(200, { kid, value: unwrapped.toString('base64url') });
    } catch {
      return error(400, 'BadParameter', 'The parameter is incorrect.');
    }
  }
}

/** The key service with the real SDK client over the fake transport; no retries, so failures answer at once. */
function serviceOn(vault: FakeKeyVault): AzureKeyVaultKeyService {
  const credential = { getToken: async () => ({ token: 'fake-entra-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  return new AzureKeyVaultKeyService({
    clientFor: (keyId) => new CryptographyClient(keyId, credential, { httpClient: vault, retryOptions: { maxRetries: 0 } }),
  });
}

keyServiceContract('AzureKeyVaultKeyService, real CryptographyClient over the FakeKeyVault transport (MOCK: Key Vault has no emulator)', async () => {
  const vault = new FakeKeyVault();
  const keyId = vault.createKey('vaultra-backups');
  // Rotation in Key Vault is a new version of the same key.
  const rotatedKeyId = vault.createKey('vaultra-backups');
  return { service: serviceOn(vault), keyId, rotatedKeyId, missingKeyId: `${VAULT}/keys/no-such-key/${version()}` };
});

describe('AzureKeyVaultKeyService on the FakeKeyVault transport (MOCK: Key Vault has no emulator)', () => {
  it('sends exactly: challenge, GET key version, POST wrapkey {alg: RSA-OAEP-256, value}; then POST unwrapkey', async () => {
    const vault = new FakeKeyVault();
    const keyId = vault.createKey('backups');
    const path = new URL(keyId).pathname;
    const service = serviceOn(vault);
    const fileKey = randomBytes(16);
    const wrapped = await service.wrapKey(keyId, fileKey);
    expect(wrapped).toHaveLength(256); // RSA-2048
    expect(Buffer.from(await service.unwrapKey(keyId, wrapped)).equals(fileKey)).toBe(true);
    expect(vault.seen.map(({ method, path: p, authorized }) => [method, p, authorized])).toEqual([
      ['GET', path, false], // challenge round: no token, no body
      ['GET', path, true],
      ['POST', `${path}/wrapkey`, true],
      ['POST', `${path}/unwrapkey`, true],
    ]);
    expect(vault.seen.every((r) => r.apiVersion && /^\d{4}-\d{2}-\d{2}/.test(r.apiVersion))).toBe(true);
    expect(vault.seen[2]!.body).toEqual({ alg: 'RSA-OAEP-256', value: fileKey.toString('base64url') });
    expect(vault.seen[3]!.body).toEqual({ alg: 'RSA-OAEP-256', value: Buffer.from(wrapped).toString('base64url') });
  });

  it('works without the keys get permission: the SDK falls back to remote calls only', async () => {
    const vault = new FakeKeyVault();
    vault.denyGet = true;
    const keyId = vault.createKey('backups');
    const service = serviceOn(vault);
    const fileKey = randomBytes(16);
    expect(Buffer.from(await service.unwrapKey(keyId, await service.wrapKey(keyId, fileKey))).equals(fileKey)).toBe(true);
  });

  it('translates refusals into KeyErrors that name the key: missing, disabled, no permission, altered, unavailable', async () => {
    const vault = new FakeKeyVault();
    const keyId = vault.createKey('backups');
    const service = serviceOn(vault);
    const wrapped = await service.wrapKey(keyId, randomBytes(16));
    const refused = async (promise: Promise<unknown>, pattern: RegExp) =>
      expect(promise).rejects.toSatisfy((error: unknown) => error instanceof KeyError && error.message.includes(keyId) && pattern.test(error.message) && !error.message.includes('\n'));

    const altered = Buffer.from(wrapped);
    altered[0]! ^= 1;
    await refused(service.unwrapKey(keyId, altered), /could not unwrap.*wrapped by another key, or altered.*BadParameter/);

    vault.keys.get(new URL(keyId).pathname.slice('/keys/'.length))!.enabled = false;
    await refused(service.unwrapKey(keyId, wrapped), /refused unwrapKey.*403 Forbidden.*disabled key.*Crypto Service Encryption User/);

    vault.failWith = { status: 403, code: 'Forbidden', message: 'The user, group or application does not have keys wrapKey permission on key vault.' };
    await refused(serviceOn(vault).wrapKey(keyId, randomBytes(16)), /refused wrapKey.*does not have keys wrapKey permission/);

    vault.failWith = { status: 503, code: 'ServiceUnavailable', message: 'The service is unavailable.' };
    await refused(serviceOn(vault).wrapKey(keyId, randomBytes(16)), /wrapKey with .* failed: 503 ServiceUnavailable/);
  });

  it('refuses a key id without a version (after a rotation it would unwrap with the wrong version), before any call', async () => {
    const vault = new FakeKeyVault();
    const service = serviceOn(vault);
    await expect(service.wrapKey(`${VAULT}/keys/backups`, randomBytes(16))).rejects.toSatisfy(
      (error: unknown) => error instanceof KeyError && /version is required/.test(error.message),
    );
    await expect(service.wrapKey('http://insecure.example/keys/a/0123456789abcdef0123456789abcdef', randomBytes(16))).rejects.toBeInstanceOf(KeyError);
    expect(vault.seen).toEqual([]);
  });

  it('is the service key-services.ts returns for azure-keyvault', async () => {
    expect(await keyServiceFor('azure-keyvault')).toBeInstanceOf(AzureKeyVaultKeyService);
  });
});

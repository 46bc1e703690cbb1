/**
 * AzureKeyVaultSecretResolver. Key Vault has no emulator, so the tests inject the real SDK
 * `SecretClient` wired to a MOCK: `FakeKeyVaultSecrets`, an in-process HTTP transport (the
 * SDK's `httpClient` option) that answers like Key Vault's secrets API (challenge
 * authentication, versions, Key Vault's error bodies). The tests assert the exact REST requests
 * and how each refusal is translated.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SecretClient, type SecretClientOptions } from '@azure/keyvault-secrets';
import { AzureKeyVaultSecretResolver } from '../../core/adapters/secrets/azure-secret-resolver.js';
import { ConfigError, NotFoundError, StorageError } from '../../core/errors.js';
import { secretResolverContract } from './secret-resolver.contract.js';

type HttpClient = NonNullable<SecretClientOptions['httpClient']>;
type PipelineRequest = Parameters<HttpClient['sendRequest']>[0];
type PipelineResponse = Awaited<ReturnType<HttpClient['sendRequest']>>;
type HttpHeaders = PipelineResponse['headers'];

/** Response headers, case-insensitive, as the SDK's pipeline reads them. */
function headers(values: Record<string, string>): HttpHeaders {
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

interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly authorized: boolean;
}

/** MOCK of Azure Key Vault's secrets API (no emulator exists): versions of secrets in one vault host. */
class FakeKeyVaultSecrets implements HttpClient {
  readonly seen: SeenRequest[] = [];
  /** name → versions, oldest first. */
  readonly secrets = new Map<string, { version: string; value: string; enabled: boolean }[]>();
  failWith: { status: number; code: string; message: string } | undefined;

  constructor(readonly host: string) {}

  put(name: string, value: string): string {
    const version = randomBytes(16).toString('hex');
    this.secrets.set(name, [...(this.secrets.get(name) ?? []), { version, value, enabled: true }]);
    return version;
  }

  async sendRequest(request: PipelineRequest): Promise<PipelineResponse> {
    const url = new URL(request.url);
    const authorized = request.headers.get('authorization') === 'Bearer fake-entra-token';
    this.seen.push({ method: request.method, url: `${url.host}${url.pathname}`, authorized });
    const reply = (status: number, json: unknown, extra: Record<string, string> = {}): PipelineResponse => ({
      request,
      status,
      headers: headers({ 'content-type': 'application/json; charset=utf-8', ...extra }),
      bodyAsText: JSON.stringify(json),
    });
    const error = (status: number, code: string, message: string) => reply(status, { error: { code, message } });
    if (!authorized) {
      return reply(401, { error: { code: 'Unauthorized', message: 'AKV10000: Request is missing a Bearer or PoP token.' } }, {
        // The resource is the vault's cloud: vault.azure.net, vault.azure.cn, …
        'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000", resource="https://${url.host.split('.').slice(1).join('.')}"`,
      });
    }
    if (this.failWith) return error(this.failWith.status, this.failWith.code, this.failWith.message);
    if (url.host !== this.host) return error(404, 'VaultNotFound', `no vault at ${url.host}`);
    const match = /^\/secrets\/([^/]+)\/?([^/]*)$/.exec(url.pathname);
    if (request.method !== 'GET' || !match) return error(400, 'BadParameter', `unexpected ${request.method} ${url.pathname}`);
    const [, name = '', version] = match;
    const versions = this.secrets.get(name) ?? [];
    const found = version ? versions.find((v) => v.version === version) : versions.at(-1);
    if (!found) return error(404, 'SecretNotFound', `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.`);
    if (!found.enabled) return error(403, 'Forbidden', 'Operation get is not allowed on a disabled secret.');
    const id = `https://${this.host}/secrets/${name}/${found.version}`;
    return reply(200, { value: found.value, id, attributes: { enabled: true, created: 1_700_000_000, updated: 1_700_000_000, recoveryLevel: 'Recoverable+Purgeable' } });
  }
}

function resolverOn(vault: FakeKeyVaultSecrets): { resolver: AzureKeyVaultSecretResolver; vaultUrls: string[] } {
  const credential = { getToken: async () => ({ token: 'fake-entra-token', expiresOnTimestamp: Date.now() + 3_600_000 }) };
  const vaultUrls: string[] = [];
  const resolver = new AzureKeyVaultSecretResolver({
    clientFor: (vaultUrl) => {
      vaultUrls.push(vaultUrl);
      return new SecretClient(vaultUrl, credential, { httpClient: vault, retryOptions: { maxRetries: 0 } });
    },
  });
  return { resolver, vaultUrls };
}

secretResolverContract('AzureKeyVaultSecretResolver, real SecretClient over the FakeKeyVaultSecrets transport (MOCK: Key Vault has no emulator)', async () => {
  const vault = new FakeKeyVaultSecrets('vaultra-prod.vault.azure.net');
  return {
    resolver: resolverOn(vault).resolver,
    async put(name, value) {
      vault.put(name, value);
      return `secret+azure://vaultra-prod/${name}`;
    },
    missingReference: 'secret+azure://vaultra-prod/no-such-secret',
    malformedReference: 'secret+azure://vaultra-prod/bad_name!',
  };
});

describe('AzureKeyVaultSecretResolver on the FakeKeyVaultSecrets transport (MOCK: Key Vault has no emulator)', () => {
  it('reads the current version, or the version named; sends exactly one challenge and then authorized GETs', async () => {
    const vault = new FakeKeyVaultSecrets('vaultra-prod.vault.azure.net');
    const first = vault.put('shop-db', 'postgres://app:v1@db/shop');
    vault.put('shop-db', 'postgres://app:v2@db/shop');
    const { resolver, vaultUrls } = resolverOn(vault);
    expect(await resolver.resolve('secret+azure://vaultra-prod/shop-db')).toBe('postgres://app:v2@db/shop');
    expect(await resolver.resolve(`secret+azure://vaultra-prod/shop-db/${first}`)).toBe('postgres://app:v1@db/shop');
    expect(vaultUrls).toEqual(['https://vaultra-prod.vault.azure.net']);
    expect(vault.seen).toEqual([
      { method: 'GET', url: 'vaultra-prod.vault.azure.net/secrets/shop-db/', authorized: false },
      { method: 'GET', url: 'vaultra-prod.vault.azure.net/secrets/shop-db/', authorized: true },
      { method: 'GET', url: `vaultra-prod.vault.azure.net/secrets/shop-db/${first}`, authorized: true },
    ]);
  });

  it('takes a full vault host for other clouds', async () => {
    const vault = new FakeKeyVaultSecrets('vaultra.vault.azure.cn');
    vault.put('db', 'mysql://x');
    const { resolver, vaultUrls } = resolverOn(vault);
    expect(await resolver.resolve('secret+azure://vaultra.vault.azure.cn/db')).toBe('mysql://x');
    expect(vaultUrls).toEqual(['https://vaultra.vault.azure.cn']);
  });

  it('translates refusals: disabled or forbidden → ConfigError, unavailable → retryable StorageError; messages never carry a value', async () => {
    const vault = new FakeKeyVaultSecrets('vaultra-prod.vault.azure.net');
    vault.put('db', 'postgres://app:hunter2@db/shop');
    vault.secrets.get('db')![0]!.enabled = false;
    const { resolver } = resolverOn(vault);
    await expect(resolver.resolve('secret+azure://vaultra-prod/db')).rejects.toSatisfy(
      (error: unknown) => error instanceof ConfigError && /refused to read secret\+azure:\/\/vaultra-prod\/db: 403 Forbidden.*disabled secret.*Secrets User/.test(error.message) && !error.message.includes('hunter2'),
    );
    vault.failWith = { status: 503, code: 'ServiceUnavailable', message: 'The service is unavailable.' };
    await expect(resolverOn(vault).resolver.resolve('secret+azure://vaultra-prod/db')).rejects.toSatisfy(
      (error: unknown) => error instanceof StorageError && error.retryable && /503 ServiceUnavailable/.test(error.message),
    );
  });

  it('refuses malformed references before any call, naming the expected shape', async () => {
    const vault = new FakeKeyVaultSecrets('vaultra-prod.vault.azure.net');
    const { resolver } = resolverOn(vault);
    for (const reference of ['secret+azure://vaultra-prod', 'secret+azure://vaultra-prod/db/not-a-version', 'secret+azure://v/db', 'secret+azure://vaultra-prod/a/b/c']) {
      await expect(resolver.resolve(reference)).rejects.toSatisfy((error: unknown) => error instanceof ConfigError && /secret\+azure:\/\/<vault>\/<secret-name>/.test(error.message));
    }
    expect(vault.seen).toEqual([]);
  });

  it('a missing secret is a NotFoundError naming the reference', async () => {
    const { resolver } = resolverOn(new FakeKeyVaultSecrets('vaultra-prod.vault.azure.net'));
    await expect(resolver.resolve('secret+azure://vaultra-prod/gone')).rejects.toSatisfy(
      (error: unknown) => error instanceof NotFoundError && error.message.includes('secret+azure://vaultra-prod/gone') && /SecretNotFound/.test(error.message),
    );
  });
});

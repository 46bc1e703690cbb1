/**
 * GcpSecretManagerResolver against an in-memory mock of `SecretManagerServiceClient`: Secret
 * Manager has no emulator. The mock keeps secrets with numbered versions (enabled or not),
 * answers `AccessSecretVersion` with the payload and its CRC32C as the service does, and fails
 * with gRPC-shaped errors (`code`, `details`).
 */
import { describe, expect, it } from 'vitest';
import { GcpSecretManagerResolver, parseGcpSecretReference, type SecretManagerClientLike } from '../../core/adapters/secrets/gcp-secret-resolver.js';
import { resolveSecret } from '../../core/adapters/secrets/secret-resolvers.js';
import { crc32c } from '../../core/adapters/gcp/crc32c.js';
import { connectionUrlFromSecret } from '../../core/adapters/engines/secret-connection-url.js';
import { ConfigError, IntegrityError, NotFoundError, StorageError } from '../../core/errors.js';
import { secretResolverContract } from './secret-resolver.contract.js';

function grpcError(code: number, name: string, details: string): Error {
  return Object.assign(new Error(`${code} ${name}: ${details}`), { code, details });
}

class InMemorySecretManagerClient implements SecretManagerClientLike {
  readonly requests: { name: string }[] = [];
  /** secret name (`projects/p/secrets/s`) → versions, 1-based. */
  readonly secrets = new Map<string, { data: Buffer; enabled: boolean }[]>();
  readonly forbidden = new Set<string>();

  add(secret: string, value: string | Buffer): number {
    const versions = this.secrets.get(secret) ?? [];
    versions.push({ data: Buffer.isBuffer(value) ? value : Buffer.from(value, 'utf8'), enabled: true });
    this.secrets.set(secret, versions);
    return versions.length;
  }

  async accessSecretVersion(request: { name: string }): Promise<[Awaited<ReturnType<SecretManagerClientLike['accessSecretVersion']>>[0]]> {
    this.requests.push(request);
    const match = /^(projects\/[^/]+(?:\/locations\/[^/]+)?\/secrets\/[^/]+)\/versions\/([^/]+)$/.exec(request.name);
    if (!match) throw grpcError(3, 'INVALID_ARGUMENT', `Invalid resource field value in the request.`);
    const [, secret, version] = match as unknown as [string, string, string];
    if (this.forbidden.has(secret)) throw grpcError(7, 'PERMISSION_DENIED', `Permission 'secretmanager.versions.access' denied for resource '${request.name}' (or it may not exist).`);
    const versions = this.secrets.get(secret);
    if (!versions) throw grpcError(5, 'NOT_FOUND', `Secret [${secret}] not found or has no versions.`);
    const number = version === 'latest' ? versions.length : Number(version);
    const found = versions[number - 1];
    if (!found) throw grpcError(5, 'NOT_FOUND', `Secret Version [${request.name}] not found.`);
    if (!found.enabled) throw grpcError(9, 'FAILED_PRECONDITION', `Secret Version [${secret}/versions/${number}] is in DISABLED state.`);
    return [{ name: `${secret}/versions/${number}`, payload: { data: found.data, dataCrc32c: String(crc32c(found.data)) } }];
  }
}

describe('parseGcpSecretReference', () => {
  it('reads secret names (latest by default), versions, aliases and regional secrets', () => {
    expect(parseGcpSecretReference('secret+gcp://projects/acme-prod/secrets/shop-db')).toEqual({ versionName: 'projects/acme-prod/secrets/shop-db/versions/latest' });
    expect(parseGcpSecretReference('secret+gcp://projects/123456789/secrets/shop_db/versions/3')).toEqual({ versionName: 'projects/123456789/secrets/shop_db/versions/3' });
    expect(parseGcpSecretReference('secret+gcp://projects/acme-prod/secrets/db/versions/current')).toEqual({ versionName: 'projects/acme-prod/secrets/db/versions/current' });
    expect(parseGcpSecretReference('secret+gcp://projects/acme-prod/locations/europe-west1/secrets/db')).toEqual({
      versionName: 'projects/acme-prod/locations/europe-west1/secrets/db/versions/latest',
      location: 'europe-west1',
    });
  });

  it.each([
    'secret+gcp://',
    'secret+gcp://shop-db',
    'secret+gcp://projects/acme/secrets/',
    'secret+gcp://projects/acme/secrets/a b',
    'secret+gcp://projects/acme/secrets/db/versions/0',
    'secret+gcp://projects/acme/secrets/db/versions/',
    'secret+gcp://projects/acme/secrets/db?version=2',
    'secret+aws://projects/acme/secrets/db',
  ])('refuses %s with a ConfigError', (reference) => {
    expect(() => parseGcpSecretReference(reference)).toThrow(ConfigError);
  });
});

describe('GcpSecretManagerResolver (in-memory SecretManagerServiceClient mock: Secret Manager has no emulator)', () => {
  secretResolverContract('GcpSecretManagerResolver on the in-memory SecretManagerServiceClient mock', async () => {
    const client = new InMemorySecretManagerClient();
    return {
      resolver: new GcpSecretManagerResolver({ clientFor: () => client }),
      async put(name, value) {
        client.add(`projects/vaultra-test/secrets/${name}`, value);
        return `secret+gcp://projects/vaultra-test/secrets/${name}`;
      },
      missingReference: 'secret+gcp://projects/vaultra-test/secrets/never-created',
      malformedReference: 'secret+gcp://projects/vaultra-test/secret/typo',
    };
  });

  it('asks for exactly the version named, latest by default, and a regional secret from its region (mock records requests)', async () => {
    const client = new InMemorySecretManagerClient();
    const locations: (string | undefined)[] = [];
    const resolver = new GcpSecretManagerResolver({
      clientFor: (location) => {
        locations.push(location);
        return client;
      },
    });
    client.add('projects/p1/secrets/db', 'postgres://app:old@db/shop');
    client.add('projects/p1/secrets/db', 'postgres://app:new@db/shop');
    client.add('projects/p1/locations/europe-west1/secrets/db', 'postgres://eu@db/shop');
    expect(await resolver.resolve('secret+gcp://projects/p1/secrets/db')).toBe('postgres://app:new@db/shop');
    expect(await resolver.resolve('secret+gcp://projects/p1/secrets/db/versions/1')).toBe('postgres://app:old@db/shop');
    expect(await resolver.resolve('secret+gcp://projects/p1/locations/europe-west1/secrets/db')).toBe('postgres://eu@db/shop');
    expect(client.requests).toEqual([
      { name: 'projects/p1/secrets/db/versions/latest' },
      { name: 'projects/p1/secrets/db/versions/1' },
      { name: 'projects/p1/locations/europe-west1/secrets/db/versions/latest' },
    ]);
    // One client per endpoint: the global one, then the region's.
    expect(locations).toEqual([undefined, 'europe-west1']);
  });

  it('translates refusals, never quoting a value (mock errors)', async () => {
    const client = new InMemorySecretManagerClient();
    const resolver = new GcpSecretManagerResolver({ clientFor: () => client });
    client.add('projects/p1/secrets/db', 'postgres://app:hunter2@db/shop');
    client.forbidden.add('projects/p1/secrets/db');
    await expect(resolver.resolve('secret+gcp://projects/p1/secrets/db')).rejects.toSatisfy(
      (e: unknown) => e instanceof ConfigError && /roles\/secretmanager\.secretAccessor/.test(e.message) && !e.message.includes('hunter2'),
    );
    client.forbidden.clear();
    client.secrets.get('projects/p1/secrets/db')![0]!.enabled = false;
    await expect(resolver.resolve('secret+gcp://projects/p1/secrets/db/versions/1')).rejects.toSatisfy((e: unknown) => e instanceof ConfigError && /disabled or destroyed/.test(e.message));
    await expect(resolver.resolve('secret+gcp://projects/p1/secrets/db/versions/9')).rejects.toBeInstanceOf(NotFoundError);
    const flaky = new GcpSecretManagerResolver({ clientFor: () => ({ accessSecretVersion: () => Promise.reject(grpcError(14, 'UNAVAILABLE', 'connection reset')) }) });
    await expect(flaky.resolve('secret+gcp://projects/p1/secrets/db')).rejects.toSatisfy((e: unknown) => e instanceof StorageError && e.retryable);
  });

  it('checks the payload CRC32C and refuses binary payloads (mock answers are altered)', async () => {
    const damaged = new GcpSecretManagerResolver({
      clientFor: () => ({ accessSecretVersion: async () => [{ payload: { data: Buffer.from('postgres://x@db/shop'), dataCrc32c: '12345' } }] }),
    });
    await expect(damaged.resolve('secret+gcp://projects/p1/secrets/db')).rejects.toBeInstanceOf(IntegrityError);
    const client = new InMemorySecretManagerClient();
    client.add('projects/p1/secrets/key', Buffer.from([0xff, 0xfe, 0x00]));
    await expect(new GcpSecretManagerResolver({ clientFor: () => client }).resolve('secret+gcp://projects/p1/secrets/key')).rejects.toThrow(/not UTF-8 text/);
  });

  it('an RDS-shaped JSON secret becomes a connection URL (mock secret)', async () => {
    const client = new InMemorySecretManagerClient();
    const json = JSON.stringify({ engine: 'postgres', host: 'db.internal', port: 5432, username: 'app', password: 'p@ss/word', dbname: 'shop' });
    client.add('projects/p1/secrets/rds', json);
    const resolved = await new GcpSecretManagerResolver({ clientFor: () => client }).resolve('secret+gcp://projects/p1/secrets/rds');
    expect(connectionUrlFromSecret(resolved)).toBe('postgres://app:p%40ss%2Fword@db.internal:5432/shop');
  });

  it('with the real client and no usable credentials: a ConfigError naming the secret, and nothing left unhandled (no mock)', async () => {
    const saved = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = '/nonexistent/vaultra-test-adc.json';
    try {
      await expect(new GcpSecretManagerResolver().resolve('secret+gcp://projects/p1/secrets/db')).rejects.toSatisfy(
        (e: unknown) => e instanceof ConfigError && e.message.includes('projects/p1/secrets/db/versions/latest') && /no valid Google Cloud credentials/.test(e.message),
      );
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      if (saved === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = saved;
    }
  });

  it('is what resolveSecret() uses for secret+gcp://, and reports a malformed reference before loading any SDK', async () => {
    await expect(resolveSecret('secret+gcp://nope')).rejects.toSatisfy((e: unknown) => e instanceof ConfigError && /expected secret\+gcp:\/\/projects/.test(e.message));
  });
});

import { describe, expect, it } from 'vitest';
import type { SecretResolver } from '../../core/ports/secret-resolver.js';
import { ConfigError, NotFoundError } from '../../core/errors.js';

export interface SecretResolverFixture {
  readonly resolver: SecretResolver;
  /** Stores a secret in the service and returns the reference that names it. */
  put(name: string, value: string): Promise<string>;
  /** A well-formed reference to a secret that does not exist. */
  readonly missingReference: string;
  /** A reference of this scheme that is malformed. */
  readonly malformedReference: string;
}

/** What every SecretResolver must do; each adapter's test calls this against its emulator (or a mock named in the test title). */
export function secretResolverContract(name: string, setup: () => Promise<SecretResolverFixture>): void {
  describe(`${name} (SecretResolver contract)`, () => {
    it('resolves a URL secret and an RDS-style JSON secret to their exact values', async () => {
      const fixture = await setup();
      const url = 'postgres://app:s3cr%40t@db.internal:5432/shop';
      expect(await fixture.resolver.resolve(await fixture.put('vaultra-url', url))).toBe(url);
      const json = JSON.stringify({ engine: 'postgres', host: 'db.internal', port: 5432, username: 'app', password: 'p"w{}', dbname: 'shop' });
      expect(await fixture.resolver.resolve(await fixture.put('vaultra-json', json))).toBe(json);
    });

    it('a missing secret is a NotFoundError, a malformed reference a ConfigError; neither message carries a value', async () => {
      const fixture = await setup();
      await expect(fixture.resolver.resolve(fixture.missingReference)).rejects.toBeInstanceOf(NotFoundError);
      await expect(fixture.resolver.resolve(fixture.malformedReference)).rejects.toBeInstanceOf(ConfigError);
    });
  });
}

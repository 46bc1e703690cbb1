import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KeyService } from '../../core/ports/key-service.js';
import { KeyError } from '../../core/errors.js';

export interface KeyServiceFixture {
  readonly service: KeyService;
  /** A usable key. */
  readonly keyId: string;
  /** A second usable key: the key a job rotates to. */
  readonly rotatedKeyId: string;
  /** A well-formed id of a key that does not exist (or may not be used). */
  readonly missingKeyId: string;
}

/** What every KeyService must do; each adapter's test calls this against its emulator (or, where none exists, a mock named in the test title). */
export function keyServiceContract(name: string, setup: () => Promise<KeyServiceFixture>): void {
  describe(`${name} (KeyService contract)`, () => {
    it('wraps a file key and unwraps it again; the wrapped form does not contain the key', async () => {
      const { service, keyId } = await setup();
      const fileKey = randomBytes(16);
      const wrapped = await service.wrapKey(keyId, fileKey);
      expect(Buffer.from(wrapped).includes(fileKey)).toBe(false);
      expect(Buffer.from(await service.unwrapKey(keyId, wrapped)).equals(fileKey)).toBe(true);
    });

    it('after rotation to a new key id, keys wrapped under the old id still unwrap', async () => {
      const { service, keyId, rotatedKeyId } = await setup();
      const before = randomBytes(16);
      const after = randomBytes(16);
      const wrappedBefore = await service.wrapKey(keyId, before);
      const wrappedAfter = await service.wrapKey(rotatedKeyId, after);
      expect(Buffer.from(await service.unwrapKey(keyId, wrappedBefore)).equals(before)).toBe(true);
      expect(Buffer.from(await service.unwrapKey(rotatedKeyId, wrappedAfter)).equals(after)).toBe(true);
    });

    it('an altered wrapped key, or the wrong key id, is a KeyError', async () => {
      const { service, keyId, rotatedKeyId } = await setup();
      const wrapped = Buffer.from(await service.wrapKey(keyId, randomBytes(16)));
      const altered = Buffer.from(wrapped);
      altered[altered.length - 1]! ^= 0x01;
      await expect(service.unwrapKey(keyId, altered)).rejects.toBeInstanceOf(KeyError);
      await expect(service.unwrapKey(rotatedKeyId, wrapped)).rejects.toBeInstanceOf(KeyError);
    });

    it('a key that does not exist is a KeyError naming it', async () => {
      const { service, missingKeyId } = await setup();
      await expect(service.wrapKey(missingKeyId, randomBytes(16))).rejects.toSatisfy((error: unknown) => error instanceof KeyError && error.message.includes(missingKeyId));
    });
  });
}

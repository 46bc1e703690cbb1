import { randomBytes } from 'node:crypto';
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, DisabledException, IncorrectKeyException, KMSClient, KMSInvalidStateException } from '@aws-sdk/client-kms';
import { describe, expect, it } from 'vitest';
import { AwsKmsKeyService, type KmsClientLike } from '../../core/adapters/keys/aws-kms-key-service.js';
import { KeyError, StorageError } from '../../core/errors.js';
import { eachAwsEmulator } from '../support/aws-emulators.js';
import { motoClientConfig, otherAccount } from '../support/moto-clients.js';
import { keyServiceContract } from './key-service.contract.js';

describe.each(eachAwsEmulator())('AwsKmsKeyService on %s', (_name, emulator) => {
  const server = emulator.require();
  if (!server) return;

  const kms = (region = server.region) => new KMSClient(motoClientConfig(server, region));
  const service = () => new AwsKmsKeyService({ clientFor: (region) => kms(region) });
  const newKey = async (region = server.region): Promise<string> => (await kms(region).send(new CreateKeyCommand({ Description: 'vaultra test' }))).KeyMetadata!.Arn!;
  const newAlias = async (keyArn: string): Promise<string> => {
    const alias = `alias/vaultra-test-${randomBytes(4).toString('hex')}`;
    await kms().send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyArn }));
    return alias;
  };

  // The rotated key is named by an alias, so both id forms go through the whole contract.
  keyServiceContract('AwsKmsKeyService', async () => ({
    service: service(),
    keyId: await newKey(),
    rotatedKeyId: await newAlias(await newKey()),
    missingKeyId: `arn:aws:kms:${server.region}:${emulator.account}:key/00000000-0000-4000-8000-000000000000`,
  }));

  it('binds the wrapped key to its purpose: KMS refuses to decrypt it without the encryption context', async () => {
    const keyId = await newKey();
    const wrapped = await service().wrapKey(keyId, randomBytes(16));
    await expect(kms().send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: wrapped }))).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('takes the region from the key ARN, so a key in another region unwraps from anywhere', async () => {
    const keyId = await newKey('eu-west-1');
    const regions: (string | undefined)[] = [];
    const keys = new AwsKmsKeyService({
      clientFor: (region) => {
        regions.push(region);
        return kms(region ?? server.region);
      },
    });
    const fileKey = randomBytes(16);
    expect(Buffer.from(await keys.unwrapKey(keyId, await keys.wrapKey(keyId, fileKey))).equals(fileKey)).toBe(true);
    expect(regions).toEqual(['eu-west-1']);
  });

  // AWS refuses another account under the stack's key policy (the owning account only, checked at
  // synth by the least-privilege tests); moto proves the refusal reaches the caller as a KeyError.
  // LocalStack evaluates no key policy and lets the call through, so it proves nothing here.
  if (emulator.refusesOtherAccounts) it('a caller in another account is refused with a KeyError naming the key', async () => {
    const keyId = await newKey();
    const wrapped = await service().wrapKey(keyId, randomBytes(16));
    const { config } = await otherAccount(server);
    const outsider = new AwsKmsKeyService({ clientFor: () => new KMSClient(config) });
    await expect(outsider.unwrapKey(keyId, wrapped)).rejects.toSatisfy((error: unknown) => error instanceof KeyError && error.message.includes(keyId) && /access denied/.test(error.message));
    await expect(outsider.wrapKey(keyId, randomBytes(16))).rejects.toSatisfy((error: unknown) => error instanceof KeyError && error.message.includes(keyId));
  });

  it('refuses a malformed key id before calling KMS', async () => {
    const keys = new AwsKmsKeyService({ clientFor: () => ({ send: () => Promise.reject(new Error('must not be called')) }) as KmsClientLike });
    await expect(keys.wrapKey('my key', randomBytes(16))).rejects.toSatisfy((error: unknown) => error instanceof KeyError && /not an AWS KMS key id/.test(error.message));
    await expect(keys.wrapKey('projects/p/locations/l/keyRings/r/cryptoKeys/k', randomBytes(16))).rejects.toBeInstanceOf(KeyError);
  });
});

describe('AwsKmsKeyService error translation (stubbed KMS client: moto does not enforce key state or KeyId on Decrypt)', () => {
  const keyId = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555';
  const failing = (error: Error): AwsKmsKeyService => new AwsKmsKeyService({ clientFor: () => ({ send: () => Promise.reject(error) }) as KmsClientLike });
  const meta = { $metadata: {}, message: 'from KMS' };

  it.each([
    ['a disabled key', new DisabledException(meta), /is disabled: enable it/],
    ['a key pending deletion', new KMSInvalidStateException(meta), /pending deletion/],
    ['a ciphertext of another key', new IncorrectKeyException(meta), /different KMS key/],
  ])('%s is a KeyError naming the key', async (_case, error, message) => {
    await expect(failing(error).unwrapKey(keyId, randomBytes(80))).rejects.toSatisfy((e: unknown) => e instanceof KeyError && e.message.includes(keyId) && message.test(e.message));
  });

  it('throttling is a retryable StorageError, not a key problem', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    await expect(failing(throttled).wrapKey(keyId, randomBytes(16))).rejects.toSatisfy((e: unknown) => e instanceof StorageError && e.retryable);
  });

  it('a Decrypt answered by a different key than the stanza names is a KeyError (what KMS itself enforces with KeyId)', async () => {
    const other = 'arn:aws:kms:us-east-1:123456789012:key/99999999-2222-4333-8444-555555555555';
    const keys = new AwsKmsKeyService({ clientFor: () => ({ send: () => Promise.resolve({ KeyId: other, Plaintext: randomBytes(16), $metadata: {} }) }) as unknown as KmsClientLike });
    await expect(keys.unwrapKey(keyId, randomBytes(80))).rejects.toSatisfy((e: unknown) => e instanceof KeyError && e.message.includes(other));
  });
});

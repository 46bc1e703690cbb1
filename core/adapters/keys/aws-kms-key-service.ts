import { DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import type { KeyService } from '../../ports/key-service.js';
import { KeyError, type VaultraError } from '../../errors.js';
import { awsErrorName, genericAwsError, regionOfArn } from '../aws/aws-errors.js';

/**
 * Binds every wrapped key to its purpose: KMS authenticates the context with the ciphertext, so
 * a file key blob cannot be passed off as some other KMS-encrypted secret (or the reverse), and
 * CloudTrail shows what each Decrypt was for. Never change it: older backups need the same context.
 */
export const KMS_ENCRYPTION_CONTEXT: Readonly<Record<string, string>> = Object.freeze({ 'vaultra:purpose': 'age-file-key' });

/**
 * Key ids AWS KMS accepts: a key ARN, a key id (a UUID, or `mrk-…` for a multi-Region key), an
 * alias name (`alias/…`) or an alias ARN.
 */
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const ALIAS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:alias\/[A-Za-z0-9/_-]+$/;
const KEY_UUID = /^(mrk-)?[0-9a-fA-F-]{32,36}$/;
const ALIAS_NAME = /^alias\/[A-Za-z0-9/_-]+$/;

/** What the adapter needs of a KMS client: tests may hand in a stub where moto does not behave like KMS. */
export interface KmsClientLike {
  send: KMSClient['send'];
}

export interface AwsKmsKeyServiceOptions {
  /** The client for a region (`undefined`: the SDK's default region). @default a cached `KMSClient` per region */
  readonly clientFor?: (region: string | undefined) => KmsClientLike;
}

/**
 * AWS KMS wrapping the 16-byte age file key: `Encrypt` under the key the user named, and
 * `Decrypt` naming the key recorded in the backup's stanza, so backups keep restoring after
 * the job moves to a new key id (the old key must stay enabled and decryptable). AWS's own
 * automatic key rotation keeps the key id and needs nothing from us.
 *
 * The key's region is taken from its ARN (a backup can be restored from any region); a bare key
 * id or alias name uses the SDK's default region. The endpoint comes from the SDK's own settings
 * (`AWS_ENDPOINT_URL_KMS`, `AWS_ENDPOINT_URL`), which is how tests point it at an emulator.
 *
 * An alias is recorded in the backup as written, so a restore decrypts under what the alias
 * names *then*: prefer key ARNs, and rotate by naming a new key (or a new alias) rather than by
 * re-pointing an alias that older backups name.
 */
export class AwsKmsKeyService implements KeyService {
  readonly id = 'aws-kms' as const;
  readonly #clients = new Map<string, KmsClientLike>();
  readonly #clientFor: (region: string | undefined) => KmsClientLike;

  constructor(options: AwsKmsKeyServiceOptions = {}) {
    this.#clientFor = options.clientFor ?? ((region) => new KMSClient(region ? { region } : {}));
  }

  async wrapKey(keyId: string, fileKey: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    checkKeyId(keyId);
    try {
      const { CiphertextBlob } = await this.#client(keyId).send(new EncryptCommand({ KeyId: keyId, Plaintext: fileKey, EncryptionContext: { ...KMS_ENCRYPTION_CONTEXT } }), { abortSignal: signal });
      if (!CiphertextBlob?.length) throw new KeyError(`AWS KMS returned no ciphertext for key ${keyId}`);
      return CiphertextBlob;
    } catch (error) {
      throw translate(error, keyId, 'encrypt');
    }
  }

  async unwrapKey(keyId: string, wrapped: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    checkKeyId(keyId);
    const client = this.#client(keyId);
    let decrypted;
    try {
      decrypted = await client.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: wrapped, EncryptionContext: { ...KMS_ENCRYPTION_CONTEXT } }), { abortSignal: signal });
    } catch (error) {
      throw translate(error, keyId, 'decrypt');
    }
    if (!decrypted.Plaintext?.length) throw new KeyError(`AWS KMS returned no plaintext for key ${keyId}`);
    if (!(await this.#names(client, keyId, decrypted.KeyId, signal))) {
      throw new KeyError(`the file key was wrapped under AWS KMS key ${decrypted.KeyId ?? '(unknown)'}, not ${keyId}: the backup's key stanza does not match its wrapped key`);
    }
    return decrypted.Plaintext;
  }

  /**
   * Whether `keyId` (as recorded) names the key KMS says it decrypted with (`usedArn`). KMS
   * itself refuses a Decrypt whose KeyId is not the ciphertext's key (IncorrectKeyException);
   * this repeats the check for endpoints that do not (moto ignores KeyId). For an alias it asks
   * KMS what the alias names; if that is not allowed, KMS's own check stands.
   */
  async #names(client: KmsClientLike, keyId: string, usedArn: string | undefined, signal?: AbortSignal): Promise<boolean> {
    if (!usedArn) return true;
    if (KEY_ARN.test(keyId)) return keyId === usedArn;
    if (KEY_UUID.test(keyId)) return usedArn.endsWith(`:key/${keyId}`);
    try {
      const { KeyMetadata } = await client.send(new DescribeKeyCommand({ KeyId: keyId }), { abortSignal: signal });
      return KeyMetadata?.Arn === undefined || KeyMetadata.Arn === usedArn;
    } catch (error) {
      if (awsErrorName(error) === 'AccessDeniedException') return true;
      throw translate(error, keyId, 'decrypt');
    }
  }

  #client(keyId: string): KmsClientLike {
    const region = regionOfArn(keyId);
    const cacheKey = region ?? '';
    let client = this.#clients.get(cacheKey);
    if (!client) {
      client = this.#clientFor(region);
      this.#clients.set(cacheKey, client);
    }
    return client;
  }
}

/** Refuses what AWS KMS would not take as a key id, before any call (the signer checks the same). */
export function checkKeyId(keyId: string): void {
  if (!(KEY_ARN.test(keyId) || ALIAS_ARN.test(keyId) || KEY_UUID.test(keyId) || ALIAS_NAME.test(keyId))) {
    throw new KeyError(`"${keyId}" is not an AWS KMS key id: use a key ARN (arn:aws:kms:<region>:<account>:key/<id>), a key id, alias/<name> or an alias ARN`);
  }
}

/** SDK errors → what the user can act on, always naming the key. */
function translate(error: unknown, keyId: string, action: 'encrypt' | 'decrypt'): VaultraError {
  if (error instanceof KeyError) return error;
  const refused = (reason: string): KeyError => new KeyError(`AWS KMS key ${keyId}: ${reason}`, { cause: error });
  switch (awsErrorName(error)) {
    case 'NotFoundException':
      return refused(`not found (check the key id, account and region)`);
    case 'AccessDeniedException':
      return refused(`access denied to kms:${action === 'encrypt' ? 'Encrypt' : 'Decrypt'} (check the key policy and the caller's IAM permissions, and that the key exists in this account and region)`);
    case 'DisabledException':
      return refused(`the key is disabled: enable it to ${action === 'encrypt' ? 'encrypt new backups' : 'restore backups wrapped under it'}`);
    case 'KMSInvalidStateException':
      return refused(`the key is not usable in its current state (pending deletion, or pending import): cancel the deletion to ${action === 'encrypt' ? 'use it' : 'restore backups wrapped under it'}`);
    case 'InvalidKeyUsageException':
      return refused('not a symmetric ENCRYPT_DECRYPT key');
    case 'IncorrectKeyException':
      return refused('the wrapped file key was encrypted under a different KMS key');
    case 'InvalidCiphertextException':
      return refused('KMS could not decrypt the wrapped file key: it was altered, or wrapped under another key or context');
    default:
      return genericAwsError(error, `AWS KMS ${action} with key ${keyId}`, 'AWS KMS');
  }
}

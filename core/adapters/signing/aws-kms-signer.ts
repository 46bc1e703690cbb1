import { createPublicKey } from 'node:crypto';
import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import type { ManifestSigner, PublicKeySource } from '../../ports/manifest-signer.js';
import { signerPublicKeyOf, type SignerPublicKey } from '../../domain/signer-keys.js';
import { KeyError, type VaultraError } from '../../errors.js';
import { awsErrorName, genericAwsError, regionOfArn } from '../aws/aws-errors.js';
import { checkKeyId } from '../keys/aws-kms-key-service.js';

/** What the signer needs of a KMS client (tests may hand in a stub). */
export interface KmsSignClientLike {
  send: KMSClient['send'];
}

export interface AwsKmsSignerOptions {
  /** @default a `KMSClient` for the key's region (from its ARN), endpoint from the SDK's own settings */
  readonly clientFor?: (region: string | undefined) => KmsSignClientLike;
}

/**
 * AWS KMS signing with an asymmetric `ECC_NIST_P256` / `SIGN_VERIFY` key: `Sign` with
 * `ECDSA_SHA_256` over the raw payload (KMS hashes it; the payload is a few hundred bytes, far
 * under the 4 KiB raw limit), so the runner needs `kms:Sign` only and never holds a private key.
 * KMS returns a DER signature, what a signature file holds.
 *
 * `publicKey()` (`kms:GetPublicKey`) lets a restorer trust the key by name; verifying itself is
 * local, with node:crypto.
 */
export class AwsKmsSigner implements ManifestSigner, PublicKeySource {
  readonly algorithm = 'ecdsa-p256-sha256' as const;
  readonly keyId: string;
  readonly #client: KmsSignClientLike;

  constructor(
    private readonly kmsKeyId: string,
    options: AwsKmsSignerOptions = {},
  ) {
    checkKeyId(kmsKeyId);
    this.keyId = `aws-kms:${kmsKeyId}`;
    const region = regionOfArn(kmsKeyId);
    this.#client = options.clientFor ? options.clientFor(region) : new KMSClient(region ? { region } : {});
  }

  async sign(payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    let response;
    try {
      response = await this.#client.send(new SignCommand({ KeyId: this.kmsKeyId, Message: payload, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }), { abortSignal: signal });
    } catch (error) {
      throw translate(error, this.kmsKeyId, 'Sign');
    }
    if (!response.Signature?.length) throw new KeyError(`AWS KMS returned no signature for key ${this.kmsKeyId}`);
    return response.Signature;
  }

  async publicKey(signal?: AbortSignal): Promise<SignerPublicKey> {
    let response;
    try {
      response = await this.#client.send(new GetPublicKeyCommand({ KeyId: this.kmsKeyId }), { abortSignal: signal });
    } catch (error) {
      throw translate(error, this.kmsKeyId, 'GetPublicKey');
    }
    // KeySpec is what KMS answers today; CustomerMasterKeySpec is its older name (moto still sends only that).
    const spec = response.KeySpec ?? response.CustomerMasterKeySpec;
    if (response.KeyUsage !== 'SIGN_VERIFY' || spec !== 'ECC_NIST_P256' || !response.PublicKey?.length) {
      throw new KeyError(`AWS KMS key ${this.kmsKeyId} is a ${[spec ?? 'unknown', response.KeyUsage].filter(Boolean).join(' ')} key: Vaultra signs with an ECC_NIST_P256 SIGN_VERIFY key`);
    }
    return signerPublicKeyOf(createPublicKey({ key: Buffer.from(response.PublicKey), format: 'der', type: 'spki' }));
  }
}

/** SDK errors → what the user can act on, always naming the key. */
function translate(error: unknown, keyId: string, action: 'Sign' | 'GetPublicKey'): VaultraError {
  const refused = (reason: string): KeyError => new KeyError(`AWS KMS key ${keyId}: ${reason}`, { cause: error });
  switch (awsErrorName(error)) {
    case 'NotFoundException':
      return refused('not found (check the key id, account and region)');
    case 'AccessDeniedException':
      return refused(`access denied to kms:${action} (check the key policy and the caller's IAM permissions)`);
    case 'DisabledException':
      return refused(`the key is disabled: enable it to ${action === 'Sign' ? 'sign backups' : 'read its public key'}`);
    case 'KMSInvalidStateException':
      return refused('the key is not usable in its current state (pending deletion?)');
    case 'InvalidKeyUsageException':
    case 'ValidationException':
      return refused('not an asymmetric ECC_NIST_P256 SIGN_VERIFY key (Vaultra signs with ECDSA_SHA_256)');
    default:
      return genericAwsError(error, `AWS KMS ${action} with key ${keyId}`, 'AWS KMS');
  }
}

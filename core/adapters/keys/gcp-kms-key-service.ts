import { KeyManagementServiceClient } from '@google-cloud/kms';
import type { KeyService } from '../../ports/key-service.js';
import { KeyError, StorageError, oneLine, type VaultraError } from '../../errors.js';
import { crc32c } from '../gcp/crc32c.js';
import { abortable } from '../abortable.js';
import { GrpcCode } from '../gcp/grpc-calls.js';
import { lazyGoogleClient } from '../gcp/google-credentials.js';

/**
 * Binds every wrapped key to its purpose: Cloud KMS authenticates these bytes (UTF-8) with the
 * ciphertext, so a file key blob cannot be passed off as some other KMS-encrypted secret (or the
 * reverse). Never change it: older backups need the same bytes to unwrap.
 */
export const GCP_KMS_ADDITIONAL_AUTHENTICATED_DATA = 'vaultra:purpose=age-file-key';

/**
 * A CryptoKey resource name: `projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>` (project ids
 * may be domain-scoped, `example.com:p`). Not a CryptoKeyVersion: Decrypt needs the key, and Cloud
 * KMS finds the version from the ciphertext, so backups wrapped before an automatic rotation of
 * the key keep unwrapping.
 */
const CRYPTO_KEY = /^projects\/[a-z0-9.:-]{1,100}\/locations\/[a-z0-9-]{1,63}\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}$/;

/** The `google.protobuf.Int64Value` of Cloud KMS's `*Crc32c` fields, as the client returns it. */
interface Int64Value {
  value?: number | string | { toString(): string } | null;
}

/** What the adapter needs of `KeyManagementServiceClient` (tests hand in an in-memory mock: Cloud KMS has no emulator). */
export interface KmsClientLike {
  encrypt(request: {
    name: string;
    plaintext: Uint8Array;
    additionalAuthenticatedData: Uint8Array;
    plaintextCrc32c: { value: number };
    additionalAuthenticatedDataCrc32c: { value: number };
  }): Promise<[{ name?: string | null; ciphertext?: Uint8Array | string | null; ciphertextCrc32c?: Int64Value | null; verifiedPlaintextCrc32c?: boolean | null; verifiedAdditionalAuthenticatedDataCrc32c?: boolean | null }, ...unknown[]]>;
  decrypt(request: {
    name: string;
    ciphertext: Uint8Array;
    additionalAuthenticatedData: Uint8Array;
    ciphertextCrc32c: { value: number };
    additionalAuthenticatedDataCrc32c: { value: number };
  }): Promise<[{ plaintext?: Uint8Array | string | null; plaintextCrc32c?: Int64Value | null }, ...unknown[]]>;
}

export interface GcpKmsKeyServiceOptions {
  /** @default a `KeyManagementServiceClient` with Application Default Credentials, created on first use */
  readonly client?: KmsClientLike;
}

/**
 * Cloud KMS wrapping the 16-byte age file key: `Encrypt` under the CryptoKey the user named, with
 * {@link GCP_KMS_ADDITIONAL_AUTHENTICATED_DATA}, and `Decrypt` naming the CryptoKey recorded in
 * the backup's stanza. Moving a job to a new key id leaves older backups restorable (the old key
 * must keep an enabled version); Cloud KMS's own automatic rotation keeps the key id and needs
 * nothing from us.
 *
 * Every call carries Cloud KMS's end-to-end integrity fields (CRC32C of what is sent, checked
 * against what comes back), as Google recommends: a request or answer damaged in transit fails
 * instead of wrapping or returning wrong bytes.
 */
export class GcpKmsKeyService implements KeyService {
  readonly id = 'gcp-kms' as const;
  readonly #kms: () => Promise<KmsClientLike>;

  constructor(options: GcpKmsKeyServiceOptions = {}) {
    const given = options.client ? Promise.resolve(options.client) : undefined;
    // Created on first use: the key registry loads this module only for a Cloud KMS key.
    this.#kms = given ? () => given : lazyGoogleClient(() => new KeyManagementServiceClient() satisfies KmsClientLike);
  }

  async wrapKey(keyId: string, fileKey: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    checkKeyId(keyId);
    const aad = Buffer.from(GCP_KMS_ADDITIONAL_AUTHENTICATED_DATA, 'utf8');
    let response;
    try {
      [response] = await abortable(
        (await this.#kms()).encrypt({
          name: keyId,
          plaintext: fileKey,
          additionalAuthenticatedData: aad,
          plaintextCrc32c: { value: crc32c(fileKey) },
          additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
        }),
        signal,
      );
    } catch (error) {
      throw translate(error, keyId, 'encrypt');
    }
    const ciphertext = bytesOf(response.ciphertext);
    if (!ciphertext?.length) throw new KeyError(`Cloud KMS returned no ciphertext for key ${keyId}`);
    if (!response.verifiedPlaintextCrc32c || !response.verifiedAdditionalAuthenticatedDataCrc32c || int64(response.ciphertextCrc32c) !== crc32c(ciphertext)) {
      throw new KeyError(`Cloud KMS key ${keyId}: the encrypt request or its answer was damaged in transit (CRC32C check failed); try again`);
    }
    // Encrypt names the version it used: it must be a version of the key asked for.
    if (response.name && !response.name.startsWith(`${keyId}/cryptoKeyVersions/`)) {
      throw new KeyError(`Cloud KMS encrypted with ${response.name}, not a version of ${keyId}`);
    }
    return ciphertext;
  }

  async unwrapKey(keyId: string, wrapped: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    checkKeyId(keyId);
    const aad = Buffer.from(GCP_KMS_ADDITIONAL_AUTHENTICATED_DATA, 'utf8');
    let response;
    try {
      [response] = await abortable(
        (await this.#kms()).decrypt({
          name: keyId,
          ciphertext: wrapped,
          additionalAuthenticatedData: aad,
          ciphertextCrc32c: { value: crc32c(wrapped) },
          additionalAuthenticatedDataCrc32c: { value: crc32c(aad) },
        }),
        signal,
      );
    } catch (error) {
      throw translate(error, keyId, 'decrypt');
    }
    const plaintext = bytesOf(response.plaintext);
    if (!plaintext?.length) throw new KeyError(`Cloud KMS returned no plaintext for key ${keyId}`);
    if (int64(response.plaintextCrc32c) !== crc32c(plaintext)) {
      throw new KeyError(`Cloud KMS key ${keyId}: the decrypted file key was damaged in transit (CRC32C check failed); try again`);
    }
    return plaintext;
  }

}

function checkKeyId(keyId: string): void {
  if (CRYPTO_KEY.test(keyId)) return;
  if (/\/cryptoKeyVersions\//.test(keyId)) {
    throw new KeyError(`"${keyId}" names a key version: name the CryptoKey itself (projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>); Cloud KMS picks the version`);
  }
  throw new KeyError(`"${keyId}" is not a Cloud KMS CryptoKey name: use projects/<project>/locations/<location>/keyRings/<ring>/cryptoKeys/<key>`);
}


/** SDK errors → what the user can act on, always naming the key. */
function translate(error: unknown, keyId: string, action: 'encrypt' | 'decrypt'): VaultraError | Error {
  if (error instanceof KeyError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const detail = oneLine((error as { details?: unknown } | undefined)?.details || error).slice(0, 300);
  const refused = (reason: string): KeyError => new KeyError(`Cloud KMS key ${keyId}: ${reason} (${detail})`, { cause: error });
  switch (code) {
    case GrpcCode.NOT_FOUND:
      return refused('not found (check the project, location, key ring and key names)');
    case GrpcCode.PERMISSION_DENIED:
      return refused(
        // A deployment's backups only encrypt (the runner account) and its restores only decrypt (the restore account).
        `permission denied to cloudkms.cryptoKeyVersions.useTo${action === 'encrypt' ? 'Encrypt' : 'Decrypt'} (grant the caller roles/cloudkms.${action === 'encrypt' ? 'cryptoKeyEncrypter' : 'cryptoKeyDecrypter'} or cryptoKeyEncrypterDecrypter on the key; Cloud KMS also says this when the key does not exist)`,
      );
    case GrpcCode.UNAUTHENTICATED:
      return refused('no valid Google Cloud credentials (set GOOGLE_APPLICATION_CREDENTIALS or run on a service account)');
    case GrpcCode.FAILED_PRECONDITION:
      return refused(
        action === 'encrypt'
          ? "the key's primary version is not enabled (disabled, destroyed or pending): enable it or choose another key"
          : 'the key version that wrapped this backup is not enabled (disabled or destroyed): enable it to restore backups wrapped under it',
      );
    case GrpcCode.INVALID_ARGUMENT:
      return refused(action === 'decrypt' ? 'Cloud KMS could not decrypt the wrapped file key: it was altered, or wrapped under another key' : 'the key refused the request (is it a symmetric ENCRYPT_DECRYPT key?)');
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.DEADLINE_EXCEEDED:
    case GrpcCode.RESOURCE_EXHAUSTED:
      return new StorageError(`Cloud KMS ${action} with key ${keyId} failed for now: ${detail}`, true, { cause: error });
    default:
      return new StorageError(`Cloud KMS ${action} with key ${keyId} failed: ${detail}`, false, { cause: error });
  }
}

function bytesOf(value: Uint8Array | string | null | undefined): Uint8Array | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? Buffer.from(value, 'base64') : value;
}

function int64(value: Int64Value | null | undefined): number | undefined {
  const raw = value?.value;
  if (raw === null || raw === undefined) return undefined;
  return Number(typeof raw === 'object' ? raw.toString() : raw);
}

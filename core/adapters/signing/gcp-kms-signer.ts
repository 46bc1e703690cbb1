import { createHash } from 'node:crypto';
import { KeyManagementServiceClient } from '@google-cloud/kms';
import type { ManifestSigner, PublicKeySource } from '../../ports/manifest-signer.js';
import { parseSignerKeyPem, type SignerPublicKey } from '../../domain/signer-keys.js';
import { KeyError, StorageError, oneLine, type VaultraError } from '../../errors.js';
import { crc32c } from '../gcp/crc32c.js';
import { abortable } from '../abortable.js';
import { GrpcCode } from '../gcp/grpc-calls.js';
import { lazyGoogleClient } from '../gcp/google-credentials.js';

/** The `google.protobuf.Int64Value` of Cloud KMS's `*Crc32c` fields, as the client returns it. */
interface Int64Value {
  value?: number | string | { toString(): string } | null;
}

/** What the signer needs of `KeyManagementServiceClient` (Cloud KMS has no emulator: tests hand in an in-memory one). */
export interface KmsSignClientLike {
  asymmetricSign(request: { name: string; digest: { sha256: Uint8Array }; digestCrc32c: { value: number } }): Promise<
    [{ name?: string | null; signature?: Uint8Array | string | null; signatureCrc32c?: Int64Value | null; verifiedDigestCrc32c?: boolean | null }, ...unknown[]]
  >;
  getPublicKey(request: { name: string }): Promise<[{ name?: string | null; pem?: string | null; pemCrc32c?: Int64Value | null; algorithm?: string | number | null }, ...unknown[]]>;
}

/**
 * A CryptoKeyVersion: asymmetric signing names one version (unlike Decrypt, which finds it from
 * the ciphertext). Rotation is a new version, so a new name to sign with and to trust.
 */
const KEY_VERSION = /^projects\/[a-z0-9.:-]{1,100}\/locations\/[a-z0-9-]{1,63}\/keyRings\/[A-Za-z0-9_-]{1,63}\/cryptoKeys\/[A-Za-z0-9_-]{1,63}\/cryptoKeyVersions\/\d{1,10}$/;

/**
 * Cloud KMS signing with an `EC_SIGN_P256_SHA256` key version: the payload's SHA-256 goes to
 * `AsymmetricSign` (with Cloud KMS's CRC32C integrity fields both ways), and the DER signature
 * comes back. The runner needs `cloudkms.cryptoKeyVersions.useToSign` only (roles/cloudkms.signer).
 */
export class GcpKmsSigner implements ManifestSigner, PublicKeySource {
  readonly algorithm = 'ecdsa-p256-sha256' as const;
  readonly keyId: string;
  readonly #kms: () => Promise<KmsSignClientLike>;

  constructor(
    private readonly versionName: string,
    options: { readonly client?: KmsSignClientLike } = {},
  ) {
    if (!KEY_VERSION.test(versionName)) {
      throw new KeyError(`"${versionName}" is not a Cloud KMS key version: signing names one, projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>/cryptoKeyVersions/<n>`);
    }
    this.keyId = `gcp-kms:${versionName}`;
    const given = options.client ? Promise.resolve(options.client) : undefined;
    this.#kms = given ? () => given : lazyGoogleClient(() => new KeyManagementServiceClient() as KeyManagementServiceClient & KmsSignClientLike);
  }

  async sign(payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const digest = createHash('sha256').update(payload).digest();
    let response;
    try {
      [response] = await abortable((await this.#kms()).asymmetricSign({ name: this.versionName, digest: { sha256: digest }, digestCrc32c: { value: crc32c(digest) } }), signal);
    } catch (error) {
      throw translate(error, this.versionName, 'sign with');
    }
    const signature = bytesOf(response.signature);
    if (!signature?.length) throw new KeyError(`Cloud KMS returned no signature for ${this.versionName}`);
    if (!response.verifiedDigestCrc32c || int64(response.signatureCrc32c) !== crc32c(signature)) {
      throw new KeyError(`Cloud KMS key ${this.versionName}: the sign request or its answer was damaged in transit (CRC32C check failed); try again`);
    }
    if (response.name && response.name !== this.versionName) throw new KeyError(`Cloud KMS signed with ${response.name}, not ${this.versionName}`);
    return signature;
  }

  async publicKey(signal?: AbortSignal): Promise<SignerPublicKey> {
    let response;
    try {
      [response] = await abortable((await this.#kms()).getPublicKey({ name: this.versionName }), signal);
    } catch (error) {
      throw translate(error, this.versionName, 'read the public key of');
    }
    if (!response.pem || int64(response.pemCrc32c) !== crc32c(Buffer.from(response.pem, 'utf8'))) {
      throw new KeyError(`Cloud KMS key ${this.versionName}: the public key was missing or damaged in transit (CRC32C check failed)`);
    }
    if (response.algorithm !== 'EC_SIGN_P256_SHA256' && response.algorithm !== 12) {
      throw new KeyError(`Cloud KMS key ${this.versionName} is ${String(response.algorithm)}: Vaultra signs with EC_SIGN_P256_SHA256`);
    }
    return parseSignerKeyPem(response.pem);
  }

}

function translate(error: unknown, name: string, doing: string): VaultraError | Error {
  if (error instanceof KeyError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const detail = oneLine((error as { details?: unknown } | undefined)?.details || error).slice(0, 300);
  const refused = (reason: string): KeyError => new KeyError(`Cloud KMS key ${name}: ${reason} (${detail})`, { cause: error });
  switch (code) {
    case GrpcCode.NOT_FOUND:
      return refused('not found (check the project, location, key ring, key and version)');
    case GrpcCode.PERMISSION_DENIED:
      return refused(`permission denied to ${doing} it (the runner needs roles/cloudkms.signer, a restorer roles/cloudkms.publicKeyViewer)`);
    case GrpcCode.UNAUTHENTICATED:
      return refused('no valid Google Cloud credentials (set GOOGLE_APPLICATION_CREDENTIALS or run on a service account)');
    case GrpcCode.FAILED_PRECONDITION:
      return refused('the key version is not enabled (disabled, destroyed or pending)');
    case GrpcCode.INVALID_ARGUMENT:
      return refused('the key refused the request (is it an EC_SIGN_P256_SHA256 ASYMMETRIC_SIGN key?)');
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.DEADLINE_EXCEEDED:
    case GrpcCode.RESOURCE_EXHAUSTED:
      return new StorageError(`Cloud KMS: could not ${doing} ${name} for now: ${detail}`, true, { cause: error });
    default:
      return new StorageError(`Cloud KMS: could not ${doing} ${name}: ${detail}`, false, { cause: error });
  }
}

function bytesOf(value: Uint8Array | string | null | undefined): Buffer | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
}

function int64(value: Int64Value | null | undefined): number | undefined {
  const raw = value?.value;
  if (raw === null || raw === undefined) return undefined;
  return Number(typeof raw === 'object' ? raw.toString() : raw);
}

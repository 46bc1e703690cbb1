import type { SignatureAlgorithm } from '../domain/manifest-signature.js';
import type { SignerPublicKey } from '../domain/signer-keys.js';

/**
 * Signs backup manifests (DESIGN.md §10, Trust): a local Ed25519 key, or an asymmetric key in a
 * cloud key service that signs without the runner ever holding the private key.
 *
 * Verifying needs no signer: `verifySignature` with a trusted public key, so restores need no
 * key-service permission.
 */
export interface ManifestSigner {
  /**
   * Written into every signature file to say which key made it: `ed25519:<public key>` for a
   * local key, `aws-kms:<key ARN>`, `gcp-kms:<key version>`, `azure-keyvault:<key version URL>`.
   * A hint for messages, never a reason to trust.
   */
  readonly keyId: string;
  readonly algorithm: SignatureAlgorithm;
  /**
   * The signature of `payload` (a few hundred bytes): 64 raw bytes for Ed25519, DER for ECDSA
   * over the SHA-256 of `payload`. Rejects with `KeyError` when the key is unusable (missing,
   * disabled, no permission, wrong key type). No side effect: it may be retried.
   */
  sign(payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
}

/** A key whose public half can be fetched from its service, to trust it by name (`--trust aws-kms:<arn>`). */
export interface PublicKeySource {
  /** Rejects with `KeyError` when the key is missing, not an asymmetric signing key of a supported type, or not readable. */
  publicKey(signal?: AbortSignal): Promise<SignerPublicKey>;
}

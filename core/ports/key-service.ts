/** Saved in manifests and in age stanzas: never rename a value, only add. */
export type KeyServiceId = 'aws-kms' | 'gcp-kms' | 'azure-keyvault';

/**
 * A cloud key service that wraps an age file key under one of its keys: the wrapped key goes
 * into the age header as an extra stanza (`-> vaultra-kms <service> <keyId>`) beside any
 * X25519 recipients, so a restore can unwrap it through the same service — and `age` itself
 * still opens the file with an X25519 identity.
 *
 * Key ids are the service's own full names (an AWS key ARN, a GCP CryptoKey resource name,
 * an Azure Key Vault key URL) and must be printable ASCII without spaces.
 */
export interface KeyService {
  readonly id: KeyServiceId;
  /** Wraps (encrypts) `fileKey` under `keyId`. Rejects with `KeyError` when the key is unusable (missing, disabled, no permission). */
  wrapKey(keyId: string, fileKey: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Unwraps what {@link wrapKey} returned for `keyId`. Rejects with `KeyError` when the service
   * refuses (wrong key, no permission, altered ciphertext). May be retried: it has no side effect.
   */
  unwrapKey(keyId: string, wrapped: Uint8Array, signal?: AbortSignal): Promise<Uint8Array>;
}

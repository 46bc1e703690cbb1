import type { CryptographyClient } from '@azure/keyvault-keys';
import type { KeyService } from '../../ports/key-service.js';
import { KeyError } from '../../errors.js';
import { defaultAzureCredential } from '../azure/azure-credential.js';
import { describeAzureError, isCredentialError, statusOf } from '../azure/azure-errors.js';

/** What this service needs of a Key Vault `CryptographyClient` (tests inject one over a fake transport). */
export type KeyVaultCryptoClient = Pick<CryptographyClient, 'wrapKey' | 'unwrapKey'>;

export interface AzureKeyVaultKeyServiceOptions {
  /** The client for one key id. @default a `CryptographyClient` with `DefaultAzureCredential` */
  readonly clientFor?: (keyId: string) => KeyVaultCryptoClient;
}

/**
 * A key version's URL: `https://<vault>.vault.azure.net/keys/<name>/<version>` (also Managed
 * HSM and sovereign-cloud hosts). The version is required: a versionless id means "the current
 * version", so after a rotation it would unwrap with the new version and every older backup
 * would stop opening.
 */
const KEY_ID = /^https:\/\/[a-z0-9.-]+\/keys\/[A-Za-z0-9-]{1,127}\/[0-9a-f]{32}$/;

/**
 * RSA-OAEP with SHA-256: Key Vault's recommended key-wrap algorithm for RSA keys (software or
 * HSM). The private key never leaves Key Vault: unwrapping is always a call to the service.
 */
const ALGORITHM = 'RSA-OAEP-256';

/**
 * Azure Key Vault (or Managed HSM) wrapping age file keys: `wrapKey`/`unwrapKey` with
 * RSA-OAEP-256 under an RSA key version. Rotating the key in Key Vault creates a new version
 * with a new id; backups keep naming the version that wrapped them, which stays usable (for
 * `unwrapKey`) until it is disabled or deleted.
 *
 * A backup needs the `wrapKey` key permission and a restore `unwrapKey` (infra/azure gives its
 * runner and restore identities one each; "Key Vault Crypto Service Encryption User" has both);
 * with `get` as well, the SDK reads the key once and checks it is enabled, unexpired
 * and allowed those operations before calling the service. Retries are the SDK's default
 * policy (exponential with jitter on 408/429/5xx and network errors): both calls are free of
 * side effects.
 */
export class AzureKeyVaultKeyService implements KeyService {
  readonly id = 'azure-keyvault' as const;
  private readonly clients = new Map<string, Promise<KeyVaultCryptoClient>>();

  constructor(private readonly options: AzureKeyVaultKeyServiceOptions = {}) {}

  async wrapKey(keyId: string, fileKey: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const client = await this.clientFor(keyId);
    try {
      return (await client.wrapKey(ALGORITHM, fileKey, signal ? { abortSignal: signal } : {})).result;
    } catch (error) {
      throw keyError(error, 'wrapKey', keyId);
    }
  }

  async unwrapKey(keyId: string, wrapped: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const client = await this.clientFor(keyId);
    try {
      return (await client.unwrapKey(ALGORITHM, wrapped, signal ? { abortSignal: signal } : {})).result;
    } catch (error) {
      throw keyError(error, 'unwrapKey', keyId);
    }
  }

  private clientFor(keyId: string): Promise<KeyVaultCryptoClient> {
    if (!KEY_ID.test(keyId)) {
      return Promise.reject(
        new KeyError(`Key Vault key id ${keyId} is not a key version URL (https://<vault>.vault.azure.net/keys/<name>/<32-hex version>): the version is required, so backups still open after a rotation`),
      );
    }
    let client = this.clients.get(keyId);
    if (!client) {
      client = this.options.clientFor
        ? Promise.resolve(this.options.clientFor(keyId))
        : import('@azure/keyvault-keys').then(({ CryptographyClient }) => new CryptographyClient(keyId, defaultAzureCredential()));
      this.clients.set(keyId, client);
    }
    return client;
  }
}

/** Key Vault's answer as a `KeyError` naming the key (never the key material). */
function keyError(error: unknown, operation: 'wrapKey' | 'unwrapKey', keyId: string): unknown {
  if (error instanceof Error && error.name === 'AbortError') return error;
  const status = statusOf(error);
  const detail = describeAzureError(error);
  if (status === 404) return new KeyError(`Key Vault key ${keyId} not found (${detail})`, { cause: error });
  if (status === 401 || status === 403 || isCredentialError(error)) {
    return new KeyError(
      `Key Vault refused ${operation} with ${keyId}: ${detail} (the identity needs the ${operation} permission — a backup wraps only, a restore unwraps only; the "Key Vault Crypto Service Encryption User" role has both — and the key version must be enabled)`,
      { cause: error },
    );
  }
  if (status === 400 && operation === 'unwrapKey') {
    return new KeyError(`Key Vault could not unwrap the file key with ${keyId}: it was wrapped by another key, or altered (${detail})`, { cause: error });
  }
  return new KeyError(`Key Vault ${operation} with ${keyId} failed: ${detail}`, { cause: error });
}

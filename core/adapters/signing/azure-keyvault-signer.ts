import { createHash, createPublicKey, type JsonWebKey as NodeJsonWebKey } from 'node:crypto';
import type { CryptographyClient, JsonWebKey, KeyVaultKey } from '@azure/keyvault-keys';
import type { ManifestSigner, PublicKeySource } from '../../ports/manifest-signer.js';
import { signerPublicKeyOf, type SignerPublicKey } from '../../domain/signer-keys.js';
import { KeyError } from '../../errors.js';
import { defaultAzureCredential } from '../azure/azure-credential.js';
import { describeAzureError, isCredentialError, statusOf } from '../azure/azure-errors.js';
import { p1363ToDer } from './ecdsa-der.js';

/**
 * What the signer needs of Key Vault: `CryptographyClient.sign` for the key version, and the key
 * itself (`KeyClient.getKey`) for its public half. Tests build both over a fake transport.
 */
export interface KeyVaultSignClient {
  sign: CryptographyClient['sign'];
  getKey(options: { abortSignal?: AbortSignal }): Promise<Pick<KeyVaultKey, 'key'>>;
}

/**
 * A key version URL (`https://<vault>.vault.azure.net/keys/<name>/<version>`): a versionless id
 * would sign with whatever version is current, and trust given to one public key would silently
 * stop matching after a rotation.
 */
const KEY_ID = /^https:\/\/[a-z0-9.-]+\/keys\/[A-Za-z0-9-]{1,127}\/[0-9a-f]{32}$/;

/**
 * Azure Key Vault (or Managed HSM) signing with an EC P-256 key version: `sign('ES256', sha256)`,
 * so the runner needs the `sign` key permission only ("Key Vault Crypto User" or a custom role).
 * Key Vault returns r ‖ s; the signature file holds DER, like the other services.
 */
export class AzureKeyVaultSigner implements ManifestSigner, PublicKeySource {
  readonly algorithm = 'ecdsa-p256-sha256' as const;
  readonly keyId: string;
  #client: Promise<KeyVaultSignClient> | undefined;

  constructor(
    private readonly keyUrl: string,
    private readonly options: { readonly client?: KeyVaultSignClient } = {},
  ) {
    if (!KEY_ID.test(keyUrl)) {
      throw new KeyError(`Key Vault key id ${keyUrl} is not a key version URL (https://<vault>.vault.azure.net/keys/<name>/<32-hex version>): signing names one version`);
    }
    this.keyId = `azure-keyvault:${keyUrl}`;
  }

  async sign(payload: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    const digest = createHash('sha256').update(payload).digest();
    let result;
    try {
      ({ result } = await (await this.#kms()).sign('ES256', digest, signal ? { abortSignal: signal } : {}));
    } catch (error) {
      throw keyError(error, 'sign', this.keyUrl);
    }
    return p1363ToDer(result);
  }

  async publicKey(signal?: AbortSignal): Promise<SignerPublicKey> {
    let jwk: JsonWebKey | undefined;
    try {
      jwk = (await (await this.#kms()).getKey(signal ? { abortSignal: signal } : {})).key;
    } catch (error) {
      throw keyError(error, 'get', this.keyUrl);
    }
    if (!jwk || (jwk.kty !== 'EC' && jwk.kty !== 'EC-HSM') || jwk.crv !== 'P-256' || !jwk.x || !jwk.y) {
      throw new KeyError(`Key Vault key ${this.keyUrl} is a ${jwk?.kty ?? 'unknown'} ${jwk?.crv ?? ''} key: Vaultra signs with an EC P-256 key (ES256)`);
    }
    const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
    const key: NodeJsonWebKey = { kty: 'EC', crv: 'P-256', x: b64url(jwk.x), y: b64url(jwk.y) };
    return signerPublicKeyOf(createPublicKey({ key, format: 'jwk' }));
  }

  #kms(): Promise<KeyVaultSignClient> {
    this.#client ??= this.options.client ? Promise.resolve(this.options.client) : defaultClient(this.keyUrl);
    return this.#client;
  }
}

/** The SDK's clients with `DefaultAzureCredential`, loaded on first use. */
async function defaultClient(keyUrl: string): Promise<KeyVaultSignClient> {
  const { CryptographyClient, KeyClient } = await import('@azure/keyvault-keys');
  const credential = defaultAzureCredential();
  const url = new URL(keyUrl);
  const [, , name, version] = url.pathname.split('/');
  const crypto = new CryptographyClient(keyUrl, credential);
  const keys = new KeyClient(url.origin, credential);
  return {
    sign: (algorithm, digest, options) => crypto.sign(algorithm, digest, options),
    getKey: (options) => keys.getKey(name!, { version: version!, ...options }),
  };
}

function keyError(error: unknown, operation: 'sign' | 'get', keyUrl: string): unknown {
  if (error instanceof KeyError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const status = statusOf(error);
  const detail = describeAzureError(error);
  if (status === 404) return new KeyError(`Key Vault key ${keyUrl} not found (${detail})`, { cause: error });
  if (status === 401 || status === 403 || isCredentialError(error)) {
    return new KeyError(`Key Vault refused ${operation} with ${keyUrl}: ${detail} (the identity needs the ${operation} key permission, and the key version must be enabled)`, { cause: error });
  }
  return new KeyError(`Key Vault ${operation} with ${keyUrl} failed: ${detail}`, { cause: error });
}

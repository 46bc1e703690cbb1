import type { SecretClient } from '@azure/keyvault-secrets';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import { ConfigError, NotFoundError, StorageError } from '../../errors.js';
import { defaultAzureCredential } from '../azure/azure-credential.js';
import { describeAzureError, isCredentialError, isRetryableAzureError, statusOf } from '../azure/azure-errors.js';

/** What this resolver needs of a Key Vault `SecretClient` (tests inject one over a fake transport). */
export type KeyVaultSecretClient = Pick<SecretClient, 'getSecret'>;

export interface AzureKeyVaultSecretResolverOptions {
  /** The client for one vault URL (`https://<vault>.vault.azure.net`). @default a `SecretClient` with `DefaultAzureCredential` */
  readonly clientFor?: (vaultUrl: string) => KeyVaultSecretClient;
}

/**
 * `secret+azure://<vault>/<secret>[/<version>]`. `<vault>` is a vault name (3-24 letters,
 * digits, hyphens: `https://<vault>.vault.azure.net`) or a full host for other clouds
 * (`myvault.vault.azure.cn`). Secret names are 1-127 letters, digits and hyphens; a version is
 * 32 hex digits (without one, the current version).
 */
const REFERENCE = /^secret\+azure:\/\/([A-Za-z0-9-]{3,24}|[a-z0-9-]+(?:\.[a-z0-9-]+)+)\/([A-Za-z0-9-]{1,127})(?:\/([0-9a-f]{32}))?$/;

/**
 * Secrets from Azure Key Vault, read with `DefaultAzureCredential` (the identity needs the
 * secrets `get` permission, e.g. the "Key Vault Secrets User" role). The value is returned as
 * stored: a database URL or the RDS-style JSON shape. Retries are the SDK's default policy.
 */
export class AzureKeyVaultSecretResolver implements SecretResolver {
  readonly scheme = 'secret+azure';
  private readonly clients = new Map<string, Promise<KeyVaultSecretClient>>();

  constructor(private readonly options: AzureKeyVaultSecretResolverOptions = {}) {}

  async resolve(reference: string, signal?: AbortSignal): Promise<string> {
    const match = REFERENCE.exec(reference);
    if (!match) {
      throw new ConfigError(`malformed secret reference ${reference}: expected secret+azure://<vault>/<secret-name>[/<32-hex version>]`);
    }
    const [, vault = '', name = '', version] = match;
    const vaultUrl = `https://${vault.includes('.') ? vault : `${vault.toLowerCase()}.vault.azure.net`}`;
    const client = await this.clientFor(vaultUrl);
    let secret;
    try {
      secret = await client.getSecret(name, { ...(version ? { version } : {}), ...(signal ? { abortSignal: signal } : {}) });
    } catch (error) {
      throw secretError(error, reference);
    }
    if (secret.value === undefined) throw new NotFoundError(`secret ${reference} has no value`);
    return secret.value;
  }

  private clientFor(vaultUrl: string): Promise<KeyVaultSecretClient> {
    let client = this.clients.get(vaultUrl);
    if (!client) {
      client = this.options.clientFor
        ? Promise.resolve(this.options.clientFor(vaultUrl))
        : import('@azure/keyvault-secrets').then(({ SecretClient }) => new SecretClient(vaultUrl, defaultAzureCredential()));
      this.clients.set(vaultUrl, client);
    }
    return client;
  }
}

/** Key Vault's answer, translated; the message names the reference, never a value. */
function secretError(error: unknown, reference: string): unknown {
  if (error instanceof Error && error.name === 'AbortError') return error;
  const status = statusOf(error);
  const detail = describeAzureError(error);
  if (status === 404) return new NotFoundError(`secret ${reference} not found (${detail})`, { cause: error });
  if (status === 401 || status === 403 || isCredentialError(error)) {
    return new ConfigError(
      `Key Vault refused to read ${reference}: ${detail} (the identity needs the secrets get permission, e.g. the "Key Vault Secrets User" role, and the secret must be enabled)`,
      { cause: error },
    );
  }
  return new StorageError(`reading ${reference} from Key Vault failed: ${detail}`, isRetryableAzureError(error), { cause: error });
}

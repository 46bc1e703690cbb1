import type { SecretResolver } from '../../ports/secret-resolver.js';
import { ConfigError } from '../../errors.js';

/** Placeholder while the adapter is being built. */
export class AzureKeyVaultSecretResolver implements SecretResolver {
  readonly scheme = 'secret+azure';
  resolve(): Promise<string> {
    return Promise.reject(new ConfigError('secret+azure:// secrets are not built yet'));
  }
}

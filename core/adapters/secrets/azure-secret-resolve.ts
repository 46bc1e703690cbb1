import { ConfigError } from '../../errors.js';
import { AzureKeyVaultSecretResolver } from './azure-secret-resolver.js';
import { EnvSecretResolver } from './env-secret-resolver.js';
import { secretResolve } from './secret-resolve.js';

/** `env://` and `secret+azure://` only: what an Azure function resolves, without the other clouds' SDKs in its bundle. */
export const resolveAzureSecret = secretResolve(async (scheme) => {
  if (scheme === 'env') return new EnvSecretResolver();
  if (scheme === 'secret+azure') return new AzureKeyVaultSecretResolver();
  throw new ConfigError(`a ${scheme}:// reference cannot be read from Azure: use secret+azure:// or env://`);
});

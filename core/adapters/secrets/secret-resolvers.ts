import type { SecretResolver } from '../../ports/secret-resolver.js';
import type { SecretScheme } from '../../domain/connection-secret.js';
import { secretResolve } from './secret-resolve.js';
import { EnvSecretResolver } from './env-secret-resolver.js';

/** The resolver for a scheme; cloud SDKs are imported on first use. */
async function resolverFor(scheme: SecretScheme): Promise<SecretResolver> {
  switch (scheme) {
    case 'env':
      return new EnvSecretResolver();
    case 'secret+aws':
      return new (await import('./aws-secret-resolver.js')).AwsSecretsManagerResolver();
    case 'secret+gcp':
      return new (await import('./gcp-secret-resolver.js')).GcpSecretManagerResolver();
    case 'secret+azure':
      return new (await import('./azure-secret-resolver.js')).AzureKeyVaultSecretResolver();
  }
}

/**
 * Resolves a secret reference of any scheme and registers the value for redaction before anyone
 * can log it. Values that are not references are returned as they are.
 */
export const resolveSecret = secretResolve(resolverFor);

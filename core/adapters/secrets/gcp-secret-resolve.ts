import type { SecretResolver } from '../../ports/secret-resolver.js';
import { ConfigError } from '../../errors.js';
import { EnvSecretResolver } from './env-secret-resolver.js';
import { secretResolve } from './secret-resolve.js';

let secretManager: Promise<SecretResolver> | undefined;

/**
 * `env://` and `secret+gcp://` only: what a GCP function resolves, without the other clouds' SDKs
 * in its bundle. The Secret Manager SDK is loaded on the first `secret+gcp://` reference, and its
 * resolver (with its gRPC channel) is kept for the instance's later invocations.
 */
export const resolveGcpSecret = secretResolve(async (scheme) => {
  if (scheme === 'env') return new EnvSecretResolver();
  if (scheme === 'secret+gcp') {
    secretManager ??= import('./gcp-secret-resolver.js').then(({ GcpSecretManagerResolver }) => new GcpSecretManagerResolver());
    return secretManager;
  }
  throw new ConfigError(`a ${scheme}:// reference cannot be read from Google Cloud: use secret+gcp:// or env://`);
});

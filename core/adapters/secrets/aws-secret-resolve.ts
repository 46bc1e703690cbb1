import { ConfigError } from '../../errors.js';
import { AwsSecretsManagerResolver } from './aws-secret-resolver.js';
import { EnvSecretResolver } from './env-secret-resolver.js';
import { secretResolve } from './secret-resolve.js';

/** `env://` and `secret+aws://` only: what an AWS function resolves, without the other clouds' SDKs in its bundle. */
export const resolveAwsSecret = secretResolve(async (scheme) => {
  if (scheme === 'env') return new EnvSecretResolver();
  if (scheme === 'secret+aws') return new AwsSecretsManagerResolver();
  throw new ConfigError(`a ${scheme}:// reference cannot be read from AWS: use secret+aws:// or env://`);
});

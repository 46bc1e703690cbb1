import type { SecretResolver } from '../../ports/secret-resolver.js';
import { ConfigError } from '../../errors.js';

/** Placeholder while the adapter is being built. */
export class AwsSecretsManagerResolver implements SecretResolver {
  readonly scheme = 'secret+aws';
  resolve(): Promise<string> {
    return Promise.reject(new ConfigError('secret+aws:// secrets are not built yet'));
  }
}

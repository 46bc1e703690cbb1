import type { SecretResolver } from '../../ports/secret-resolver.js';
import { ConfigError } from '../../errors.js';

/** Placeholder while the adapter is being built. */
export class GcpSecretManagerResolver implements SecretResolver {
  readonly scheme = 'secret+gcp';
  resolve(): Promise<string> {
    return Promise.reject(new ConfigError('secret+gcp:// secrets are not built yet'));
  }
}

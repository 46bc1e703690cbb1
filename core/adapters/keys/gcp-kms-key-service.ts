import type { KeyService } from '../../ports/key-service.js';
import { ConfigError } from '../../errors.js';

/** Placeholder while the adapter is being built. */
export class GcpKmsKeyService implements KeyService {
  readonly id = 'gcp-kms' as const;
  wrapKey(): Promise<Uint8Array> {
    return Promise.reject(new ConfigError('gcp-kms keys are not built yet'));
  }
  unwrapKey(): Promise<Uint8Array> {
    return Promise.reject(new ConfigError('gcp-kms keys are not built yet'));
  }
}

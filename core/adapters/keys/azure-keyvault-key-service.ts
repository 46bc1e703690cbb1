import type { KeyService } from '../../ports/key-service.js';
import { ConfigError } from '../../errors.js';

/** Placeholder while the adapter is being built. */
export class AzureKeyVaultKeyService implements KeyService {
  readonly id = 'azure-keyvault' as const;
  wrapKey(): Promise<Uint8Array> {
    return Promise.reject(new ConfigError('azure-keyvault keys are not built yet'));
  }
  unwrapKey(): Promise<Uint8Array> {
    return Promise.reject(new ConfigError('azure-keyvault keys are not built yet'));
  }
}

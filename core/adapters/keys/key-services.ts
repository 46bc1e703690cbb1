import type { KeyService, KeyServiceId } from '../../ports/key-service.js';

/** The key service for an id; cloud SDKs are imported on first use. */
export async function keyServiceFor(id: KeyServiceId): Promise<KeyService> {
  switch (id) {
    case 'aws-kms':
      return new (await import('./aws-kms-key-service.js')).AwsKmsKeyService();
    case 'gcp-kms':
      return new (await import('./gcp-kms-key-service.js')).GcpKmsKeyService();
    case 'azure-keyvault':
      return new (await import('./azure-keyvault-key-service.js')).AzureKeyVaultKeyService();
  }
}

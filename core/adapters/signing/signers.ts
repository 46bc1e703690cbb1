import type { ManifestSigner, PublicKeySource } from '../../ports/manifest-signer.js';

/** Key services that can sign manifests; the prefix of a `--signing-key` / `--trust` value. Never rename one. */
export const KMS_SIGNER_SERVICES = ['aws-kms', 'gcp-kms', 'azure-keyvault'] as const;
export type KmsSignerService = (typeof KMS_SIGNER_SERVICES)[number];

/** `aws-kms:<key ARN>` → its service, or `undefined` for anything else (a file, a public key). */
export function kmsSignerService(ref: string): KmsSignerService | undefined {
  return KMS_SIGNER_SERVICES.find((service) => ref.startsWith(`${service}:`));
}

/** The signer for `<service>:<key>`; the service's SDK is imported on first use. */
export async function kmsSignerFor(ref: string): Promise<ManifestSigner & PublicKeySource> {
  const service = kmsSignerService(ref);
  const key = ref.slice(ref.indexOf(':') + 1);
  switch (service) {
    case 'aws-kms':
      return new (await import('./aws-kms-signer.js')).AwsKmsSigner(key);
    case 'gcp-kms':
      return new (await import('./gcp-kms-signer.js')).GcpKmsSigner(key);
    case 'azure-keyvault':
      return new (await import('./azure-keyvault-signer.js')).AzureKeyVaultSigner(key);
    default:
      throw new Error(`not a key service reference: ${ref}`);
  }
}

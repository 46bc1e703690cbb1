import type { StorageBackend } from '../../ports/storage-backend.js';
import { ConfigError } from '../../errors.js';
import { FileStorageBackend } from './file-storage.js';

export const SUPPORTED_STORAGE = 'file://<path>, s3://<bucket>/<prefix>, gs://<bucket>/<prefix>, azblob://<account>/<container>/<prefix>';

/**
 * The storage a URL names. Cloud adapters are imported on first use, so a command (or a
 * function bundle) that never touches a cloud never loads its SDK. Endpoint overrides for
 * emulators and S3-compatible stores come from each adapter's URL query or environment.
 */
export async function openStorage(url: string): Promise<StorageBackend> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
    case 'file':
      return FileStorageBackend.fromUrl(url);
    case 's3':
      return (await import('./s3/s3-storage.js')).S3StorageBackend.fromUrl(url);
    case 'gs':
      return (await import('./gcs/gcs-storage.js')).GcsStorageBackend.fromUrl(url);
    case 'azblob':
      return (await import('./azure/azure-blob-storage.js')).AzureBlobStorageBackend.fromUrl(url);
    default:
      throw new ConfigError(`unsupported storage URL scheme "${scheme}:" (supported: ${SUPPORTED_STORAGE})`);
  }
}

import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../../ports/catalog.js';
import type { StorageBackend } from '../../ports/storage-backend.js';
import { FileStorageBackend } from '../storage/file-storage.js';
import { LocalCatalog } from './local-catalog.js';

export const SUPPORTED_CATALOGS = '<folder>, dynamodb://<table>, firestore://<project>/<collection>, aztable://<account>/<table>';

/**
 * The catalog a `--catalog` value names: a cloud table by URL, or a local folder. Without one,
 * the local catalog sits beside `file://` backups (so a backup folder carries its own history),
 * else in the user's state folder. Cloud adapters are imported on first use.
 */
export async function openCatalog(spec: string | undefined, storage: StorageBackend): Promise<Catalog> {
  const scheme = spec ? /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec)?.[1]?.toLowerCase() : undefined;
  switch (scheme) {
    case 'dynamodb':
      return (await import('./dynamodb-catalog.js')).DynamoDbCatalog.fromUrl(spec!);
    case 'firestore':
      return (await import('./firestore-catalog.js')).FirestoreCatalog.fromUrl(spec!);
    case 'aztable':
      return (await import('./azure-table-catalog.js')).AzureTableCatalog.fromUrl(spec!);
    default:
      break;
  }
  if (spec) return new LocalCatalog(spec.replace(/^file:\/\//, ''));
  if (storage instanceof FileStorageBackend) return new LocalCatalog(join(storage.rootDir, '.vaultra', 'catalog'));
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return new LocalCatalog(join(state, 'vaultra', 'catalog'));
}

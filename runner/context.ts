import { join } from 'node:path';
import { homedir } from 'node:os';
import type { StorageBackend } from '../core/ports/storage-backend.js';
import type { Catalog } from '../core/ports/catalog.js';
import { FileStorageBackend } from '../core/adapters/storage/file-storage.js';
import { LocalCatalog } from '../core/adapters/catalog/local-catalog.js';
import { ConfigError } from '../core/errors.js';

export const DEFAULT_STORAGE = 'file://./vaultra-backups';

/** The storage a URL names. Only `file://` in this version; the cloud schemes come with their adapters. */
export function storageFor(url: string): StorageBackend {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'file' || scheme === undefined) return FileStorageBackend.fromUrl(url);
  throw new ConfigError(`storage scheme "${scheme}:" is not supported by this build (supported: file://)`);
}

/**
 * The local catalog: beside the backups for `file://` storage (so a backup folder carries its
 * own history), else in the user's state folder. `--catalog` or VAULTRA_CATALOG override.
 */
export function catalogFor(storage: StorageBackend, override?: string): Catalog {
  if (override) return new LocalCatalog(override);
  if (storage instanceof FileStorageBackend) return new LocalCatalog(join(storage.rootDir, '.vaultra', 'catalog'));
  const state = process.env.XDG_STATE_HOME || join(homedir(), '.local', 'state');
  return new LocalCatalog(join(state, 'vaultra', 'catalog'));
}

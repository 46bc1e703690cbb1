import type { Readable } from 'node:stream';
import type { ObjectInfo, StorageBackend } from '../../../ports/storage-backend.js';
import { ConfigError } from '../../../errors.js';

/** Placeholder while the adapter is being built. */
export class GcsStorageBackend implements StorageBackend {
  static fromUrl(url: string): GcsStorageBackend {
    void url;
    throw new ConfigError('gs:// storage is not built yet');
  }
  readonly location = 'gs://';
  put(): Promise<{ readonly sizeBytes: number }> {
    return Promise.reject(new ConfigError('gs:// storage is not built yet'));
  }
  get(): Promise<Readable> {
    return Promise.reject(new ConfigError('gs:// storage is not built yet'));
  }
  // eslint-disable-next-line require-yield
  async *list(): AsyncIterable<ObjectInfo> {
    throw new ConfigError('gs:// storage is not built yet');
  }
  delete(): Promise<void> {
    return Promise.reject(new ConfigError('gs:// storage is not built yet'));
  }
}

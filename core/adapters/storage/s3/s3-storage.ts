import type { Readable } from 'node:stream';
import type { ObjectInfo, StorageBackend } from '../../../ports/storage-backend.js';
import { ConfigError } from '../../../errors.js';

/** Placeholder while the adapter is being built. */
export class S3StorageBackend implements StorageBackend {
  static fromUrl(url: string): S3StorageBackend {
    void url;
    throw new ConfigError('s3:// storage is not built yet');
  }
  readonly location = 's3://';
  put(): Promise<{ readonly sizeBytes: number }> {
    return Promise.reject(new ConfigError('s3:// storage is not built yet'));
  }
  get(): Promise<Readable> {
    return Promise.reject(new ConfigError('s3:// storage is not built yet'));
  }
  // eslint-disable-next-line require-yield
  async *list(): AsyncIterable<ObjectInfo> {
    throw new ConfigError('s3:// storage is not built yet');
  }
  delete(): Promise<void> {
    return Promise.reject(new ConfigError('s3:// storage is not built yet'));
  }
}

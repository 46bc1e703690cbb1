/**
 * A backup store as a user (or anyone with write access to the bucket) sees it from outside:
 * objects to read, rewrite, copy and delete behind Vaultra's back. `file://` on disk, `s3://` on
 * moto, `gs://` on fake-gcs-server and `azblob://` on Azurite, each handled through the real
 * adapter, and named to the CLI by the same URL.
 */
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { S3StorageBackend } from '../../core/adapters/storage/s3/s3-storage.js';
import { GcsStorageBackend } from '../../core/adapters/storage/gcs/gcs-storage.js';
import { AzureBlobStorageBackend } from '../../core/adapters/storage/azure/azure-blob-storage.js';
import { BlobServiceClient } from '@azure/storage-blob';
import type { StorageBackend } from '../../core/ports/storage-backend.js';
import type { MotoConnection } from './moto-server.js';
import { createBucket, type FakeGcsConnection } from './fake-gcs-server.js';
import { AZURITE_ACCOUNT, uniqueAzureName, type AzuriteConnection } from './azurite-server.js';

export interface DamageStore {
  /** What the CLI gets as `--to`/`--from`. */
  readonly url: string;
  /** The adapter's own `location` (no query): what run records say. */
  readonly location: string;
  /** What the CLI's environment needs to reach the store (credentials). */
  readonly env: NodeJS.ProcessEnv;
  read(key: string): Promise<Buffer>;
  write(key: string, bytes: Buffer | string): Promise<void>;
  remove(key: string): Promise<void>;
  keys(prefix?: string): Promise<string[]>;
}

function wrap(storage: StorageBackend, url: string, env: NodeJS.ProcessEnv): DamageStore {
  return {
    url,
    location: storage.location,
    env,
    async read(key) {
      const chunks: Buffer[] = [];
      for await (const chunk of await storage.get(key)) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    async write(key, bytes) {
      await storage.put(key, Readable.from([Buffer.from(bytes)]));
    },
    remove: (key) => storage.delete(key),
    async keys(prefix = '') {
      const found: string[] = [];
      for await (const object of storage.list(prefix)) found.push(object.key);
      return found.sort();
    },
  };
}

/** A fresh folder under `root`. */
export function fileDamageStore(root: string): DamageStore {
  const dir = join(mkdtempSync(join(root, 'store-')), 'backups');
  const storage = new FileStorageBackend(dir);
  return wrap(storage, storage.location, {});
}

/** A fresh bucket on moto; the endpoint travels in the URL, the credentials in the environment. */
export async function s3DamageStore(moto: MotoConnection): Promise<DamageStore> {
  const credentials = { accessKeyId: moto.env.AWS_ACCESS_KEY_ID!, secretAccessKey: moto.env.AWS_SECRET_ACCESS_KEY! };
  const bucket = `vt-dmg-${randomBytes(5).toString('hex')}`;
  const admin = new S3Client({ endpoint: moto.endpoint, region: moto.region, forcePathStyle: true, credentials });
  try {
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  } finally {
    admin.destroy();
  }
  const url = `s3://${bucket}/vt?endpoint=${encodeURIComponent(moto.endpoint)}`;
  const storage = S3StorageBackend.fromUrl(url, { credentials, env: {} });
  return wrap(storage, url, { ...moto.env, AWS_PROFILE: undefined, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' });
}

/** A fresh bucket on fake-gcs-server, reached through `STORAGE_EMULATOR_HOST`. */
export async function gcsDamageStore(gcs: FakeGcsConnection): Promise<DamageStore> {
  const bucket = `vt-dmg-${randomBytes(5).toString('hex')}`;
  await createBucket(gcs.endpoint, bucket);
  const url = `gs://${bucket}/vt`;
  return wrap(GcsStorageBackend.fromUrl(url, { ...gcs.env }), url, { ...gcs.env });
}

/** A fresh container on Azurite, reached through its connection string. */
export async function azureDamageStore(azurite: AzuriteConnection): Promise<DamageStore> {
  const container = uniqueAzureName('vt-dmg');
  await BlobServiceClient.fromConnectionString(azurite.env.AZURE_STORAGE_CONNECTION_STRING!).createContainer(container);
  const url = `azblob://${AZURITE_ACCOUNT}/${container}/vt`;
  return wrap(AzureBlobStorageBackend.fromUrl(url, { env: { ...azurite.env } }), url, { ...azurite.env });
}

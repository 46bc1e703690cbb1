import { describe, expect, it } from 'vitest';
import { parseStorageLocation, renderStorageLocation, storageUrlOf } from '../../core/domain/storage-location.js';
import { FileStorageBackend } from '../../core/adapters/storage/file-storage.js';
import { formatAzureBlobUrl, parseAzureBlobUrl } from '../../core/adapters/storage/azure/azure-blob-url.js';
import { parseGcsUrl } from '../../core/adapters/storage/gcs/gcs-url.js';
import { parseS3Url } from '../../core/adapters/storage/s3/s3-url.js';

const FOLDER = 'app/2026/12/06/20261206T101500.000Z-abc123';

describe('storage locations: a key joins the path, the options stay at the end', () => {
  it.each([
    ['azblob with an endpoint', formatAzureBlobUrl(parseAzureBlobUrl('azblob://devstoreaccount1/c1c/p?endpoint=http://127.0.0.1:10000/devstoreaccount1')), `azblob://devstoreaccount1/c1c/p/${FOLDER}?endpoint=http://127.0.0.1:10000/devstoreaccount1`],
    ['azblob without a prefix, with options', formatAzureBlobUrl(parseAzureBlobUrl('azblob://acct1/c1c?endpoint=http://127.0.0.1:1/acct1&legalHold=true')), `azblob://acct1/c1c/${FOLDER}?endpoint=http://127.0.0.1:1/acct1&legalHold=true`],
    ['azblob plain', formatAzureBlobUrl(parseAzureBlobUrl('azblob://acct1/c1c/deep/er')), `azblob://acct1/c1c/deep/er/${FOLDER}`],
    ['s3 with a region', parseS3Url('s3://bucket-1/p?region=eu-west-1', {}).location, `s3://bucket-1/p/${FOLDER}`],
    ['s3 with a region, as a raw URL', 's3://bucket-1/p?region=eu-west-1', `s3://bucket-1/p/${FOLDER}?region=eu-west-1`],
    ['gs', parseGcsUrl('gs://bucket-1/a/b?chunkSizeMiB=8', {}).location, `gs://bucket-1/a/b/${FOLDER}`],
    ['gs bucket root', 'gs://bucket-1', `gs://bucket-1/${FOLDER}`],
    ['file (a folder named with "?")', new FileStorageBackend('/tmp/vaultra store?x').location, `file:///tmp/vaultra%20store%3Fx/${FOLDER}`],
    ['file with a trailing slash', 'file:///tmp/store/', `file:///tmp/store/${FOLDER}`],
  ])('%s', (_what, location, expected) => {
    expect(storageUrlOf(location, FOLDER)).toBe(expected);
  });

  it('parses once into root and query, and renders the location itself back unchanged', () => {
    const url = 'azblob://acct1/c1c/p?endpoint=http://127.0.0.1:1/acct1';
    const parsed = parseStorageLocation(url);
    expect(parsed).toEqual({ root: 'azblob://acct1/c1c/p', query: 'endpoint=http://127.0.0.1:1/acct1' });
    expect(renderStorageLocation(parsed)).toBe(url);
    expect(renderStorageLocation(parseStorageLocation('file:///'), 'x/y')).toBe('file:///x/y');
  });
});

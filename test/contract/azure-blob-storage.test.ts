/**
 * AzureBlobStorageBackend against Azurite: the StorageBackend contract (with the default block
 * and range sizes, and with small ones so every object spans many blocks and ranges), then what
 * is specific to Azure: the URL, where credentials come from, the block schedule on the wire,
 * nothing visible before the commit, Content-MD5 checked on read, ETag-pinned ranges.
 * Fault injection and immutability headers are in test/integration/azure-blob-faults.test.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BlobServiceClient } from '@azure/storage-blob';
import { AzureBlobStorageBackend, immutabilityOptions, type AzureBlobStorageOptions } from '../../core/adapters/storage/azure/azure-blob-storage.js';
import { formatAzureBlobUrl, parseAzureBlobUrl } from '../../core/adapters/storage/azure/azure-blob-url.js';
import { azureStorageAccess } from '../../core/adapters/azure/azure-storage-access.js';
import { blockSizeBytes, blocksInFlight, capacityBytes, DEFAULT_BLOCK_SCHEDULE, MAX_BLOCK_SIZE_BYTES, MAX_BLOCKS } from '../../core/adapters/storage/azure/block-schedule.js';
import { openStorage } from '../../core/adapters/storage/storage-registry.js';
import { ConfigError, IntegrityError, NotFoundError, StorageError } from '../../core/errors.js';
import { AZURITE_ACCOUNT, AZURITE_KEY, azuriteEndpoints, uniqueAzureName } from '../support/azurite-server.js';
import { requireAzurite } from '../support/requirements.js';
import { storageBackendContract } from './storage-backend.contract.js';
import { leftoverSweeperContract } from './leftover-sweeper.contract.js';

const KiB = 1024;
const MiB = 1024 * KiB;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Small blocks and ranges: a 3 MiB object is 9 blocks of growing size and 12 ranges. */
const SMALL: AzureBlobStorageOptions = {
  blocks: { firstBlockSizeBytes: 128 * KiB, blocksPerTier: 2, maxBlocksInFlight: 3 },
  rangeSizeBytes: 256 * KiB,
  rangesInFlight: 3,
  retry: { baseDelayMs: 10, maxDelayMs: 100 },
};

describe('AzureBlobStorageBackend on Azurite', () => {
  const azurite = requireAzurite();
  if (!azurite) return;
  const env = { ...azurite.env };
  const service = BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING!);

  /** A new, empty container; the backend points at a prefix inside it. */
  const freshContainer = async (): Promise<string> => {
    const name = uniqueAzureName('vaultra');
    await service.createContainer(name);
    return name;
  };
  const fresh = (options: AzureBlobStorageOptions = {}) => async () =>
    AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${await freshContainer()}/backups`, { env, ...options });

  storageBackendContract('AzureBlobStorageBackend on Azurite', fresh(), {
    missingLocation: async () => AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${uniqueAzureName('never')}/backups`, { env, retry: { baseDelayMs: 10, maxDelayMs: 100 } }),
  });
  storageBackendContract('AzureBlobStorageBackend on Azurite, small blocks and ranges', fresh(SMALL));
  // A killed put leaves the blocks it staged, uncommitted.
  leftoverSweeperContract('AzureBlobStorageBackend on Azurite', fresh(), async (storage, key) => {
    const where = parseAzureBlobUrl(storage.location);
    const blob = service.getContainerClient(where.container).getBlockBlobClient(`${where.prefix}${key}`);
    await blob.stageBlock(Buffer.from('killed-000001').toString('base64'), Buffer.alloc(1024, 7), 1024);
  });

  it('is what openStorage() returns for azblob:// (endpoint from the connection string in the environment)', async () => {
    const container = await freshContainer();
    const saved = process.env.AZURE_STORAGE_CONNECTION_STRING;
    process.env.AZURE_STORAGE_CONNECTION_STRING = env.AZURE_STORAGE_CONNECTION_STRING;
    try {
      const storage = await openStorage(`azblob://${AZURITE_ACCOUNT}/${container}/p`);
      expect(storage).toBeInstanceOf(AzureBlobStorageBackend);
      expect(storage.location).toBe(`azblob://${AZURITE_ACCOUNT}/${container}/p`);
      await storage.put('x', Readable.from([Buffer.from('via registry')]));
      expect((await readAll(await storage.get('x'))).toString()).toBe('via registry');
    } finally {
      if (saved === undefined) delete process.env.AZURE_STORAGE_CONNECTION_STRING;
      else process.env.AZURE_STORAGE_CONNECTION_STRING = saved;
    }
  });

  it('reaches Azurite with ?endpoint= and AZURE_STORAGE_KEY instead of a connection string', async () => {
    const container = await freshContainer();
    const { blob } = azuriteEndpoints(azurite);
    const storage = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}?endpoint=${blob}`, { env: { AZURE_STORAGE_KEY: AZURITE_KEY } });
    expect(storage.location).toBe(`azblob://${AZURITE_ACCOUNT}/${container}?endpoint=${blob}`);
    await storage.put('k', Readable.from([Buffer.from('key auth')]));
    expect((await readAll(await storage.get('k'))).toString()).toBe('key auth');
  });

  it('stages blocks whose sizes follow the schedule, each with its MD5, and commits the whole object\'s Content-MD5', async () => {
    const container = await freshContainer();
    const storage = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}/p`, { env, ...SMALL });
    const data = randomBytes(3 * MiB + 5);
    await storage.put('job/data.bin', Readable.from([data.subarray(0, 70_000), data.subarray(70_000)]));
    const blob = service.getContainerClient(container).getBlockBlobClient('p/job/data.bin');
    const { committedBlocks = [] } = await blob.getBlockList('committed');
    const expected: number[] = [];
    for (let left = data.length, i = 0; left > 0; i++) {
      const size = Math.min(left, blockSizeBytes(i, { ...DEFAULT_BLOCK_SCHEDULE, ...SMALL.blocks }));
      expected.push(size);
      left -= size;
    }
    expect(committedBlocks.map((b) => b.size)).toEqual(expected);
    expect(expected.slice(0, 4)).toEqual([128 * KiB, 128 * KiB, 256 * KiB, 256 * KiB]);
    expect(new Set(committedBlocks.map((b) => Buffer.from(b.name, 'base64').length)).size).toBe(1);
    const properties = await blob.getProperties();
    expect(Buffer.from(properties.contentMD5!).equals(createHash('md5').update(data).digest())).toBe(true);
  });

  it('shows nothing before the commit, and an aborted upload discards the blocks it staged (kept, and billed, for 7 days otherwise)', async () => {
    const container = await freshContainer();
    const storage = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}`, { env, ...SMALL });
    const controller = new AbortController();
    let sent = 0;
    const body = new Readable({
      read() {
        sent += 64 * KiB;
        if (sent > 2 * MiB) controller.abort(new Error('stop: a crash before the commit'));
        this.push(randomBytes(64 * KiB));
      },
    });
    await expect(storage.put('job/run/data.bin', body, { signal: controller.signal })).rejects.toThrow(/crash before the commit/);
    const listed: string[] = [];
    for await (const o of storage.list('')) listed.push(o.key);
    expect(listed).toEqual([]);
    await expect(storage.get('job/run/data.bin')).rejects.toBeInstanceOf(NotFoundError);
    const uncommitted: string[] = [];
    for await (const item of service.getContainerClient(container).listBlobsFlat({ includeUncommitedBlobs: true })) uncommitted.push(item.name);
    expect(uncommitted, 'uncommitted blocks left').toEqual([]);
  });

  it('fails the read with IntegrityError when the bytes do not match the stored Content-MD5 (before the end is signalled)', async () => {
    const container = await freshContainer();
    const storage = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}`, { env, ...SMALL });
    await storage.put('k', Readable.from([randomBytes(700 * KiB)]));
    await service.getContainerClient(container).getBlobClient('k').setHTTPHeaders({ blobContentMD5: createHash('md5').update('something else').digest() });
    const stream = await storage.get('k');
    let ended = false;
    stream.on('end', () => (ended = true));
    await expect(readAll(stream)).rejects.toBeInstanceOf(IntegrityError);
    expect(ended).toBe(false);
  });

  it('reads in parallel ranges but in order, and fails (never mixes) when the object is replaced mid-read', async () => {
    const container = await freshContainer();
    const storage = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}`, { env, ...SMALL, rangeSizeBytes: 64 * KiB, rangesInFlight: 2 });
    const first = randomBytes(2 * MiB);
    await storage.put('k', Readable.from([first]));
    expect((await readAll(await storage.get('k'))).equals(first)).toBe(true);

    const stream = await storage.get('k');
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await storage.put('k', Readable.from([randomBytes(2 * MiB)]));
    await expect((async () => {
      for (;;) if ((await iterator.next()).done) return;
    })()).rejects.toSatisfy((error: unknown) => error instanceof StorageError && /replaced while it was being read/.test(error.message));
  });

  it('stops a read when its signal aborts', async () => {
    const container = await freshContainer();
    const storage = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}`, { env, ...SMALL, rangeSizeBytes: 64 * KiB, rangesInFlight: 2 });
    await storage.put('k', Readable.from([randomBytes(2 * MiB)]));
    const controller = new AbortController();
    const stream = await storage.get('k', { signal: controller.signal });
    let read = 0;
    await expect((async () => {
      for await (const chunk of stream) {
        read += (chunk as Buffer).length;
        if (read >= 256 * KiB) controller.abort(new Error('restore cancelled'));
      }
    })()).rejects.toThrow(/restore cancelled/);
    expect(read).toBeLessThan(2 * MiB);
  });

  it('lists keys relative to the prefix, across pages, and deletes', async () => {
    const container = await freshContainer();
    const storage = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}/deep/prefix`, { env });
    const outside = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/${container}/deep/other`, { env });
    await outside.put('a/x', Readable.from([Buffer.from('no')]));
    const keys = Array.from({ length: 12 }, (_, i) => `job/${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((key) => storage.put(key, Readable.from([Buffer.from(key)]))));
    const listed: string[] = [];
    for await (const o of storage.list('job/')) listed.push(o.key);
    expect(listed.sort()).toEqual(keys);
    await storage.delete('job/00');
    await storage.delete('job/00');
    const after: string[] = [];
    for await (const o of storage.list('')) after.push(o.key);
    expect(after).toHaveLength(11);
  });

  it('names a missing container in its error', async () => {
    const storage = AzureBlobStorageBackend.fromUrl(`azblob://${AZURITE_ACCOUNT}/no-such-container-${Date.now()}`, { env, retry: { maxAttempts: 1 } });
    await expect(storage.put('k', Readable.from([Buffer.from('x')]))).rejects.toSatisfy(
      (error: unknown) => error instanceof StorageError && !error.retryable && /does not exist.*create it first/.test(error.message),
    );
  });
});

describe('azblob:// URLs and credentials', () => {
  it('parses account, container, prefix and options; prints them back without credentials', () => {
    const where = parseAzureBlobUrl('azblob://acct/backups/prod/db?endpoint=http://127.0.0.1:10000/devstoreaccount1&immutabilityDays=30&immutabilityMode=locked&legalHold=true');
    expect(where).toEqual({
      account: 'acct',
      container: 'backups',
      prefix: 'prod/db/',
      endpoint: 'http://127.0.0.1:10000/devstoreaccount1',
      immutability: { retentionDays: 30, mode: 'locked', legalHold: true },
    });
    expect(formatAzureBlobUrl(where)).toBe('azblob://acct/backups/prod/db?endpoint=http://127.0.0.1:10000/devstoreaccount1&immutabilityDays=30&immutabilityMode=locked&legalHold=true');
    expect(parseAzureBlobUrl('azblob://acct/backups')).toEqual({ account: 'acct', container: 'backups', prefix: '' });
  });

  it('refuses malformed URLs, unknown options and credentials in the URL, naming what is wrong', () => {
    const refused = (url: string, pattern: RegExp) => expect(() => parseAzureBlobUrl(url)).toThrow(pattern);
    refused('azblob://acct', /not a container name/);
    refused('azblob://Bad_Account/c0ntainer', /not an account name/);
    refused('azblob://acct/UPPER', /not a container name/);
    refused('azblob://acct/backups?region=x', /unknown option "region"/);
    refused('azblob://user:secret@acct/backups', /never in the URL/);
    refused('azblob://acct/backups?endpoint=https://acct.blob.core.windows.net/?sv=2024&sig=abc', /never in the URL|unknown option/);
    refused('azblob://acct/backups?endpoint=https://acct.blob.core.windows.net%3Fsig%3Dabc', /never in the URL/);
    refused('azblob://acct/backups?immutabilityDays=0', /immutabilityDays/);
    refused('azblob://acct/backups?immutabilityMode=locked', /needs immutabilityDays/);
    expect(() => parseAzureBlobUrl('azblob://acct/backups')).not.toThrow();
    try {
      parseAzureBlobUrl('azblob://user:secret@acct/backups');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('takes credentials from the connection string, then AZURE_STORAGE_KEY, then DefaultAzureCredential', () => {
    const cs = `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net`;
    expect(azureStorageAccess('blob', 'acct', undefined, { AZURE_STORAGE_CONNECTION_STRING: cs })).toEqual({
      serviceUrl: 'https://acct.blob.core.windows.net',
      credential: { kind: 'shared-key', accountName: 'acct', accountKey: 'a2V5' },
    });
    const sas = 'BlobEndpoint=https://acct.blob.core.windows.net/;TableEndpoint=https://acct.table.core.windows.net/;SharedAccessSignature=sv=2024-01-01&sig=x%3D';
    expect(azureStorageAccess('table', 'acct', undefined, { AZURE_STORAGE_CONNECTION_STRING: sas })).toEqual({
      serviceUrl: 'https://acct.table.core.windows.net',
      credential: { kind: 'sas', sas: 'sv=2024-01-01&sig=x%3D' },
    });
    expect(azureStorageAccess('table', AZURITE_ACCOUNT, undefined, { AZURE_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' }).serviceUrl).toBe('http://127.0.0.1:10002/devstoreaccount1');
    expect(() => azureStorageAccess('blob', 'other', undefined, { AZURE_STORAGE_CONNECTION_STRING: cs })).toThrow(/for account acct, but the URL names other/);
    expect(azureStorageAccess('blob', 'acct', 'http://127.0.0.1:1/acct', { AZURE_STORAGE_KEY: 'a2V5' }).credential).toEqual({ kind: 'shared-key', accountName: 'acct', accountKey: 'a2V5' });
    expect(azureStorageAccess('blob', 'acct', undefined, {}).credential.kind).toBe('token');
    expect(() => azureStorageAccess('blob', 'acct', 'http://storage.example.com/acct', {})).toThrow(/tokens are only sent over https/);
  });
});

describe('block schedule and retry delays', () => {
  it('grows blocks so 50,000 of them hold ~130 TiB, with 8 MiB blocks up to 15.6 GiB', () => {
    expect(blockSizeBytes(0)).toBe(8 * MiB);
    expect(blockSizeBytes(1999)).toBe(8 * MiB);
    expect(blockSizeBytes(2000)).toBe(16 * MiB);
    expect(blockSizeBytes(MAX_BLOCKS - 1)).toBe(MAX_BLOCK_SIZE_BYTES);
    expect(capacityBytes() / 1024 ** 4).toBeGreaterThan(129);
    expect(blocksInFlight(8 * MiB)).toBe(4);
    expect(blocksInFlight(32 * MiB)).toBe(2);
    expect(blocksInFlight(1024 * MiB)).toBe(1);
  });

  it('puts the immutability policy and legal hold into the commit', () => {
    const now = Date.UTC(2026, 0, 1);
    expect(immutabilityOptions({ retentionDays: 30, mode: 'locked', legalHold: true }, now)).toEqual({
      immutabilityPolicy: { expiriesOn: new Date(Date.UTC(2026, 0, 31)), policyMode: 'Locked' },
      legalHold: true,
    });
    expect(immutabilityOptions({ mode: 'unlocked', legalHold: true }, now)).toEqual({ legalHold: true });
    expect(immutabilityOptions(undefined, now)).toEqual({});
  });
});

import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GcsStorageBackend } from '../../core/adapters/storage/gcs/gcs-storage.js';
import { parseGcsUrl } from '../../core/adapters/storage/gcs/gcs-url.js';
import { Crc32c, crc32c } from '../../core/adapters/gcp/crc32c.js';
import { openStorage } from '../../core/adapters/storage/storage-registry.js';
import { ConfigError, IntegrityError, NotFoundError, StorageError } from '../../core/errors.js';
import { createBucket } from '../support/fake-gcs-server.js';
import { requireFakeGcs } from '../support/requirements.js';
import { onlyFirst, startFaultyHttpProxy } from '../support/faulty-http-proxy.js';
import { storageBackendContract } from './storage-backend.contract.js';

const KiB = 1024;
const MiB = 1024 * KiB;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A bucket of its own per test, so no test sees another's objects. */
async function freshBucket(endpoint: string): Promise<string> {
  const bucket = `vaultra-${randomBytes(6).toString('hex')}`;
  await createBucket(endpoint, bucket);
  return bucket;
}

/** Reads an object's resource straight from the emulator (not through the adapter). */
async function objectResource(endpoint: string, bucket: string, name: string): Promise<Record<string, unknown> | undefined> {
  const response = await fetch(`${endpoint}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`);
  if (response.status === 404) return undefined;
  return (await response.json()) as Record<string, unknown>;
}

describe('gs:// URLs', () => {
  it('parses bucket, prefix and options strictly', () => {
    expect(parseGcsUrl('gs://acme-backups/prod/db/', {})).toEqual({ bucket: 'acme-backups', prefix: 'prod/db/', location: 'gs://acme-backups/prod/db', eventBasedHold: false });
    expect(parseGcsUrl('gs://acme_backups', {})).toMatchObject({ prefix: '', location: 'gs://acme_backups' });
    expect(parseGcsUrl('gs://b1b/p?retentionDays=30&retentionMode=Locked&eventBasedHold=true&chunkSizeMiB=8', {})).toMatchObject({
      retention: { days: 30, mode: 'Locked' },
      eventBasedHold: true,
      chunkSizeBytes: 8 * MiB,
    });
    expect(parseGcsUrl('gs://b1b/p?retentionDays=7', {}).retention).toEqual({ days: 7, mode: 'Unlocked' });
  });

  it('takes the endpoint from ?endpoint= before STORAGE_EMULATOR_HOST, and a bare host:port as http', () => {
    expect(parseGcsUrl('gs://b1b/p', { STORAGE_EMULATOR_HOST: 'localhost:4443' }).endpoint).toBe('http://localhost:4443');
    expect(parseGcsUrl('gs://b1b/p?endpoint=http://127.0.0.1:9/', { STORAGE_EMULATOR_HOST: 'http://x:1' }).endpoint).toBe('http://127.0.0.1:9');
    expect(parseGcsUrl('gs://b1b/p', {}).endpoint).toBeUndefined();
  });

  it.each([
    ['gs://B/x', /bucket name/],
    ['gs://ab/x', /bucket name/],
    ['gs://bucket:1/x', /no port/],
    ['gs://user:pw@bucket/x', /never carry credentials/],
    ['gs://bucket/a//b', /plain folder names/],
    ['gs://bucket/x?retentionDay=3', /unknown gs:\/\/ option "retentionDay"/],
    ['gs://bucket/x?retentionDays=0', /retentionDays/],
    ['gs://bucket/x?retentionMode=Locked', /needs retentionDays/],
    ['gs://bucket/x?retentionDays=3&retentionMode=locked', /Unlocked or Locked/],
    ['gs://bucket/x?eventBasedHold=yes', /true or false/],
    ['gs://bucket/x?chunkSizeMiB=0', /chunkSizeMiB/],
    ['gs://bucket/x?endpoint=ftp://host', /http:\/\/ or https:\/\//],
    ['s3://bucket/x', /not a gs:\/\/ URL/],
  ])('refuses %s with a ConfigError naming the problem', (url, message) => {
    expect(() => parseGcsUrl(url, {})).toThrow(ConfigError);
    expect(() => parseGcsUrl(url, {})).toThrow(message);
  });

  it('is what openStorage() returns for gs://, located without the query', async () => {
    const storage = await openStorage('gs://acme-backups/prod?endpoint=http://127.0.0.1:9&chunkSizeMiB=4');
    expect(storage).toBeInstanceOf(GcsStorageBackend);
    expect(storage.location).toBe('gs://acme-backups/prod');
  });

  it('refuses a chunk size that is not a multiple of 256 KiB', () => {
    expect(() => new GcsStorageBackend({ bucket: 'b1b', chunkSizeBytes: 300 * KiB })).toThrow(/multiple of 256 KiB/);
  });
});

describe('CRC32C', () => {
  it('matches the published check value and any split of the input', () => {
    // The CRC-32C check value (RFC 3720 appendix B.4): "123456789" → 0xE3069283.
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(32))).toBe(0x8a9136aa);
    const data = randomBytes(100_003);
    const whole = crc32c(data);
    const split = new Crc32c().update(data.subarray(0, 7)).update(data.subarray(7, 50_000)).update(data.subarray(50_000));
    expect(split.value).toBe(whole);
    expect(new Crc32c().toBase64()).toBe('AAAAAA==');
  });
});

describe('GcsStorageBackend on fake-gcs-server', () => {
  const gcs = requireFakeGcs();
  if (!gcs) return;

  // Small chunks and ranges, so a few MiB exercise multi-chunk uploads and parallel ranged reads.
  storageBackendContract('GcsStorageBackend (fake-gcs-server)', async () => new GcsStorageBackend({ bucket: await freshBucket(gcs.endpoint), prefix: 'backups/', endpoint: gcs.endpoint, chunkSizeBytes: 512 * KiB, rangeBytes: 256 * KiB }), {
    missingLocation: async () => new GcsStorageBackend({ bucket: `vt-never-${randomBytes(4).toString('hex')}`, prefix: 'backups/', endpoint: gcs.endpoint }),
  });
  storageBackendContract('GcsStorageBackend with default chunks, from a gs:// URL (fake-gcs-server)', async () => GcsStorageBackend.fromUrl(`gs://${await freshBucket(gcs.endpoint)}`, gcs.env));

  it('uploads in 256 KiB-multiple chunks with one request in flight, declaring the CRC32C on the finalizing request', async () => {
    const bucket = await freshBucket(gcs.endpoint);
    const proxy = await startFaultyHttpProxy(gcs.endpoint);
    try {
      const storage = new GcsStorageBackend({ bucket, endpoint: proxy.endpoint, chunkSizeBytes: 256 * KiB });
      const data = randomBytes(5 * 256 * KiB + 1000);
      await storage.put('run/data', Readable.from([data]));
      const chunks = proxy.requests.filter((r) => r.method === 'PUT');
      expect(chunks.map((r) => r.headers['content-range'])).toEqual([
        'bytes 0-262143/*',
        'bytes 262144-524287/*',
        'bytes 524288-786431/*',
        'bytes 786432-1048575/*',
        'bytes 1048576-1310719/*',
        `bytes 1310720-${data.length - 1}/${data.length}`,
      ]);
      expect(chunks.slice(0, -1).every((r) => r.headers['x-goog-hash'] === undefined)).toBe(true);
      expect(chunks.at(-1)!.headers['x-goog-hash']).toBe(`crc32c=${new Crc32c().update(data).toBase64()}`);
      expect(proxy.peakConcurrent((r) => r.method === 'PUT')).toBe(1);
      expect((await objectResource(gcs.endpoint, bucket, 'run/data'))?.crc32c).toBe(new Crc32c().update(data).toBase64());
    } finally {
      await proxy.close();
    }
  });

  it('finalizes with an empty request when the body ends on a chunk boundary, and stores empty objects', async () => {
    const bucket = await freshBucket(gcs.endpoint);
    const proxy = await startFaultyHttpProxy(gcs.endpoint);
    try {
      const storage = new GcsStorageBackend({ bucket, endpoint: proxy.endpoint, chunkSizeBytes: 256 * KiB });
      const data = randomBytes(2 * 256 * KiB);
      expect(await storage.put('exact', Readable.from([data]))).toEqual({ sizeBytes: data.length });
      expect(proxy.requests.filter((r) => r.method === 'PUT').map((r) => r.headers['content-range'])).toEqual(['bytes 0-262143/*', 'bytes 262144-524287/*', `bytes */${data.length}`]);
      expect((await readAll(await storage.get('exact'))).equals(data)).toBe(true);
      expect(await storage.put('empty', Readable.from([]))).toEqual({ sizeBytes: 0 });
      expect(await readAll(await storage.get('empty'))).toHaveLength(0);
    } finally {
      await proxy.close();
    }
  });

  it('reads large objects in parallel ranges of the generation first seen, emitted in order', async () => {
    const bucket = await freshBucket(gcs.endpoint);
    const direct = new GcsStorageBackend({ bucket, endpoint: gcs.endpoint });
    const data = randomBytes(6 * MiB + 123);
    await direct.put('big', Readable.from([data]));
    const { generation } = (await objectResource(gcs.endpoint, bucket, 'big')) as { generation: string };
    const proxy = await startFaultyHttpProxy(gcs.endpoint, (r) => (r.query.get('alt') === 'media' ? { kind: 'delay', ms: 30 } : undefined));
    try {
      const storage = new GcsStorageBackend({ bucket, endpoint: proxy.endpoint, rangeBytes: 512 * KiB, downloadConcurrency: 4 });
      const read = await readAll(await storage.get('big'));
      expect(createHash('sha256').update(read).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
      const ranges = proxy.requests.filter((r) => r.query.get('alt') === 'media');
      expect(ranges).toHaveLength(13);
      expect(ranges.every((r) => r.query.get('generation') === generation)).toBe(true);
      expect(ranges[0]!.headers.range).toBe('bytes=0-524287');
      expect(proxy.peakConcurrent((r) => r.query.get('alt') === 'media')).toBe(4);
    } finally {
      await proxy.close();
    }
  });

  it('fails a read whose bytes do not match the object\'s CRC32C before ending the stream (IntegrityError)', async () => {
    const bucket = await freshBucket(gcs.endpoint);
    await new GcsStorageBackend({ bucket, endpoint: gcs.endpoint }).put('k', Readable.from([randomBytes(700 * KiB)]));
    const proxy = await startFaultyHttpProxy(gcs.endpoint, onlyFirst(1, (r) => r.query.get('alt') === 'media' && r.headers.range === 'bytes=262144-524287', { kind: 'corrupt-response', atByte: 1000 }));
    try {
      const storage = new GcsStorageBackend({ bucket, endpoint: proxy.endpoint, rangeBytes: 256 * KiB });
      let ended = false;
      const stream = await storage.get('k');
      stream.on('end', () => (ended = true));
      await expect(readAll(stream)).rejects.toBeInstanceOf(IntegrityError);
      expect(ended).toBe(false);
    } finally {
      await proxy.close();
    }
  });

  it('an object replaced during a read fails the read instead of mixing two objects', async () => {
    const bucket = await freshBucket(gcs.endpoint);
    const storage = new GcsStorageBackend({ bucket, endpoint: gcs.endpoint, rangeBytes: 256 * KiB, downloadConcurrency: 1 });
    await storage.put('k', Readable.from([randomBytes(1 * MiB)]));
    const stream = await storage.get('k');
    await storage.put('k', Readable.from([randomBytes(1 * MiB)]));
    await expect(readAll(stream)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('sets object retention when configured (fake-gcs-server keeps it but does not enforce it)', async () => {
    const bucket = await freshBucket(gcs.endpoint);
    const storage = GcsStorageBackend.fromUrl(`gs://${bucket}/p?endpoint=${gcs.endpoint}&retentionDays=30`, {});
    const before = Date.now();
    await storage.put('kept', Readable.from([Buffer.from('x')]));
    const retention = (await objectResource(gcs.endpoint, bucket, 'p/kept'))?.retention as { mode: string; retainUntilTime: string };
    expect(retention.mode).toBe('Unlocked');
    const until = Date.parse(retention.retainUntilTime);
    expect(until).toBeGreaterThanOrEqual(before + 30 * 86_400_000 - 1000);
    expect(until).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000 + 1000);
  });

  it('asks for an event-based hold when configured (fake-gcs-server does not store holds: the session request is checked)', async () => {
    const bucket = await freshBucket(gcs.endpoint);
    const bodies: string[] = [];
    const proxy = await recordingSessionStarts(gcs.endpoint, bodies);
    try {
      const storage = GcsStorageBackend.fromUrl(`gs://${bucket}/p?endpoint=${proxy.endpoint}&eventBasedHold=true`, {});
      await storage.put('held', Readable.from([Buffer.from('x')]));
      expect(JSON.parse(bodies[0]!)).toEqual({ name: 'p/held', contentType: 'application/octet-stream', eventBasedHold: true });
    } finally {
      await proxy.close();
    }
  });

  it('reports a missing bucket as a permanent StorageError when writing or listing, not as a missing object', async () => {
    const storage = new GcsStorageBackend({ bucket: `vaultra-missing-${randomBytes(4).toString('hex')}`, endpoint: gcs.endpoint });
    const bucketMissing = (error: unknown) => error instanceof StorageError && !error.retryable && /the bucket does not exist/.test(error.message);
    await expect(storage.put('k', Readable.from([Buffer.from('x')]))).rejects.toSatisfy(bucketMissing);
    await expect((async () => {
      for await (const object of storage.list('')) void object;
    })()).rejects.toSatisfy(bucketMissing);
  });

  it('reports a delete refused by a retention period or hold as a permanent StorageError', async () => {
    const bucket = await freshBucket(gcs.endpoint);
    await new GcsStorageBackend({ bucket, endpoint: gcs.endpoint }).put('held', Readable.from([Buffer.from('x')]));
    const body = JSON.stringify({ error: { code: 403, message: 'Object is subject to an active Event-Based hold.', errors: [{ reason: 'objectUnderActiveHold' }] } });
    const proxy = await startFaultyHttpProxy(gcs.endpoint, (r) => (r.method === 'DELETE' ? { kind: 'respond', status: 403, body, headers: { 'content-type': 'application/json' } } : undefined));
    try {
      const storage = new GcsStorageBackend({ bucket, endpoint: proxy.endpoint });
      await expect(storage.delete('held')).rejects.toSatisfy((error: unknown) => error instanceof StorageError && !error.retryable && /retention period or hold/.test(error.message));
      expect(proxy.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });
});

/** A proxy that records the JSON body of every resumable-session start and forwards everything. */
async function recordingSessionStarts(upstream: string, bodies: string[]): Promise<{ endpoint: string; close(): Promise<void> }> {
  const { createServer, request } = await import('node:http');
  const target = new URL(upstream);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.method === 'POST' && req.url?.includes('uploadType=resumable')) bodies.push(body.toString('utf8'));
      const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { endpoint: `http://127.0.0.1:${port}`, close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }) };
}


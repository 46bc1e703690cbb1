/**
 * Fault injection between GcsStorageBackend and fake-gcs-server, through the shared faulty
 * HTTP proxy: throttling, 5xx, resets and lost answers mid-upload are retried and the object
 * is whole; persistent failures fail the put and leave no object; damage in transit is caught.
 *
 * fake-gcs-server finalizes an upload when asked for its status (`Content-Range: bytes *\/*`),
 * where Cloud Storage answers 308 with the persisted range. So the proxy answers status queries
 * itself (`withGcsStatusQueries`), from the chunks it forwarded — what Cloud Storage would say —
 * and the emulator only ever sees chunk requests.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { GcsStorageBackend, type GcsStorageBackendOptions } from '../../core/adapters/storage/gcs/gcs-storage.js';
import { Crc32c } from '../../core/adapters/gcp/crc32c.js';
import { IntegrityError, LeftBehindError, StorageError } from '../../core/errors.js';
import type { RetryableError } from '../../core/adapters/retry.js';
import { chunkStart, createBucket, isFinalizingChunk, isStatusQuery, isUploadChunk, withGcsStatusQueries } from '../support/fake-gcs-server.js';
import { requireFakeGcs } from '../support/requirements.js';
import { respond, startFaultyHttpProxy, type Fault, type FaultRule, type FaultyHttpProxy, type ProxiedRequest } from '../support/faulty-http-proxy.js';

const KiB = 1024;
const CHUNK = 256 * KiB;
/** Fast retries for tests: the policy's shape (exponential, full jitter, cap) is what is tested. */
const RETRY = { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 200 } as const;

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const isRange = (r: ProxiedRequest): boolean => r.method === 'GET' && r.query.get('alt') === 'media';

/** The `n`-th (0-based) chunk request of an upload, counting retries as new requests. */
function nthChunk(n: number, fault: Fault): FaultRule {
  let seen = -1;
  return (r) => (isUploadChunk(r) && ++seen === n ? fault : undefined);
}

describe('GcsStorageBackend under injected faults (fake-gcs-server behind a faulty proxy)', () => {
  const gcs = requireFakeGcs();
  if (!gcs) return;

  let proxy: FaultyHttpProxy | undefined;
  afterEach(async () => {
    await proxy?.close();
    proxy = undefined;
  });

  /** A fresh bucket, a proxy applying `rule`, and a backend through it with small chunks. */
  async function setup(rule: FaultRule | undefined, options: Partial<GcsStorageBackendOptions> = {}) {
    const bucket = `vaultra-${randomBytes(6).toString('hex')}`;
    await createBucket(gcs!.endpoint, bucket);
    proxy = await startFaultyHttpProxy(gcs!.endpoint, rule ? withGcsStatusQueries(rule) : undefined);
    const retries: { error: RetryableError; attempt: number; delayMs: number }[] = [];
    const storage = new GcsStorageBackend({
      bucket,
      prefix: 'p/',
      endpoint: proxy.endpoint,
      chunkSizeBytes: CHUNK,
      rangeBytes: CHUNK,
      retry: RETRY,
      onRetry: (error, attempt, delayMs) => retries.push({ error, attempt, delayMs }),
      ...options,
    });
    const direct = new GcsStorageBackend({ bucket, prefix: 'p/', endpoint: gcs!.endpoint });
    const names = async () => {
      const found: string[] = [];
      for await (const o of direct.list('')) found.push(o.key);
      return found.sort();
    };
    return { bucket, storage, direct, retries, names, proxy };
  }

  it('retries 503 and 429 on chunks mid-upload with capped, jittered backoff; the object is whole', async () => {
    const fail = [1, 3, 4];
    let seen = -1;
    const { storage, direct, retries } = await setup((r) => {
      if (!isUploadChunk(r)) return undefined;
      seen += 1;
      if (!fail.includes(seen)) return undefined;
      return seen === 1 ? respond(503, '{"error":{"code":503,"message":"Backend Error"}}') : respond(429, '{"error":{"code":429,"message":"rate limit"}}');
    });
    const data = randomBytes(6 * CHUNK + 999);
    expect(await storage.put('k', Readable.from([data]))).toEqual({ sizeBytes: data.length });
    expect((await readAll(await direct.get('k'))).equals(data)).toBe(true);
    expect(retries.map((r) => [r.attempt, r.error.retryable])).toEqual([
      [1, true],
      [1, true],
      [2, true],
    ]);
    expect(retries.map((r) => r.error.message).join('\n')).toMatch(/HTTP 503[\s\S]*HTTP 429[\s\S]*HTTP 429/);
    // Full jitter: each wait is within [0, min(cap, base × 2^(attempt-1))].
    for (const { attempt, delayMs } of retries) expect(delayMs).toBeLessThanOrEqual(Math.min(RETRY.maxDelayMs, RETRY.baseDelayMs * 2 ** (attempt - 1)));
    // Each retry asked the session's status first, then resent the same chunk.
    const requests = proxy!.requests.filter((r) => r.method === 'PUT');
    expect(requests.filter(isStatusQuery)).toHaveLength(3);
    expect(requests.filter(isUploadChunk).map(chunkStart)).toEqual([0, 1, 1, 2, 2, 2, 3, 4, 5, 6].map((n) => n * CHUNK));
  });

  it('resumes from the persisted offset when a chunk was stored but its answer was lost (no byte sent twice)', async () => {
    const { storage, direct, retries } = await setup(nthChunk(2, { kind: 'lose-response' }));
    const data = randomBytes(5 * CHUNK + 10);
    await storage.put('k', Readable.from([data]));
    // fake-gcs-server appends whatever it gets: a resent chunk would show up as duplicated bytes.
    expect((await readAll(await direct.get('k'))).equals(data)).toBe(true);
    expect(retries).toHaveLength(1);
    expect(proxy!.requests.filter(isUploadChunk).map(chunkStart)).toEqual([0, 1, 2, 3, 4, 5].map((n) => n * CHUNK));
  });

  it('retries a connection reset part-way through a chunk', async () => {
    const { storage, direct, retries } = await setup(nthChunk(3, { kind: 'reset', afterRequestBytes: 100 * KiB }));
    const data = randomBytes(5 * CHUNK);
    await storage.put('k', Readable.from([data]));
    expect((await readAll(await direct.get('k'))).equals(data)).toBe(true);
    expect(retries).toHaveLength(1);
  });

  it('retries a failed session start, ranged reads (5xx, cut short), listing pages and deletes', async () => {
    const once = new Set<string>();
    const first = (label: string, match: boolean, fault: Fault): Fault | undefined => {
      if (!match || once.has(label)) return undefined;
      once.add(label);
      return fault;
    };
    const { storage, retries } = await setup((r) =>
      first('start', r.method === 'POST', respond(503)) ??
      first('range-503', isRange(r) && r.headers.range === `bytes=${CHUNK}-${2 * CHUNK - 1}`, respond(502)) ??
      first('range-cut', isRange(r) && r.headers.range === `bytes=${2 * CHUNK}-${3 * CHUNK - 1}`, { kind: 'truncate-response', afterBytes: 1000 }) ??
      first('list', r.method === 'GET' && r.path.endsWith('/o') && r.query.has('prefix'), respond(500)) ??
      first('delete', r.method === 'DELETE' && !r.query.has('upload_id'), respond(503)),
    );
    const data = randomBytes(3 * CHUNK + 5);
    await storage.put('k', Readable.from([data]));
    expect((await readAll(await storage.get('k'))).equals(data)).toBe(true);
    const listed: string[] = [];
    for await (const o of storage.list('')) listed.push(o.key);
    expect(listed).toEqual(['k']);
    await storage.delete('k');
    expect(once.size).toBe(5);
    expect(retries).toHaveLength(5);
  });

  it('a chunk or a range that gets no answer times out and is retried', async () => {
    let hungRange = false;
    const hungChunk = nthChunk(2, { kind: 'hang' });
    const { storage, direct, retries } = await setup((r) => hungChunk(r) ?? (isRange(r) && !hungRange ? ((hungRange = true), { kind: 'hang' } as Fault) : undefined), { requestTimeoutMs: 1_000 });
    const data = randomBytes(4 * CHUNK + 3);
    await storage.put('k', Readable.from([data]));
    expect((await readAll(await direct.get('k'))).equals(data)).toBe(true);
    expect((await readAll(await storage.get('k'))).equals(data)).toBe(true);
    expect(retries.map((r) => [r.error.retryable, /no answer within 1 s/.test(r.error.message)])).toEqual([
      [true, true],
      [true, true],
    ]);
  });

  it('a persistent failure fails the put after its attempts, cancels the session and leaves no object; an overwritten object stays whole', async () => {
    let broken = false;
    const { storage, names, direct } = await setup((r) => (broken && isUploadChunk(r) && chunkStart(r) >= CHUNK ? respond(503) : undefined));
    const old = randomBytes(1000);
    await storage.put('kept', Readable.from([old]));
    broken = true;
    for (const key of ['new', 'kept']) {
      const put = storage.put(key, Readable.from([randomBytes(4 * CHUNK)]));
      await expect(put).rejects.toBeInstanceOf(StorageError);
      await expect(put).rejects.toThrow(/gave up after 4 attempts/);
    }
    const cancels = proxy!.requests.filter((r) => r.method === 'DELETE' && r.query.has('upload_id'));
    expect(cancels).toHaveLength(2);
    expect(await names()).toEqual(['kept']);
    expect((await readAll(await direct.get('kept'))).equals(old)).toBe(true);
  });

  it('a total outage after the first chunk fails the cancel too: the error says the session is left, with what it holds and when it expires', async () => {
    let requests = 0;
    const { storage, names } = await setup(() => (++requests > 2 ? respond(503, '{"error":{"code":503,"message":"Backend Error"}}') : undefined));
    const put = storage.put('job/run/data.bin', Readable.from([randomBytes(4 * CHUNK)]));
    await expect(put).rejects.toSatisfy(
      (error: unknown) =>
        error instanceof LeftBehindError &&
        error.kind === 'storage' &&
        /gave up after 4 attempts\); left behind: resumable session of gs:\/\/\S+\/p\/job\/run\/data\.bin \(262144 bytes received; cancelling it failed: .*HTTP 503.*\): Cloud Storage discards an unfinished upload session 7 days after it started/.test((error as Error).message),
    );
    expect(proxy!.requests.filter((r) => r.method === 'DELETE' && r.query.has('upload_id'))).toHaveLength(1);
    proxy!.setRule(undefined);
    expect(await names()).toEqual([]);
    expect(storage.unlistedLeftovers).toMatch(/7 days/);
  });

  it('a persistent failure of the finalizing request leaves no object', async () => {
    const { storage, names } = await setup((r) => (isFinalizingChunk(r) ? respond(500) : undefined));
    await expect(storage.put('k', Readable.from([randomBytes(2 * CHUNK + 1)]))).rejects.toThrow(/finishing the upload .*HTTP 500 \(gave up after 4 attempts\)/);
    expect(await names()).toEqual([]);
  });

  it('bytes damaged in transit fail the put with an IntegrityError and the stored object is deleted', async () => {
    // Cloud Storage itself refuses the finalizing request (its X-Goog-Hash does not match);
    // fake-gcs-server does not check it, so the adapter's own comparison is what acts here.
    const { storage, names } = await setup(nthChunk(1, { kind: 'corrupt-request', atByte: 5 }));
    const data = randomBytes(3 * CHUNK);
    const put = storage.put('k', Readable.from([data]));
    await expect(put).rejects.toBeInstanceOf(IntegrityError);
    await expect(put).rejects.toThrow(new RegExp(`${data.length} bytes with CRC32C ${new Crc32c().update(data).toBase64().replace(/[+/]/g, '\\$&')} were sent`));
    expect(await names()).toEqual([]);
  });

  it('an upload that stops reading when the service fails does not wait for the next chunk of a slow body', async () => {
    const { storage, names } = await setup((r) => (isUploadChunk(r) && chunkStart(r) === 0 ? respond(403, '{"error":{"code":403,"message":"denied"}}') : undefined));
    // A body that sends one chunk, then nothing for a long time: the put must fail at once.
    let destroyed = false;
    const body = new Readable({ read() {} });
    body.push(randomBytes(CHUNK));
    body.on('close', () => (destroyed = true));
    const started = Date.now();
    await expect(storage.put('k', body)).rejects.toThrow(/permission denied/);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(destroyed).toBe(true);
    expect(await names()).toEqual([]);
  });
});

/**
 * Backups in Amazon S3 or an S3-compatible store: `s3://bucket/prefix`, with options in the
 * query (see s3-url.ts): `endpoint`, `region`, `forcePathStyle`, `retentionDays` +
 * `objectLockMode`, `partSizeMiB`. Credentials come from the AWS SDK's default chain.
 *
 * - `put` streams with bounded memory (s3-upload.ts): one PutObject for small objects, else a
 *   multipart upload whose part size grows so no stream is refused for its size; SHA-256 on
 *   every request; per-part retries; on failure the upload is aborted and nothing remains.
 * - `get` reads several ranges at once and emits them in order; every range is pinned to the
 *   ETag seen first (If-Match), so an object replaced mid-read fails instead of mixing
 *   versions, and the object's S3 checksum is recomputed as it streams (fails before the end).
 * - `list` pages through ListObjectsV2 (incomplete multipart uploads are never listed).
 * - `delete` is idempotent. With `retentionDays` it removes the key's versions, so a delete of
 *   an object still under Object Lock fails (with the date it can go) instead of hiding it
 *   behind a delete marker.
 * - With `retentionDays`, the first write (or `extendRetention`) checks that the bucket has Object
 *   Lock enabled, and refuses one that has not (s3-bucket-lock.ts).
 * - `extendRetention` (with `retentionDays`) moves an existing object's Object Lock to
 *   `retentionDays` from now with PutObjectRetention, never earlier (s3-retention.ts).
 * - `listLeftovers` lists incomplete multipart uploads (ListMultipartUploads), which a killed
 *   process or a failed abort leaves and `list` never shows; `removeLeftover` aborts one.
 *
 * Every request is retried on its own on throttling, 5xx, resets and timeouts (retry.ts);
 * the SDK's own retries are off so attempts are not multiplied.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import type { IoOptions, Leftover, LeftoverSweeper, ObjectInfo, RetentionExtender, StorageBackend } from '../../../ports/storage-backend.js';
import { ConfigError, StorageError } from '../../../errors.js';
import { DEFAULT_S3_SCHEDULE, MiB, parseSchedule, S3_PART_LIMITS, type PartSchedule } from '../part-sizing.js';
import { ParallelRangeReader } from '../parallel-range-reader.js';
import { DEFAULT_RETRY_POLICY, withRetries, type RetryPolicy } from '../../retry.js';
import { addRequestDeadlines } from './s3-request-deadlines.js';
import { readVerifier } from './s3-checksums.js';
import { errorCodeOf, httpStatusOf, translateS3Error } from './s3-errors.js';
import { checkByteRange, objectTooShortError, parseContentRange } from '../byte-range.js';
import { SCHEDULE_METADATA, uploadObject, type S3UploadTarget } from './s3-upload.js';
import { extendObjectRetention } from './s3-retention.js';
import { checkBucketObjectLock } from './s3-bucket-lock.js';
import { parseS3Url, type S3UrlSettings } from './s3-url.js';

export interface S3StorageOptions {
  /** Size of the first parts of a multipart upload (≥ 5 MiB). @default 8 MiB, or `?partSizeMiB` */
  readonly partSizeBytes?: number;
  /** The part size doubles after this many parts. @default 1000 */
  readonly partsPerDoubling?: number;
  /** Parts uploaded at once. @default 4 */
  readonly partConcurrency?: number;
  /** Bytes of parts in flight at most (fewer parts at once when parts are large). @default 256 MiB */
  readonly maxInFlightBytes?: number;
  /** Bytes per ranged GET. @default 8 MiB */
  readonly rangeBytes?: number;
  /** Ranged GETs at once. @default 4 */
  readonly rangeConcurrency?: number;
  /** Keys per ListObjectsV2 page. @default 1000 */
  readonly listPageSize?: number;
  readonly retry?: RetryPolicy;
  /** A request whose socket stays idle this long fails (and is retried); each request also has a deadline scaled by its size (`s3-request-deadlines.ts`). @default 60_000 */
  readonly idleTimeoutMs?: number;
  /** @default 10_000 */
  readonly connectTimeoutMs?: number;
  /** Credentials for programmatic use; by default the SDK's chain (environment, profile, role). */
  readonly credentials?: S3ClientConfig['credentials'];
  /** Where `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` are read from. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

export class S3StorageBackend implements StorageBackend, LeftoverSweeper, RetentionExtender {
  readonly location: string;
  readonly bucket: string;
  /** Key prefix of every object: `''` or ending in `/`. */
  readonly prefix: string;
  readonly client: S3Client;
  private readonly settings: S3UrlSettings;
  private readonly upload: S3UploadTarget;
  #bucketLockCheck: Promise<void> | undefined;
  private readonly rangeBytes: number;
  private readonly rangeConcurrency: number;
  private readonly listPageSize: number;
  private readonly retry: RetryPolicy;

  constructor(settings: S3UrlSettings, options: S3StorageOptions = {}) {
    this.settings = settings;
    this.location = settings.location;
    this.bucket = settings.bucket;
    this.prefix = settings.prefix;
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    const partSizeBytes = options.partSizeBytes ?? settings.partSizeBytes ?? DEFAULT_S3_SCHEDULE.firstPartBytes;
    if (!Number.isInteger(partSizeBytes) || partSizeBytes < S3_PART_LIMITS.minPartBytes || partSizeBytes > S3_PART_LIMITS.maxPartBytes) {
      throw new ConfigError(`S3 part size ${partSizeBytes} is outside S3's limits (5 MiB to 5 GiB)`);
    }
    const schedule: PartSchedule = { ...DEFAULT_S3_SCHEDULE, firstPartBytes: partSizeBytes, partsPerDoubling: options.partsPerDoubling ?? DEFAULT_S3_SCHEDULE.partsPerDoubling };
    this.rangeBytes = options.rangeBytes ?? 8 * MiB;
    this.rangeConcurrency = options.rangeConcurrency ?? 4;
    this.listPageSize = options.listPageSize ?? 1000;
    this.client = new S3Client({
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      // An emulator or S3-compatible store does not care about the region, but the SDK needs one.
      ...(settings.region ? { region: settings.region } : settings.endpoint && !(options.env ?? process.env).AWS_REGION ? { region: 'us-east-1' } : {}),
      forcePathStyle: settings.forcePathStyle,
      ...(options.credentials ? { credentials: options.credentials } : {}),
      maxAttempts: 1,
      // The adapter sends its own SHA-256 on every write and checks reads itself.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        connectionTimeout: options.connectTimeoutMs ?? 10_000,
        socketTimeout: options.idleTimeoutMs ?? 60_000,
        httpAgent: { keepAlive: true, maxSockets: 32 },
        httpsAgent: { keepAlive: true, maxSockets: 32 },
      },
    });
    addRequestDeadlines(this.client);
    this.upload = {
      client: this.client,
      bucket: this.bucket,
      schedule,
      partConcurrency: options.partConcurrency ?? 4,
      maxInFlightBytes: options.maxInFlightBytes ?? 256 * MiB,
      retry: this.retry,
      ...(settings.retention ? { retention: settings.retention } : {}),
      describe: (key) => `${this.location}/${key.slice(this.prefix.length)}`,
    };
  }

  /**
   * `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1&forcePathStyle=true&retentionDays=30&objectLockMode=COMPLIANCE`.
   * Without `endpoint`, `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` is used when set.
   */
  static fromUrl(url: string, options: S3StorageOptions = {}): S3StorageBackend {
    return new S3StorageBackend(parseS3Url(url, options.env), options);
  }

  /** Object Lock settings from the URL, if any. */
  get retention(): S3UrlSettings['retention'] {
    return this.settings.retention;
  }

  async put(key: string, body: Readable, options: IoOptions = {}): Promise<{ readonly sizeBytes: number }> {
    if (this.settings.retention) await this.bucketLockChecked(options.signal);
    const uploaded = await uploadObject(this.upload, this.keyOf(key), body, options.signal);
    return { sizeBytes: uploaded.sizeBytes };
  }

  async get(key: string, options: IoOptions = {}): Promise<Readable> {
    const fullKey = this.keyOf(key);
    const where = `${this.location}/${key}`;
    const signal = options.signal;
    const head = await this.retrying(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey, ChecksumMode: 'ENABLED' }), { abortSignal: signal }), `reading ${where}`, signal);
    const sizeBytes = head.ContentLength ?? 0;
    const etag = head.ETag;
    // A multipart object's ETag ends in `-<parts>`; its writer recorded the part schedule.
    const parts = /-(\d+)"?$/.exec(etag ?? '')?.[1];
    const schedule = parseSchedule(head.Metadata?.[SCHEDULE_METADATA], S3_PART_LIMITS);
    const verifier = readVerifier(where, sizeBytes, {
      ...(head.ChecksumSHA256 ? { sha256: head.ChecksumSHA256 } : {}),
      ...(parts ? { parts: Number(parts) } : {}),
      ...(schedule ? { schedule } : {}),
    });
    const whole = sizeBytes <= this.rangeBytes;
    return new ParallelRangeReader({
      sizeBytes,
      rangeBytes: this.rangeBytes,
      concurrency: this.rangeConcurrency,
      fetchRange: (start, end, rangeSignal) => {
        const both = signal ? AbortSignal.any([signal, rangeSignal]) : rangeSignal;
        return this.retrying(
          () => this.fetchRange(fullKey, etag, whole ? undefined : { start, end, total: sizeBytes }, end - start, both),
          `reading bytes ${start}-${end - 1} of ${where}`,
          both,
        );
      },
      ...(verifier ? { inspect: verifier.inspect, finish: verifier.finish } : {}),
    });
  }

  /**
   * One GET with a Range (no If-Match: a pack never changes once written, and the caller checks
   * what it reads), retried like every other request. S3 answers a range that runs past the end
   * with the bytes it has, and one that starts past it with 416: both mean the object is shorter.
   */
  async readRange(key: string, start: number, end: number, options: IoOptions = {}): Promise<Buffer> {
    checkByteRange(key, start, end);
    const fullKey = this.keyOf(key);
    const where = `${this.location}/${key}`;
    const signal = options.signal;
    const doing = `reading bytes ${start}-${end - 1} of ${where}`;
    if (start === end) {
      // S3 has no empty range: only ask whether the object is long enough.
      const head = await this.retrying(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }), { abortSignal: signal }), doing, signal);
      if ((head.ContentLength ?? 0) < end) throw objectTooShortError(where, start, end, head.ContentLength);
      return Buffer.alloc(0);
    }
    const chunks = await this.retrying(() => this.fetchExactRange(fullKey, where, start, end, signal), doing, signal);
    return Buffer.concat(chunks, end - start);
  }

  private async fetchExactRange(fullKey: string, where: string, start: number, end: number, signal: AbortSignal | undefined): Promise<Buffer[]> {
    let answer;
    try {
      answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, Range: `bytes=${start}-${end - 1}` }), { abortSignal: signal });
    } catch (error) {
      if (httpStatusOf(error) === 416) throw objectTooShortError(where, start, end);
      throw error;
    }
    const body = answer.Body as Readable;
    const answered = parseContentRange(answer.ContentRange);
    if (answered?.start !== start || answered.end > end) {
      body.destroy();
      throw new StorageError(`S3 answered range ${answer.ContentRange ?? '(none)'} for bytes ${start}-${end - 1} of ${where}: retry, or check the endpoint supports ranged reads`, false);
    }
    if (answered.end < end) {
      body.destroy();
      throw objectTooShortError(where, start, end, answered.total);
    }
    return readExactly(body, end - start);
  }

  /** One GET of `[start, end)` (or the whole object): its chunks, exactly the expected size in all. */
  private async fetchRange(fullKey: string, etag: string | undefined, range: { start: number; end: number; total: number } | undefined, expectedBytes: number, signal: AbortSignal): Promise<Buffer[]> {
    const answer = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, ...(etag ? { IfMatch: etag } : {}), ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}) }),
      { abortSignal: signal },
    );
    const body = answer.Body as Readable;
    if (range && answer.ContentRange !== `bytes ${range.start}-${range.end - 1}/${range.total}`) {
      body.destroy();
      throw new StorageError(`S3 answered range ${answer.ContentRange ?? '(none)'} for bytes ${range.start}-${range.end - 1}/${range.total}: the object changed while it was being read`, false);
    }
    return readExactly(body, expectedBytes);
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    const signal = options.signal;
    let token: string | undefined;
    do {
      const page = await this.retrying(
        () =>
          this.client.send(
            new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, MaxKeys: this.listPageSize, ...(token ? { ContinuationToken: token } : {}) }),
            { abortSignal: signal },
          ),
        `listing ${this.location}/${prefix}`,
        signal,
      );
      for (const object of page.Contents ?? []) {
        if (object.Key?.startsWith(this.prefix)) yield { key: object.Key.slice(this.prefix.length), sizeBytes: object.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    const fullKey = this.keyOf(key);
    const where = `${this.location}/${key}`;
    const signal = options.signal;
    if (!this.settings.retention) {
      await this.retrying(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }), { abortSignal: signal }), `deleting ${where}`, signal);
      return;
    }
    // With Object Lock the bucket is versioned: a plain delete would only add a delete marker,
    // hiding a backup that is still locked. Remove the versions themselves instead.
    for (const versionId of await this.versionsOf(fullKey, where, signal)) {
      try {
        await this.retrying(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey, VersionId: versionId }), { abortSignal: signal }), `deleting ${where}`, signal);
      } catch (error) {
        if (errorCodeOf((error as { cause?: unknown }).cause) !== 'AccessDenied') throw error;
        throw await this.lockedError(fullKey, where, versionId, error, signal);
      }
    }
  }

  /** Without `retentionDays` this store locks nothing, and this does nothing. */
  async extendRetention(key: string, options: IoOptions = {}): Promise<void> {
    if (this.settings.retention) await this.bucketLockChecked(options.signal);
    await extendObjectRetention(this.upload, this.keyOf(key), options.signal);
  }

  async *listLeftovers(prefix: string, options: IoOptions = {}): AsyncIterable<Leftover> {
    const signal = options.signal;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.retrying(
        () =>
          this.client.send(
            new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.prefix + prefix, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}) }),
            { abortSignal: signal },
          ),
        `listing the incomplete uploads under ${this.location}/${prefix}`,
        signal,
      );
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key?.startsWith(this.prefix) || !upload.UploadId) continue;
        yield { kind: 'multipart-upload', key: upload.Key.slice(this.prefix.length), id: upload.UploadId, ...(upload.Initiated ? { startedAt: upload.Initiated } : {}) };
      }
      if (!page.IsTruncated) return;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async removeLeftover(leftover: Leftover, options: IoOptions = {}): Promise<void> {
    if (leftover.kind !== 'multipart-upload' || !leftover.id) throw new ConfigError(`not a leftover of ${this.location}: ${leftover.kind} ${leftover.key}`);
    const signal = options.signal;
    try {
      await this.retrying(
        () => this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.keyOf(leftover.key), UploadId: leftover.id }), { abortSignal: signal }),
        `aborting the multipart upload ${leftover.id} of ${this.location}/${leftover.key}`,
        signal,
      );
    } catch (error) {
      if (errorCodeOf((error as { cause?: unknown }).cause) !== 'NoSuchUpload') throw error;
    }
  }

  /** Every version and delete marker of exactly `fullKey`. */
  private async versionsOf(fullKey: string, where: string, signal?: AbortSignal): Promise<string[]> {
    const versions: string[] = [];
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    for (;;) {
      const page = await this.retrying(
        () =>
          this.client.send(
            new ListObjectVersionsCommand({ Bucket: this.bucket, Prefix: fullKey, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(versionMarker ? { VersionIdMarker: versionMarker } : {}) }),
            { abortSignal: signal },
          ),
        `listing the versions of ${where}`,
        signal,
      );
      for (const entry of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]) {
        if (entry.Key === fullKey && entry.VersionId) versions.push(entry.VersionId);
      }
      if (!page.IsTruncated) return versions;
      keyMarker = page.NextKeyMarker;
      versionMarker = page.NextVersionIdMarker;
    }
  }

  /** The error for a delete Object Lock refused, with the date the object may go. */
  private async lockedError(fullKey: string, where: string, versionId: string, cause: unknown, signal?: AbortSignal): Promise<StorageError> {
    const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey, VersionId: versionId }), { abortSignal: signal }).catch(() => undefined);
    const until = head?.ObjectLockRetainUntilDate ? ` until ${head.ObjectLockRetainUntilDate.toISOString()}` : '';
    const mode = head?.ObjectLockMode ? ` (${head.ObjectLockMode})` : '';
    return new StorageError(`deleting ${where} refused: it is under Object Lock retention${mode}${until}`, false, { cause });
  }

  /** Once per backend (again after a failure): a locking store refuses a bucket that cannot lock (s3-bucket-lock.ts). */
  private bucketLockChecked(signal?: AbortSignal): Promise<void> {
    this.#bucketLockCheck ??= checkBucketObjectLock(this.upload, this.location, signal).catch((error: unknown) => {
      this.#bucketLockCheck = undefined;
      throw error;
    });
    return this.#bucketLockCheck;
  }

  private retrying<T>(operation: () => Promise<T>, doing: string, signal?: AbortSignal): Promise<T> {
    return withRetries(operation, { policy: this.retry, translate: (error) => translateS3Error(error, doing), ...(signal ? { signal } : {}) });
  }

  private keyOf(key: string): string {
    if (!key || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
      throw new ConfigError(`object key ${JSON.stringify(key)} is not a plain relative path`);
    }
    return this.prefix + key;
  }
}

/** A GET's body as the chunks that arrived, exactly `expectedBytes` in all. */
async function readExactly(body: Readable, expectedBytes: number): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of body) {
    received += (chunk as Buffer).length;
    if (received > expectedBytes) {
      body.destroy();
      throw new StorageError(`S3 sent more than the ${expectedBytes} bytes asked for: the object changed while it was being read`, false);
    }
    chunks.push(chunk as Buffer);
  }
  // A body cut short without a socket error (a proxy closing early) is a transient fault.
  if (received !== expectedBytes) throw Object.assign(new Error(`S3 sent ${received} of ${expectedBytes} bytes`), { code: 'ECONNRESET' });
  return chunks;
}

import type { Readable } from 'node:stream';
import { Storage } from '@google-cloud/storage';
import { RETENTION_SLACK_MS, type IoOptions, type Leftover, type LeftoverSweeper, type ObjectInfo, type RetentionExtender, type StorageBackend } from '../../../ports/storage-backend.js';
import { ConfigError, IntegrityError, StorageError } from '../../../errors.js';
import { credentialsFileProblem } from '../../gcp/credentials-file.js';
import { ParallelRangeReader } from '../parallel-range-reader.js';
import { DEFAULT_RETRY_POLICY, withRetries, type RetryableError, type RetryPolicy } from '../../retry.js';
import { Crc32c } from '../../gcp/crc32c.js';
import { translateGcsError } from './gcs-errors.js';
import { checkByteRange, objectTooShortError, parseContentRange } from '../byte-range.js';
import { GcsHttp } from './gcs-http.js';
import { parseGcsUrl, type ObjectRetentionMode } from './gcs-url.js';
import { CHUNK_GRANULE_BYTES, GCS_SESSION_EXPIRY, resumableUpload } from './resumable-upload.js';

const MiB = 1024 * 1024;
const DEFAULT_ENDPOINT = 'https://storage.googleapis.com';

export interface GcsStorageBackendOptions {
  readonly bucket: string;
  /** Name prefix of every object, `''` or ending in `/`. @default '' */
  readonly prefix?: string;
  /** API endpoint; an `http://` endpoint is an emulator and gets no credentials. @default 'https://storage.googleapis.com' */
  readonly endpoint?: string;
  /** Bytes per resumable-upload request, a multiple of 256 KiB; an upload holds two of them. @default 16 MiB */
  readonly chunkSizeBytes?: number;
  /** Bytes per ranged read. @default 8 MiB */
  readonly rangeBytes?: number;
  /** Ranged reads in flight at once (memory: this × `rangeBytes`). @default 4 */
  readonly downloadConcurrency?: number;
  /** Object retention set on every object written (the bucket must allow object retention). @default none */
  readonly retention?: { readonly days: number; readonly mode: ObjectRetentionMode };
  /** Put an event-based hold on every object written. @default false */
  readonly eventBasedHold?: boolean;
  /** Retries of each request (a chunk, a range, a listing page). @default DEFAULT_RETRY_POLICY */
  readonly retry?: RetryPolicy;
  /** One fixed time limit for every request. @default `requestTimeoutMs()` of the bytes each request moves (`../request-timeout.ts`) */
  readonly requestTimeoutMs?: number;
  /** Authorization headers; by default from Application Default Credentials (never for an `http://` endpoint). */
  readonly authHeaders?: () => Promise<Record<string, string>>;
  /** Called before each retry wait (logs, tests). */
  readonly onRetry?: (error: RetryableError, attempt: number, delayMs: number) => void;
}

interface ObjectResource {
  name?: string;
  size?: string;
  generation?: string;
  crc32c?: string;
  retention?: { mode?: string; retainUntilTime?: string };
}

/**
 * Backups in Cloud Storage: `gs://bucket/prefix`.
 *
 * - `put` is a streamed resumable upload (see `resumable-upload.ts`): bounded memory (two
 *   chunks), no size ceiling, per-chunk retries with backoff and jitter, CRC32C declared to the
 *   service on the finalizing request, nothing left behind on failure.
 * - `get` reads the generation it first saw in parallel ranges (`downloadConcurrency` ×
 *   `rangeBytes` in memory), emits them in order, and checks the whole stream's CRC32C against
 *   the object's before signalling its end: a consumer never sees a clean end of damaged bytes.
 * - `list` and `delete` are plain JSON API calls, each retried like a chunk.
 * - `extendRetention` (with `retentionDays`) moves an object's retention to `retentionDays` from
 *   now (a PATCH of `retention.retainUntilTime`), never earlier; a `Locked` retention stays so.
 * - Leftovers: a session that could not be cancelled (or whose process was killed) cannot be
 *   listed or found again; the service discards it after 7 days (`unlistedLeftovers`).
 *
 * Retries are this adapter's own (`../retry.ts`: capped exponential backoff, full jitter,
 * `retry.maxAttempts` per request), one policy for every request; the SDK is used only for
 * Application Default Credentials.
 *
 * @example
 * const storage = GcsStorageBackend.fromUrl('gs://acme-backups/prod?retentionDays=30');
 */
export class GcsStorageBackend implements StorageBackend, LeftoverSweeper, RetentionExtender {
  readonly location: string;
  /** A killed upload leaves its session, which no API lists: it expires. */
  readonly unlistedLeftovers = `unfinished upload sessions of killed backups: ${GCS_SESSION_EXPIRY}`;
  readonly bucket: string;
  readonly prefix: string;
  readonly #http: GcsHttp;
  readonly #chunkSizeBytes: number;
  readonly #rangeBytes: number;
  readonly #downloadConcurrency: number;
  readonly #retry: RetryPolicy;
  readonly #metadata: Readonly<Record<string, unknown>>;
  readonly #retention: GcsStorageBackendOptions['retention'];
  readonly #onRetry: GcsStorageBackendOptions['onRetry'];

  constructor(options: GcsStorageBackendOptions) {
    const prefix = options.prefix ?? '';
    if (prefix !== '' && !prefix.endsWith('/')) throw new ConfigError(`a gs:// prefix must end in "/", got ${JSON.stringify(prefix)}`);
    const chunkSizeBytes = options.chunkSizeBytes ?? 16 * MiB;
    if (!Number.isInteger(chunkSizeBytes) || chunkSizeBytes <= 0 || chunkSizeBytes % CHUNK_GRANULE_BYTES !== 0) {
      throw new ConfigError(`gs:// chunk size must be a positive multiple of 256 KiB, got ${chunkSizeBytes} bytes`);
    }
    this.bucket = options.bucket;
    this.prefix = prefix;
    this.location = `gs://${options.bucket}${prefix ? `/${prefix.slice(0, -1)}` : ''}`;
    const endpoint = options.endpoint ?? DEFAULT_ENDPOINT;
    const authHeaders = options.authHeaders ?? (endpoint.startsWith('http://') ? undefined : applicationDefaultCredentials(endpoint));
    this.#http = new GcsHttp({ endpoint, ...(authHeaders ? { authHeaders } : {}), ...(options.requestTimeoutMs ? { requestTimeoutMs: options.requestTimeoutMs } : {}) });
    this.#chunkSizeBytes = chunkSizeBytes;
    this.#rangeBytes = options.rangeBytes ?? 8 * MiB;
    this.#downloadConcurrency = options.downloadConcurrency ?? 4;
    this.#retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.#retention = options.retention;
    this.#metadata = options.eventBasedHold ? { eventBasedHold: true } : {};
    this.#onRetry = options.onRetry;
  }

  /** `gs://bucket/prefix?…` (options in `gcs-url.ts`); the endpoint also comes from `STORAGE_EMULATOR_HOST`. */
  static fromUrl(url: string, env: NodeJS.ProcessEnv = process.env): GcsStorageBackend {
    const settings = parseGcsUrl(url, env);
    return new GcsStorageBackend({
      bucket: settings.bucket,
      prefix: settings.prefix,
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      ...(settings.chunkSizeBytes ? { chunkSizeBytes: settings.chunkSizeBytes } : {}),
      ...(settings.retention ? { retention: settings.retention } : {}),
      eventBasedHold: settings.eventBasedHold,
    });
  }

  async put(key: string, body: Readable, options: IoOptions = {}): Promise<{ readonly sizeBytes: number }> {
    const name = this.nameOf(key);
    const retention = this.#retention
      ? { retention: { mode: this.#retention.mode, retainUntilTime: new Date(Date.now() + this.#retention.days * 86_400_000).toISOString() } }
      : {};
    const stored = await resumableUpload(body, {
      http: this.#http,
      bucket: this.bucket,
      name,
      label: this.labelOf(key),
      chunkSizeBytes: this.#chunkSizeBytes,
      metadata: { ...this.#metadata, ...retention },
      retry: this.#retry,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(this.#onRetry ? { onRetry: this.#onRetry } : {}),
    });
    return { sizeBytes: stored.sizeBytes };
  }

  async get(key: string, options: IoOptions = {}): Promise<Readable> {
    const name = this.nameOf(key);
    const label = this.labelOf(key);
    const object = await this.metadata(name, `reading ${label}`, options.signal);
    const sizeBytes = Number(object.size);
    if (!object.generation || !Number.isSafeInteger(sizeBytes)) throw new StorageError(`reading ${label} failed: the service did not report the object's size and generation`, false);
    const expectedCrc32c = object.crc32c;
    const crc = new Crc32c();
    // Every range names the generation seen above: an object replaced mid-read fails (404),
    // instead of mixing the bytes of two objects.
    const mediaUrl = `${this.#http.objectUrl(this.bucket, name)}?alt=media&generation=${object.generation}`;
    const reader = new ParallelRangeReader({
      sizeBytes,
      rangeBytes: this.#rangeBytes,
      concurrency: this.#downloadConcurrency,
      fetchRange: (start, end, signal) => this.fetchRange(mediaUrl, start, end, label, signal),
      inspect: (chunk) => crc.update(chunk),
      finish: () => {
        if (expectedCrc32c && crc.toBase64() !== expectedCrc32c) {
          throw new IntegrityError(`reading ${label}: the bytes read have CRC32C ${crc.toBase64()}, the object has ${expectedCrc32c}`);
        }
      },
    });
    if (options.signal) {
      const signal = options.signal;
      const onAbort = () => reader.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      if (signal.aborted) onAbort();
      else {
        signal.addEventListener('abort', onAbort, { once: true });
        reader.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
    return reader;
  }

  /**
   * One media GET with a Range header, retried like every other request. HTTP ranges name their
   * last byte (inclusive), hence `end - 1`. The service answers a range that runs past the end
   * with the bytes it has, and one that starts past it with 416: both mean the object is shorter.
   */
  async readRange(key: string, start: number, end: number, options: IoOptions = {}): Promise<Buffer> {
    checkByteRange(key, start, end);
    const name = this.nameOf(key);
    const label = this.labelOf(key);
    const doing = `reading bytes ${start}-${end - 1} of ${label}`;
    if (start === end) {
      // An empty HTTP range does not exist: only ask whether the object is long enough.
      const object = await this.metadata(name, doing, options.signal);
      if (Number(object.size) < end) throw objectTooShortError(label, start, end, Number(object.size));
      return Buffer.alloc(0);
    }
    const mediaUrl = `${this.#http.objectUrl(this.bucket, name)}?alt=media`;
    const wanted = end - start;
    const chunks = await withRetries(async () => {
      const response = await this.#http.request({
        method: 'GET',
        url: mediaUrl,
        // identity: the stored bytes themselves, never a transcoded form.
        headers: { range: `bytes=${start}-${end - 1}`, 'accept-encoding': 'identity' },
        expect: [200, 206, 416],
        answerBytes: wanted,
        ...signalOf(options),
      });
      if (response.status === 416) {
        await response.discard();
        throw objectTooShortError(label, start, end);
      }
      // A 200 is the whole object (a range the service ignored): usable when the range starts at 0.
      const answered = response.status === 206 ? parseContentRange(response.header('content-range')) : { start: 0, end: Number(response.header('content-length') ?? NaN), total: undefined };
      if (answered?.start !== start || !(answered.end >= start)) {
        await response.discard();
        throw new StorageError(`${doing} failed: the service answered range ${response.header('content-range') ?? '(none)'}`, true);
      }
      if (answered.end < end) {
        await response.discard();
        throw objectTooShortError(label, start, end, answered.total);
      }
      const received = await response.chunks(wanted);
      const got = received.reduce((sum, chunk) => sum + chunk.length, 0);
      if (got !== wanted) throw new StorageError(`${doing} failed: got ${got} bytes`, true);
      return received;
    }, this.retryOptions(doing, options.signal));
    return Buffer.concat(chunks, wanted);
  }

  async *list(prefix: string, options: IoOptions = {}): AsyncIterable<ObjectInfo> {
    let pageToken: string | undefined;
    do {
      const params = new URLSearchParams({ prefix: this.prefix + prefix, fields: 'items(name,size),nextPageToken', maxResults: '1000' });
      if (pageToken) params.set('pageToken', pageToken);
      const url = `${this.#http.endpoint}/storage/v1/b/${encodeURIComponent(this.bucket)}/o?${params}`;
      const page = await withRetries(
        async () => (await this.#http.json<{ items?: ObjectResource[]; nextPageToken?: string }>({ method: 'GET', url, expect: [200], ...signalOf(options) })).body,
        this.retryOptions(`listing ${this.location}/${prefix}`, options.signal, 'bucket'),
      );
      for (const item of page.items ?? []) {
        if (item.name?.startsWith(this.prefix)) yield { key: item.name.slice(this.prefix.length), sizeBytes: Number(item.size ?? 0) };
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  async delete(key: string, options: IoOptions = {}): Promise<void> {
    const url = this.#http.objectUrl(this.bucket, this.nameOf(key));
    await withRetries(async () => {
      const response = await this.#http.request({ method: 'DELETE', url, expect: [200, 204, 404], ...signalOf(options) });
      await response.discard();
    }, this.retryOptions(`deleting ${this.labelOf(key)}`, options.signal));
  }

  /**
   * Moves the object's retention to `retentionDays` from now when it ends earlier (extending needs
   * no override, even for `Locked`); never shortens it. Without `retentionDays`, does nothing.
   */
  async extendRetention(key: string, options: IoOptions = {}): Promise<void> {
    if (!this.#retention) return;
    const name = this.nameOf(key);
    const doing = `extending the retention of ${this.labelOf(key)}`;
    const until = new Date(Date.now() + this.#retention.days * 86_400_000);
    const longEnough = (object: ObjectResource) => Date.parse(object.retention?.retainUntilTime ?? '') >= until.getTime() - RETENTION_SLACK_MS;
    const url = `${this.#http.objectUrl(this.bucket, name)}?fields=generation,retention`;
    const current = await withRetries(async () => (await this.#http.json<ObjectResource>({ method: 'GET', url, expect: [200], ...signalOf(options) })).body, this.retryOptions(doing, options.signal));
    if (longEnough(current)) return;
    const mode = current.retention?.mode === 'Locked' ? 'Locked' : this.#retention.mode;
    // The generation seen: the retention goes on that object, not on one that replaced it.
    const patchUrl = `${url}&ifGenerationMatch=${current.generation ?? 0}`;
    const body = JSON.stringify({ retention: { mode, retainUntilTime: until.toISOString() } });
    const patched = await withRetries(
      async () => (await this.#http.json<ObjectResource>({ method: 'PATCH', url: patchUrl, headers: { 'content-type': 'application/json' }, body, expect: [200], ...signalOf(options) })).body,
      this.retryOptions(doing, options.signal),
    );
    if (!longEnough(patched)) {
      throw new StorageError(`${doing} to ${until.toISOString()} failed: the service kept ${patched.retention?.retainUntilTime ?? 'no retention'}; check that the bucket has object retention enabled`, false);
    }
  }

  /** Nothing to list: an unfinished upload leaves only its session (see `unlistedLeftovers`). */
  // eslint-disable-next-line require-yield
  async *listLeftovers(): AsyncIterable<Leftover> {
    return;
  }

  async removeLeftover(leftover: Leftover): Promise<void> {
    throw new ConfigError(`not a leftover of ${this.location}: ${leftover.kind} ${leftover.key}`);
  }

  private async metadata(name: string, doing: string, signal: AbortSignal | undefined): Promise<ObjectResource> {
    const url = `${this.#http.objectUrl(this.bucket, name)}?fields=name,size,generation,crc32c`;
    return withRetries(async () => (await this.#http.json<ObjectResource>({ method: 'GET', url, expect: [200], ...(signal ? { signal } : {}) })).body, this.retryOptions(doing, signal));
  }

  private fetchRange(mediaUrl: string, start: number, end: number, label: string, signal: AbortSignal): Promise<readonly Buffer[]> {
    const wanted = end - start;
    return withRetries(async () => {
      const response = await this.#http.request({
        method: 'GET',
        url: mediaUrl,
        // identity: the stored bytes themselves, never a transcoded form.
        headers: { range: `bytes=${start}-${end - 1}`, 'accept-encoding': 'identity' },
        expect: [200, 206],
        answerBytes: wanted,
        signal,
      });
      // A 200 answers with the whole object: right only for a range from the start (it is cut below).
      if (response.status === 200 && start !== 0) {
        await response.discard();
        throw new StorageError(`reading ${label} failed: the service ignored the range request`, true);
      }
      const chunks = await response.chunks(wanted);
      const got = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
      if (got !== wanted) throw new StorageError(`reading bytes ${start}-${end - 1} of ${label} failed: got ${got} bytes`, true);
      return chunks;
    }, this.retryOptions(`reading bytes ${start}-${end - 1} of ${label}`, signal));
  }

  private retryOptions(doing: string, signal: AbortSignal | undefined, missing: 'object' | 'bucket' = 'object') {
    return {
      policy: this.#retry,
      translate: (error: unknown) => translateGcsError(error, doing, missing),
      ...(signal ? { signal } : {}),
      ...(this.#onRetry ? { onRetry: this.#onRetry } : {}),
    };
  }

  private nameOf(key: string): string {
    if (key === '' || key.startsWith('/') || key.split('/').some((part) => part === '..' || part === '.')) {
      throw new ConfigError(`object key ${JSON.stringify(key)} is not a plain relative path`);
    }
    return this.prefix + key;
  }

  private labelOf(key: string): string {
    return `${this.location}/${key}`;
  }
}

function signalOf(options: IoOptions): { signal?: AbortSignal } {
  return options.signal ? { signal: options.signal } : {};
}

/** Bearer tokens from Application Default Credentials, via the SDK's own `GoogleAuth` (it caches and refreshes them). */
function applicationDefaultCredentials(endpoint: string): () => Promise<Record<string, string>> {
  let auth: { getRequestHeaders(url?: string): Promise<Record<string, string>> } | undefined;
  return async () => {
    auth ??= new Storage({ apiEndpoint: endpoint, useAuthWithCustomEndpoint: true }).authClient;
    try {
      return await auth.getRequestHeaders();
    } catch (error) {
      // A damaged key file fails deep in the auth library (raw OpenSSL text): name the file and the field instead.
      const problem = credentialsFileProblem();
      if (problem) throw new ConfigError(`no usable Google Cloud credentials for ${endpoint}: ${problem}`, { cause: error });
      throw new StorageError(`no Google Cloud credentials for ${endpoint}: ${(error as Error).message} (set GOOGLE_APPLICATION_CREDENTIALS or run on a service account)`, false, { cause: error });
    }
  };
}

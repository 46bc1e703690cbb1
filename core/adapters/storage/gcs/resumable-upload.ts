/**
 * A streamed Cloud Storage resumable upload (JSON API, `uploadType=resumable`) with bounded
 * memory and no size ceiling:
 *
 * - the body is cut into chunks of `chunkSizeBytes` (a multiple of 256 KiB, as the service
 *   requires of every chunk but the last); one chunk is in flight while the next is read, so the
 *   upload holds at most two chunk buffers whatever the object's size. A session takes any
 *   number of chunks (objects up to Cloud Storage's 5 TiB), so the size never has to be known;
 * - each chunk is retried on retryable failures with capped exponential backoff and full
 *   jitter; before a retry the session's status is asked (`Content-Range: bytes *\/*`), and the
 *   upload resumes from the byte the service says it persisted (it may keep part of a chunk);
 * - the request that finalizes the object carries `X-Goog-Hash: crc32c=…` of the whole stream,
 *   so the service refuses to create an object whose bytes differ; the CRC32C in its answer is
 *   compared again (an emulator may not check the header), and an object that does not match is
 *   deleted at once;
 * - the object exists only once the session is finalized, atomically: on any failure (the body,
 *   the signal, the service) the session is cancelled, and an object being overwritten stays
 *   whole. If the cancel fails too (the service is down), the error says the session is left
 *   with the bytes it holds: Cloud Storage offers no way to list open sessions, and discards
 *   one a week after it started.
 */
import type { Readable } from 'node:stream';
import { IntegrityError, LeftBehindError, oneLine, StorageError, type LeftBehindItem } from '../../../errors.js';
import { PartBufferPool, readParts } from '../part-reader.js';
import { withRetries, type RetryableError, type RetryPolicy } from '../../retry.js';
import { Crc32c } from '../../gcp/crc32c.js';
import type { GcsHttp, GcsResponse } from './gcs-http.js';
import { translateGcsError } from './gcs-errors.js';

/** Every chunk but the last must be a multiple of this (Cloud Storage's rule). */
export const CHUNK_GRANULE_BYTES = 256 * 1024;

/** HTTP 308, "Resume Incomplete": the chunk was stored, the object is not finalized. */
const RESUME_INCOMPLETE = 308;

export interface ResumableUploadOptions {
  readonly http: GcsHttp;
  readonly bucket: string;
  readonly name: string;
  /** Printable `gs://bucket/name` for messages. */
  readonly label: string;
  readonly chunkSizeBytes: number;
  /** Object resource fields set at creation (retention, event-based hold…). */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal;
  readonly onRetry?: (error: RetryableError, attempt: number, delayMs: number) => void;
}

export interface UploadedObject {
  readonly sizeBytes: number;
  readonly generation: string;
  /** Base64 big-endian CRC32C, as the service reports it. */
  readonly crc32c: string;
}

interface ObjectResource {
  size?: string;
  generation?: string;
  crc32c?: string;
}

/** Uploads `body` to `bucket/name`; see the module comment for the guarantees. */
export async function resumableUpload(body: Readable, options: ResumableUploadOptions): Promise<UploadedObject> {
  const { chunkSizeBytes, signal } = options;
  if (!Number.isInteger(chunkSizeBytes) || chunkSizeBytes <= 0 || chunkSizeBytes % CHUNK_GRANULE_BYTES !== 0) {
    throw new RangeError(`chunkSizeBytes must be a positive multiple of 256 KiB, got ${chunkSizeBytes}`);
  }
  signal?.throwIfAborted();
  const session = await startSession(options);
  // Stops the chunk in flight when the upload fails for another reason (the body broke).
  const stop = new AbortController();
  const uploader = new ChunkUploader(session, { ...options, signal: signal ? AbortSignal.any([signal, stop.signal]) : stop.signal });
  // A failure of the chunk in flight, or an abort, must stop the reading of the body at once,
  // not only when the next chunk is full: destroying the body ends the loop below.
  const stopReading = (error: unknown) => body.destroy(error instanceof Error ? error : new Error(String(error)));
  const onAbort = () => stopReading(signal!.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const pool = new PartBufferPool();
  const crc = new Crc32c();
  let inFlight: Promise<void> | undefined;
  let failure: unknown;
  let offset = 0;
  let finalized: UploadedObject | undefined;
  try {
    for await (const part of readParts(body, () => chunkSizeBytes, pool)) {
      crc.update(part.bytes);
      if (inFlight) await inFlight;
      const start = offset;
      offset += part.bytes.length;
      if (part.bytes.length < chunkSizeBytes) {
        // Shorter than a chunk (or the empty body): the last part, so it finalizes the object.
        finalized = await uploader.finish(part.bytes, start, offset, crc.toBase64());
        break;
      }
      inFlight = uploader.send(part.bytes, start).then(
        () => pool.release(part.buffer),
        (error: unknown) => {
          failure ??= error;
          stopReading(error);
          throw error;
        },
      );
      // Handled when awaited; without this a failure while the body is being read would be "unhandled".
      inFlight.catch(() => undefined);
    }
    if (inFlight) await inFlight;
    // The body ended on a chunk boundary: finalize with an empty request.
    finalized ??= await uploader.finish(Buffer.alloc(0), offset, offset, crc.toBase64());
    await checkStored(finalized, offset, crc.toBase64(), options);
    return finalized;
  } catch (error) {
    // The body was destroyed with the upload's own error or the abort reason: report the cause.
    const cause: unknown = signal?.aborted ? signal.reason : (failure ?? error);
    if (!finalized) {
      stop.abort(error);
      await inFlight?.catch(() => undefined);
      const notCancelled = await uploader.cancel();
      // The session keeps what it received until it expires: say so instead of pretending nothing is left.
      if (notCancelled) throw new LeftBehindError(cause, [leftSession(options, uploader.persistedBytes, notCancelled)]);
    }
    throw cause;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Starts a session: the service answers with the session URI every chunk is sent to. */
async function startSession(options: ResumableUploadOptions): Promise<string> {
  const { http, bucket, name, metadata, signal } = options;
  const url = `${http.uploadUrl(bucket)}?uploadType=resumable&name=${encodeURIComponent(name)}`;
  return withRetries(
    async () => {
      const response = await http.request({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/json; charset=utf-8', 'x-upload-content-type': 'application/octet-stream' },
        body: JSON.stringify({ name, contentType: 'application/octet-stream', ...metadata }),
        expect: [200, 201],
        ...(signal ? { signal } : {}),
      });
      await response.discard();
      const location = response.header('location');
      if (!location) throw new StorageError(`starting the upload of ${options.label} failed: the service returned no session URI`, false);
      return location;
    },
    retryOptions(options, `starting the upload of ${options.label}`, 'bucket'),
  );
}

function retryOptions(options: ResumableUploadOptions, doing: string, missing: 'object' | 'bucket' = 'object') {
  return {
    policy: options.retry,
    translate: (error: unknown) => translateGcsError(error, doing, missing),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onRetry ? { onRetry: options.onRetry } : {}),
  };
}

/** The requests of one session, tracking what the service says it has persisted. */
class ChunkUploader {
  /** Bytes the service has confirmed, from the start of the object. */
  #persisted = 0;

  constructor(
    private readonly session: string,
    private readonly options: ResumableUploadOptions,
  ) {}

  /** Stores `bytes` (a whole number of 256 KiB granules) at `start`; the object stays unfinalized. */
  async send(bytes: Buffer, start: number): Promise<void> {
    const end = start + bytes.length;
    const doing = `uploading bytes ${start}-${end - 1} of ${this.options.label}`;
    await withRetries(async (attempt) => {
      if (attempt > 1) {
        const status = await this.status();
        if (status.finalized) throw new StorageError(`${doing} failed: the service finalized the object early`, false);
      }
      while (this.#persisted < end) {
        this.checkContinuity(start, doing);
        const from = this.#persisted;
        const response = await this.put(bytes.subarray(from - start), `bytes ${from}-${end - 1}/*`, {}, [RESUME_INCOMPLETE]);
        await response.discard();
        const confirmed = confirmedBytes(response);
        // The service may keep only part of a chunk; send the rest. No progress is a fault to retry.
        if (confirmed <= from) throw new StorageError(`${doing} failed: the service kept none of the chunk`, true);
        this.#persisted = confirmed;
      }
    }, retryOptions(this.options, doing));
  }

  /** Sends the last `bytes` (possibly none) at `start` and finalizes the object, declaring its CRC32C. */
  async finish(bytes: Buffer, start: number, total: number, crc32c: string): Promise<UploadedObject> {
    const doing = `finishing the upload of ${this.options.label}`;
    return withRetries(async (attempt) => {
      if (attempt > 1) {
        const status = await this.status();
        if (status.finalized) return status.finalized;
      }
      this.checkContinuity(start, doing);
      for (;;) {
        const from = this.#persisted;
        const range = from < total ? `bytes ${from}-${total - 1}/${total}` : `bytes */${total}`;
        const response = await this.put(bytes.subarray(from - start), range, { 'x-goog-hash': `crc32c=${crc32c}` }, [200, 201, RESUME_INCOMPLETE]);
        if (response.status !== RESUME_INCOMPLETE) return uploadedObject(await response.json<ObjectResource>(), doing);
        await response.discard();
        const confirmed = confirmedBytes(response);
        if (confirmed <= from) throw new StorageError(`${doing} failed: the service kept none of the last chunk`, true);
        this.#persisted = confirmed;
      }
    }, retryOptions(this.options, doing));
  }

  /** Bytes the service confirmed so far: what an unfinished session holds. */
  get persistedBytes(): number {
    return this.#persisted;
  }

  /**
   * Cancels the session (an unfinalized session never becomes an object, but it keeps the bytes
   * it received until it expires). Resolves `undefined` once cancelled, else why it is not.
   */
  async cancel(): Promise<string | undefined> {
    try {
      const response = await this.options.http.request({ method: 'DELETE', url: this.session, expect: [204, 499, 200, 404, 410], signal: AbortSignal.timeout(10_000) });
      await response.discard();
      return undefined;
    } catch (error) {
      return oneLine(translateGcsError(error, 'cancelling the session'));
    }
  }

  /** Asks the service what it has persisted (or whether the object is already finalized). */
  private async status(): Promise<{ finalized?: UploadedObject }> {
    const response = await this.put(Buffer.alloc(0), 'bytes */*', {}, [200, 201, RESUME_INCOMPLETE]);
    if (response.status !== RESUME_INCOMPLETE) return { finalized: uploadedObject(await response.json<ObjectResource>(), `finishing the upload of ${this.options.label}`) };
    await response.discard();
    this.#persisted = confirmedBytes(response);
    return {};
  }

  private checkContinuity(start: number, doing: string): void {
    // The bytes before `start` were released: the service must not ask for them again.
    if (this.#persisted < start) throw new StorageError(`${doing} failed: the service lost bytes it had confirmed (it has ${this.#persisted}, needs ${start}); the upload must start again`, false);
  }

  private put(body: Buffer, contentRange: string, headers: Record<string, string>, expect: readonly number[]): Promise<GcsResponse> {
    return this.options.http.request({
      method: 'PUT',
      url: this.session,
      headers: { 'content-range': contentRange, ...headers },
      body,
      expect,
      ...(this.options.signal ? { signal: this.options.signal } : {}),
    });
  }
}

/** What the session left when it could not be cancelled. */
function leftSession(options: ResumableUploadOptions, persistedBytes: number, reason: string): LeftBehindItem {
  return {
    kind: 'resumable-session',
    location: options.label,
    reason: `${persistedBytes} bytes received; cancelling it failed: ${reason}`,
    cleanup: GCS_SESSION_EXPIRY,
  };
}

/** How an unfinished upload session goes away: sessions cannot be listed, only expire. */
export const GCS_SESSION_EXPIRY = 'Cloud Storage discards an unfinished upload session 7 days after it started (it never becomes an object)';

/** The persisted length from a 308's `Range: bytes=0-<last>` (no header: nothing persisted). */
function confirmedBytes(response: GcsResponse): number {
  const range = /^bytes=0-(\d+)$/.exec(response.header('range') ?? '');
  return range ? Number(range[1]) + 1 : 0;
}

function uploadedObject(resource: ObjectResource, doing: string): UploadedObject {
  if (resource.size === undefined || !resource.generation || !resource.crc32c) {
    throw new StorageError(`${doing} failed: the service's answer lacks the object's size, generation or CRC32C`, false);
  }
  return { sizeBytes: Number(resource.size), generation: resource.generation, crc32c: resource.crc32c };
}

/**
 * The service stored what we sent, or the object goes. (Cloud Storage refuses a mismatching
 * `X-Goog-Hash` itself; this catches a store that does not.) Deleting exactly the generation
 * just created never touches a newer object of the same name.
 */
async function checkStored(stored: UploadedObject, sizeBytes: number, crc32c: string, options: ResumableUploadOptions): Promise<void> {
  if (stored.sizeBytes === sizeBytes && stored.crc32c === crc32c) return;
  const { http, bucket, name } = options;
  await http
    .request({ method: 'DELETE', url: `${http.objectUrl(bucket, name)}?ifGenerationMatch=${stored.generation}`, expect: [204, 200, 404, 412], signal: AbortSignal.timeout(30_000) })
    .then((response) => response.discard())
    .catch(() => undefined);
  throw new IntegrityError(
    `uploading ${options.label} failed: the service stored ${stored.sizeBytes} bytes with CRC32C ${stored.crc32c}, but ${sizeBytes} bytes with CRC32C ${crc32c} were sent; the object was deleted`,
  );
}

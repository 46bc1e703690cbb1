/**
 * Streaming one object into S3 with bounded memory.
 *
 * The body is cut into parts following the part schedule (8 MiB, doubling every 1,000 parts:
 * see part-sizing.ts). A body that ends inside the first part is one PutObject; anything longer
 * is a multipart upload with a bounded number of parts in flight, so memory is
 * `part size × (parts in flight + 1)` (40 MiB with the defaults, for any object up to 7.8 GiB).
 *
 * Every request carries the SHA-256 of its bytes, which S3 verifies; each part is retried on its
 * own (throttling, 5xx, resets, timeouts) with backoff and jitter. On any failure — a part that
 * keeps failing or fails permanently, the body erroring, the signal aborting — the requests in
 * flight are cancelled and the multipart upload is aborted (and every other incomplete upload
 * of the same key, e.g. one created by a retried CreateMultipartUpload whose answer was lost),
 * so no parts are left behind and no object appears.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  UploadPartCommand,
  type CompletedPart,
  type HeadObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { AbortedError, IntegrityError, LeftBehindError, oneLine, StorageError, type LeftBehindItem } from '../../../errors.js';
import { describeSchedule, partSizeBytes, type PartSchedule } from '../part-sizing.js';
import { PartBufferPool, readParts, type Part } from '../part-reader.js';
import { withRetries, type RetryPolicy } from '../../retry.js';
import { compositeSha256, sameChecksum, sha256 } from './s3-checksums.js';
import { errorCodeOf, translateS3Error } from './s3-errors.js';
import type { ObjectLockMode } from './s3-url.js';

/** Object metadata naming the part schedule, so a reader can recompute the composite checksum. */
export const SCHEDULE_METADATA = 'vaultra-part-schedule';

export interface S3UploadTarget {
  readonly client: S3Client;
  readonly bucket: string;
  readonly schedule: PartSchedule;
  /** Parts uploaded at once (fewer when parts are large: see `maxInFlightBytes`). */
  readonly partConcurrency: number;
  /** Bytes of parts in flight at most; at least one part is always allowed. */
  readonly maxInFlightBytes: number;
  readonly retry: RetryPolicy;
  readonly retention?: { readonly days: number; readonly mode: ObjectLockMode };
  /** `s3://bucket/prefix/` for messages. */
  readonly describe: (key: string) => string;
}

export interface UploadedObject {
  readonly sizeBytes: number;
  readonly versionId?: string;
}

/** Cleanup must run even after the caller's signal aborted: give it its own deadline. */
const CLEANUP_TIMEOUT_MS = 60_000;

/** The version an answer names, if the bucket is versioned (moto says "null" when it is not). */
export function versionOf(answer: { VersionId?: string }): string | undefined {
  return answer.VersionId && answer.VersionId !== 'null' ? answer.VersionId : undefined;
}

export async function uploadObject(target: S3UploadTarget, key: string, body: Readable, signal?: AbortSignal): Promise<UploadedObject> {
  const where = target.describe(key);
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const pool = new PartBufferPool();
  const parts = readParts(body, (n) => partSizeBytes(target.schedule, n), pool);
  const aborted = new Promise<never>((_, reject) => {
    const fail = () => reject(new AbortedError(`upload of ${where} cancelled`, { cause: controller.signal.reason }));
    if (controller.signal.aborted) fail();
    else controller.signal.addEventListener('abort', fail, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    if (signal?.aborted) throw new AbortedError(`upload of ${where} cancelled`, { cause: signal.reason });
    const first = await Promise.race([handled(parts.next()), aborted]);
    if (first.done) throw new Error('unreachable: readParts always yields a first part');
    if (first.value.bytes.length < partSizeBytes(target.schedule, 1)) {
      return await putSingle(target, key, first.value.bytes, controller.signal);
    }
    return await putMultipart(target, key, first.value, parts, pool, controller, aborted);
  } catch (error) {
    controller.abort();
    body.destroy();
    // Ends the part reader once the destroyed body stops it; not awaited (it may be mid-read).
    void parts.return(undefined).catch(() => undefined);
    throw error;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * Hands the SigV4 signer the payload hash already computed for the checksum, so the signer does
 * not hash the part a second time (it takes `x-amz-content-sha256` when present). The payload
 * stays signed.
 */
function signedWith<C extends PutObjectCommand | UploadPartCommand>(command: C, digest: Buffer): C {
  const hex = digest.toString('hex');
  type Args = { request: { headers?: Record<string, string> } };
  const stack = command.middlewareStack as unknown as { add(middleware: (next: (args: Args) => unknown) => (args: Args) => unknown, options: { step: 'build'; name: string }): void };
  stack.add(
    (next) => (args) => {
      if (args.request.headers) args.request.headers['x-amz-content-sha256'] = hex;
      return next(args);
    },
    { step: 'build', name: 'vaultraPayloadHash' },
  );
  return command;
}

/** `promise`, marked as handled: it may lose a race and reject later, unobserved. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

function lockHeaders(target: S3UploadTarget): { ObjectLockMode?: ObjectLockMode; ObjectLockRetainUntilDate?: Date } {
  if (!target.retention) return {};
  return { ObjectLockMode: target.retention.mode, ObjectLockRetainUntilDate: retainUntil(target.retention.days) };
}

/** When an object written now with `days` of retention unlocks. */
export function retainUntil(days: number): Date {
  return new Date(Date.now() + days * 86_400_000);
}

async function putSingle(target: S3UploadTarget, key: string, bytes: Buffer, signal: AbortSignal): Promise<UploadedObject> {
  const where = target.describe(key);
  const digest = sha256(bytes);
  const checksum = digest.toString('base64');
  const lock = lockHeaders(target);
  const put = await withRetries(
    () =>
      target.client.send(
        signedWith(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: bytes, ContentLength: bytes.length, ChecksumAlgorithm: 'SHA256', ChecksumSHA256: checksum, ...lock }), digest),
        { abortSignal: signal },
      ),
    { policy: target.retry, signal, translate: (e) => translateS3Error(e, `writing ${where}`) },
  );
  if (put.ChecksumSHA256 && !sameChecksum(put.ChecksumSHA256, checksum)) {
    await removeVersion(target, key, versionOf(put));
    throw new IntegrityError(`writing ${where}: S3 stored SHA-256 ${put.ChecksumSHA256}, the bytes sent have ${checksum}`);
  }
  if (target.retention) await ensureRetention(target, key, versionOf(put), lock.ObjectLockRetainUntilDate!, signal);
  const versionId = versionOf(put);
  return { sizeBytes: bytes.length, ...(versionId ? { versionId } : {}) };
}

async function putMultipart(
  target: S3UploadTarget,
  key: string,
  first: Part,
  parts: AsyncGenerator<Part, void, undefined>,
  pool: PartBufferPool,
  controller: AbortController,
  aborted: Promise<never>,
): Promise<UploadedObject> {
  const where = target.describe(key);
  const signal = controller.signal;
  const lock = lockHeaders(target);
  let createAttempts = 0;
  const created = await withRetries(
    (attempt) => {
      createAttempts = attempt;
      return target.client.send(
        new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: key, ChecksumAlgorithm: 'SHA256', Metadata: { [SCHEDULE_METADATA]: describeSchedule(target.schedule) }, ...lock }),
        { abortSignal: signal },
      );
    },
    { policy: target.retry, signal, translate: (e) => translateS3Error(e, `starting the upload of ${where}`) },
  );
  const uploadId = created.UploadId!;

  const done: CompletedPart[] = [];
  const digests: Buffer[] = [];
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;
  let failPart!: (error: unknown) => void;
  const partFailed = new Promise<never>((_, reject) => (failPart = reject));
  partFailed.catch(() => undefined);
  let sizeBytes = 0;

  const start = (part: Part) => {
    const bytes = part.bytes;
    const checksum = sha256(bytes);
    digests[part.partNumber - 1] = checksum;
    sizeBytes += bytes.length;
    const upload = withRetries(
      () =>
        target.client.send(
          signedWith(
            new UploadPartCommand({
              Bucket: target.bucket,
              Key: key,
              UploadId: uploadId,
              PartNumber: part.partNumber,
              Body: bytes,
              ContentLength: bytes.length,
              ChecksumAlgorithm: 'SHA256',
              ChecksumSHA256: checksum.toString('base64'),
            }),
            checksum,
          ),
          { abortSignal: signal },
        ),
      { policy: target.retry, signal, translate: (e) => translateS3Error(e, `uploading part ${part.partNumber} of ${where}`) },
    ).then(
      (answer) => {
        done.push({ PartNumber: part.partNumber, ETag: answer.ETag, ChecksumSHA256: checksum.toString('base64') });
        pool.release(part.buffer);
      },
      (error: unknown) => {
        failure ??= { error };
        failPart(error);
      },
    );
    const tracked = upload.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  /** Parts allowed in flight for parts of this size: fewer when parts are large. */
  const limit = (partBytes: number) => Math.max(1, Math.min(target.partConcurrency, Math.floor(target.maxInFlightBytes / partBytes)));

  try {
    start(first);
    for (;;) {
      const next = await Promise.race([handled(parts.next()), partFailed, aborted]);
      if (next.done) break;
      while (inFlight.size >= limit(next.value.buffer.length)) await Promise.race([...inFlight, partFailed, aborted]);
      start(next.value);
    }
    while (inFlight.size > 0) await Promise.race([...inFlight, partFailed, aborted]);
    if (failure) throw failure.error;

    done.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const completed = await complete(target, key, uploadId, done, signal);
    const expected = compositeSha256(digests);
    const stored = await head(target, key, versionOf(completed), signal);
    const versionId = versionOf(completed) ?? versionOf(stored);
    const problem = storedProblem(stored, sizeBytes, expected, done.length);
    if (problem) {
      await removeVersion(target, key, versionId);
      throw new IntegrityError(`writing ${where}: ${problem}`);
    }
    if (target.retention) await ensureRetention(target, key, versionId, lock.ObjectLockRetainUntilDate!, signal, stored);
    // A retried CreateMultipartUpload may have created an upload whose answer never arrived.
    if (createAttempts > 1) await abortUploadsOf(target, key);
    return { sizeBytes, ...(versionId ? { versionId } : {}) };
  } catch (error) {
    controller.abort();
    await Promise.allSettled([...inFlight]);
    const left = await abortUploadsOf(target, key, uploadId);
    // The storage failing may fail the abort too: then say so, with the upload id, rather than
    // leave parts nobody hears about (they are billed until someone aborts the upload).
    if (left.length > 0) throw new LeftBehindError(error, left.map((upload) => leftUpload(target, key, upload)));
    throw error;
  }
}

function leftUpload(target: S3UploadTarget, key: string, upload: { uploadId: string; reason: string }): LeftBehindItem {
  return {
    kind: 'multipart-upload',
    location: target.describe(key),
    id: upload.uploadId,
    reason: `aborting it failed: ${upload.reason}`,
    cleanup: "the next backup of this job or 'vaultra catalog repair' aborts it (or the bucket's lifecycle rule for incomplete uploads)",
  };
}

async function complete(target: S3UploadTarget, key: string, uploadId: string, parts: CompletedPart[], signal: AbortSignal): Promise<{ VersionId?: string }> {
  const where = target.describe(key);
  let attempts = 0;
  try {
    return await withRetries(
      (attempt) => {
        attempts = attempt;
        return target.client.send(new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: parts } }), { abortSignal: signal });
      },
      { policy: target.retry, signal, translate: (e) => translateS3Error(e, `completing the upload of ${where}`) },
    );
  } catch (error) {
    // A retry after a lost answer finds the upload already completed: the checks that follow
    // (size and composite checksum of what HEAD finds) decide whether it is ours.
    if (attempts > 1 && (error as { cause?: { name?: string } }).cause?.name === 'NoSuchUpload') return {};
    throw error;
  }
}

async function head(target: S3UploadTarget, key: string, versionId: string | undefined, signal: AbortSignal): Promise<HeadObjectCommandOutput> {
  return withRetries(
    () => target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key, ChecksumMode: 'ENABLED', ...(versionId ? { VersionId: versionId } : {}) }), { abortSignal: signal }),
    { policy: target.retry, signal, translate: (e) => translateS3Error(e, `checking ${target.describe(key)}`) },
  );
}

/** Why the object S3 now holds is not the one sent, or `undefined` when it is. */
function storedProblem(stored: HeadObjectCommandOutput, sizeBytes: number, expected: string, parts: number): string | undefined {
  if (stored.ContentLength !== sizeBytes) return `S3 holds ${stored.ContentLength} bytes, ${sizeBytes} were sent`;
  if (!stored.ChecksumSHA256) return 'S3 kept no SHA-256 checksum for the object (the store ignored x-amz-checksum-algorithm)';
  if (!sameChecksum(stored.ChecksumSHA256, expected, parts)) return `S3 holds composite SHA-256 ${stored.ChecksumSHA256}, the parts sent give ${expected}-${parts}: a part was damaged on the way`;
  return undefined;
}

/**
 * Confirms the object is locked until at least `until`. Stores that accept the Object Lock
 * headers on CreateMultipartUpload without applying them (moto does) get an explicit
 * PutObjectRetention; a store that still shows no lock fails the put rather than pretend.
 */
async function ensureRetention(target: S3UploadTarget, key: string, versionId: string | undefined, until: Date, signal: AbortSignal, known?: HeadObjectCommandOutput): Promise<void> {
  const where = target.describe(key);
  const locked = (h: HeadObjectCommandOutput) => h.ObjectLockMode === target.retention!.mode && h.ObjectLockRetainUntilDate !== undefined && h.ObjectLockRetainUntilDate.getTime() >= until.getTime() - 1_000;
  const current = known ?? (await head(target, key, versionId, signal));
  if (locked(current)) return;
  const version = versionId ?? versionOf(current);
  try {
    await withRetries(
      () =>
        target.client.send(
          new PutObjectRetentionCommand({ Bucket: target.bucket, Key: key, ...(version ? { VersionId: version } : {}), Retention: { Mode: target.retention!.mode, RetainUntilDate: until } }),
          { abortSignal: signal },
        ),
      { policy: target.retry, signal, translate: (e) => translateS3Error(e, `locking ${where}`) },
    );
    if (locked(await head(target, key, version, signal))) return;
    throw new StorageError(`writing ${where}: the store did not apply Object Lock retention (${target.retention!.mode}) to the object`, false);
  } catch (error) {
    await removeVersion(target, key, version);
    throw error;
  }
}

/** Best-effort removal of an object this put just wrote and then rejected. */
async function removeVersion(target: S3UploadTarget, key: string, versionId: string | undefined): Promise<void> {
  await target.client
    .send(new DeleteObjectCommand({ Bucket: target.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }), { abortSignal: AbortSignal.timeout(CLEANUP_TIMEOUT_MS) })
    .catch(() => undefined);
}

/**
 * Aborts `uploadId` and any other incomplete upload of exactly `key` (one writer per key:
 * run folders are unique). Repeats while S3 still lists one, as AWS advises for parts that
 * were still arriving when the abort was sent. Never throws: the put's own error matters more.
 * Resolves with the uploads that may still be there (an abort or the listing failed), each with
 * the reason, so the caller can say so.
 */
async function abortUploadsOf(target: S3UploadTarget, key: string, uploadId?: string): Promise<{ uploadId: string; reason: string }[]> {
  const signal = AbortSignal.timeout(CLEANUP_TIMEOUT_MS);
  const options = { policy: target.retry, signal, translate: (e: unknown) => translateS3Error(e, `aborting the upload of ${target.describe(key)}`) };
  const failed = new Map<string, string>();
  const abort = async (id: string) => {
    try {
      await withRetries(() => target.client.send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: key, UploadId: id }), { abortSignal: signal }), options);
      failed.delete(id);
    } catch (error) {
      if (errorCodeOf((error as { cause?: unknown }).cause) === 'NoSuchUpload') failed.delete(id);
      else failed.set(id, oneLine(error).replace(/^aborting the upload of \S+ failed: /, ''));
    }
  };
  try {
    if (uploadId) await abort(uploadId);
    for (let round = 0; round < 3; round++) {
      const listed = await withRetries(() => target.client.send(new ListMultipartUploadsCommand({ Bucket: target.bucket, Prefix: key }), { abortSignal: signal }), options);
      const left = (listed.Uploads ?? []).filter((upload) => upload.Key === key && upload.UploadId);
      if (left.length === 0) return [];
      for (const upload of left) await abort(upload.UploadId!);
    }
  } catch {
    // The listing failed: report the upload we know of; any other is found by the next sweep.
  }
  return [...failed].map(([id, reason]) => ({ uploadId: id, reason }));
}

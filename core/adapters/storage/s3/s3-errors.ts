/**
 * The one place an S3 SDK or network error becomes a Vaultra error. Retry logic reads
 * `StorageError.retryable`, set here from S3's error code, the HTTP status and Node's socket
 * error codes — never from message text.
 */
import { NotFoundError, StorageError, VaultraError, oneLine } from '../../../errors.js';

/** S3 error codes worth another attempt (throttling, transient server trouble, a part damaged in transit). */
const RETRYABLE_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'BandwidthLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'OperationAborted',
  'BadDigest',
  'TimeoutError',
]);

/** Socket-level failures: the request may not have reached S3, or its answer was lost. */
const RETRYABLE_NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);

const NOT_FOUND_CODES = new Set(['NoSuchKey', 'NotFound', 'NoSuchVersion']);

interface SdkErrorShape {
  name?: string;
  code?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

/** HTTP status of an SDK error, when S3 answered at all. */
export function httpStatusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/** S3's error code (`NoSuchKey`, `SlowDown`, `AccessDenied`…) or the Node error code. */
export function errorCodeOf(error: unknown): string | undefined {
  const e = error as SdkErrorShape | undefined;
  // An answer from S3 names its code in `name`; a socket failure has a Node `code` instead.
  return e?.Code ?? (e?.$metadata?.httpStatusCode !== undefined ? e.name : undefined) ?? e?.code ?? e?.name;
}

/**
 * `doing` says what failed, e.g. `uploading part 3 of s3://bucket/prefix/key`. Vaultra errors
 * and aborts pass through unchanged.
 */
export function translateS3Error(error: unknown, doing: string): unknown {
  if (error instanceof VaultraError) return error;
  if (!(error instanceof Error)) return new StorageError(`${doing} failed: ${oneLine(error)}`, false);
  if (error.name === 'AbortError') return error;
  const status = httpStatusOf(error);
  const code = errorCodeOf(error) ?? 'Error';
  const detail = oneLine(error.message && error.message !== code && error.message !== 'UnknownError' ? `${code}: ${error.message}` : code);
  if (NOT_FOUND_CODES.has(code) || (status === 404 && !code.startsWith('NoSuch'))) return new NotFoundError(`${doing}: no such object`, { cause: error });
  if (code === 'NoSuchBucket') return new StorageError(`${doing} failed: the bucket does not exist (${detail})`, false, { cause: error });
  if (code === 'PreconditionFailed' || status === 412) {
    return new StorageError(`${doing} failed: the object changed while it was being read (its ETag no longer matches); read it again`, false, { cause: error });
  }
  const retryable =
    RETRYABLE_CODES.has(code) ||
    (status !== undefined && (status === 429 || (status >= 500 && status !== 501))) ||
    (status === undefined && RETRYABLE_NETWORK_CODES.has((error as SdkErrorShape).code ?? code)) ||
    (error as SdkErrorShape).$retryable?.throttling === true;
  return new StorageError(`${doing} failed: ${detail}${status ? ` (HTTP ${status})` : ''}`, retryable, { cause: error });
}

/**
 * The one place a Cloud Storage answer or network failure becomes a Vaultra error. Retry logic
 * reads `StorageError.retryable`, set here from the HTTP status and Node's socket error codes —
 * never from message text. Errors come from two callers: the SDK (an `ApiError` whose numeric
 * `code` is the HTTP status) and this adapter's own requests (`GcsHttpError`).
 */
import { NotFoundError, StorageError, VaultraError, oneLine } from '../../../errors.js';

/** A Cloud Storage answer with a status the request did not expect. */
export class GcsHttpError extends Error {
  constructor(
    readonly status: number,
    /** The service's own one-line explanation (from its JSON error body), if any. */
    readonly detail: string,
    /** The service's error reason, e.g. `retentionPolicyNotMet`. */
    readonly reason?: string,
  ) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'GcsHttpError';
  }
}

/** Socket-level failures: the request may not have reached the service, or its answer was lost. */
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

interface ErrorShape {
  name?: string;
  code?: unknown;
  status?: unknown;
  message?: string;
  cause?: unknown;
  errors?: { reason?: string; message?: string }[];
  response?: { status?: number };
}

/** The HTTP status of an error, when the service answered at all. */
export function httpStatusOf(error: unknown): number | undefined {
  const e = error as ErrorShape | undefined;
  if (error instanceof GcsHttpError) return error.status;
  if (typeof e?.code === 'number' && e.code >= 100 && e.code < 600) return e.code;
  if (typeof e?.response?.status === 'number') return e.response.status;
  return undefined;
}

/** The first socket error code along the `cause` chain (fetch wraps it: `TypeError: fetch failed`). */
function networkCodeOf(error: unknown): string | undefined {
  for (let e = error as ErrorShape | undefined, depth = 0; e && depth < 5; e = e.cause as ErrorShape | undefined, depth++) {
    if (typeof e.code === 'string' && RETRYABLE_NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

function reasonOf(error: unknown): string | undefined {
  if (error instanceof GcsHttpError) return error.reason;
  return (error as ErrorShape | undefined)?.errors?.find((inner) => inner.reason)?.reason;
}

/**
 * `doing` says what failed, e.g. `uploading gs://bucket/prefix/key`. Vaultra errors and aborts
 * pass through unchanged. A 404 means a missing object, or for requests that name only the
 * bucket (a listing, a new upload: `missing: 'bucket'`), a missing bucket: a permanent
 * `StorageError`, not a `NotFoundError` the caller could take for "no backup yet".
 */
export function translateGcsError(error: unknown, doing: string, missing: 'object' | 'bucket' = 'object'): unknown {
  if (error instanceof VaultraError) return error;
  if (!(error instanceof Error)) return new StorageError(`${doing} failed: ${oneLine(error)}`, false);
  if (error.name === 'AbortError') return error;
  const status = httpStatusOf(error);
  const reason = reasonOf(error);
  const detail = oneLine(error instanceof GcsHttpError ? error.message : error.message || error.name).slice(0, 300);
  if (status === 404 && missing === 'bucket') return new StorageError(`${doing} failed: the bucket does not exist (${detail})`, false, { cause: error });
  if (status === 404) return new NotFoundError(`${doing}: no such object`, { cause: error });
  if (status === 412) {
    return new StorageError(`${doing} failed: the object changed while it was being read (its generation no longer matches); read it again`, false, { cause: error });
  }
  if (status === 401 || status === 403) {
    const held = reason === 'retentionPolicyNotMet' || reason === 'objectUnderActiveHold' || /hold|retention/i.test(detail);
    const hint = held
      ? 'the object is under a retention period or hold'
      : 'permission denied (the service account needs roles/storage.objectAdmin on the bucket, or storage.objects.* permissions)';
    return new StorageError(`${doing} failed: ${hint} (${detail})`, false, { cause: error });
  }
  // A timeout of ours (AbortSignal.timeout) is a lost answer, like a reset connection.
  const timedOut = error.name === 'TimeoutError';
  const retryable = (status !== undefined && (status === 408 || status === 429 || (status >= 500 && status !== 501))) || (status === undefined && (timedOut || networkCodeOf(error) !== undefined));
  return new StorageError(`${doing} failed: ${detail}`, retryable, { cause: error });
}

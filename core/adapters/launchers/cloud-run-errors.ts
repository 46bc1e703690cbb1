import { redact } from '../../domain/redact.js';
import { oneLine } from '../../errors.js';

/** gRPC status names and codes (google.rpc.Code). */
const CODES = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
const NAMES = new Map<number, string>(Object.entries(CODES).map(([name, code]) => [code, name]));
/** How Google's HTTP mapping turns statuses into codes, for an error body without a `status`. */
const HTTP_CODES: Readonly<Record<number, number>> = { 400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8, 499: 1, 500: 13, 501: 12, 503: 14, 504: 4 };

export interface GoogleApiError {
  /** The gRPC code (`14` for UNAVAILABLE), whichever transport the client used. */
  readonly code: number | undefined;
  /** `UNAVAILABLE`, or `error` when unknown. */
  readonly status: string;
  /** Google's message, one line, redacted, at most 300 characters. */
  readonly message: string;
}

/**
 * Reads an error of a Google Cloud client library the same way over both transports: over gRPC
 * it carries the gRPC `code` and `details`; over REST (`fallback: true`), google-gax 5 rejects
 * with the HTTP error itself — `code` is the HTTP status and the message is Google's JSON error
 * body (`{"error":{"code":429,"message":…,"status":"RESOURCE_EXHAUSTED"}}`).
 */
export function googleApiError(error: unknown): GoogleApiError {
  const raw = error as { code?: unknown; details?: unknown; message?: unknown } | undefined;
  let code = typeof raw?.code === 'number' ? raw.code : undefined;
  let message = typeof raw?.details === 'string' && raw.details ? raw.details : oneLine(error);
  if (code !== undefined && code >= 100) {
    let status: string | undefined;
    try {
      const body = JSON.parse(String(raw?.message)) as { error?: { message?: unknown; status?: unknown } };
      if (typeof body.error?.message === 'string') message = body.error.message;
      if (typeof body.error?.status === 'string') status = body.error.status;
    } catch {
      // not Google's JSON error body: keep the message as it is
    }
    code = (status && status in CODES ? CODES[status as keyof typeof CODES] : undefined) ?? HTTP_CODES[code] ?? CODES.UNKNOWN;
  }
  return { code, status: code === undefined ? 'error' : (NAMES.get(code) ?? `code ${code}`), message: redact(oneLine(message)).slice(0, 300) };
}

/**
 * What an Azure SDK error says, and whether it is worth another try: shared by every Azure
 * adapter (Blob storage, Table catalog, Key Vault keys and signing, secrets, Container Apps). The SDK throws
 * `RestError` (`statusCode`, `code` = the service's `x-ms-error-code`, or a Node error code
 * such as `ECONNRESET` / `REQUEST_SEND_ERROR` when no response came back) and `AbortError`.
 */
import { redact } from '../../domain/redact.js';
import { oneLine } from '../../errors.js';
import { RetriesExhaustedError } from '../retry.js';

export interface AzureErrorShape {
  readonly name?: string;
  readonly statusCode?: number;
  readonly code?: string;
  readonly message?: string;
}

/** Throttling (Azure Storage answers 503 ServerBusy, gateways 429), timeouts and 5xx. */
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
/**
 * A block whose bytes arrived damaged (the service checked the MD5 we sent), and network faults
 * where no answer came back. Any of these can succeed on the next try with the same bytes.
 */
const RETRYABLE_CODES = new Set([
  'Md5Mismatch',
  'Crc64Mismatch',
  'OperationTimedOut',
  'ServerBusy',
  'InternalError',
  'REQUEST_SEND_ERROR',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

interface RestErrorDetails {
  readonly errorCode?: string;
  /** Table errors: `{ code, message: { value } }` (the message text is the raw JSON body). */
  readonly odataError?: { readonly code?: string; readonly message?: { readonly value?: string } };
}

/**
 * The parts of an SDK error this module reads. The service's error code is `code` for Blob
 * and Key Vault errors, but only `details.errorCode` for some Table calls, whose `message` is
 * then the raw JSON body: both are normalized here.
 */
export function azureError(error: unknown): AzureErrorShape {
  if (typeof error !== 'object' || error === null) return { message: String(error) };
  // Retries used up: the last error says what went wrong.
  if (error instanceof RetriesExhaustedError) return azureError(error.cause);
  const shape = error as AzureErrorShape & { readonly details?: RestErrorDetails };
  const details = shape.details;
  const code = shape.code ?? details?.errorCode ?? details?.odataError?.code;
  const message = details?.odataError?.message?.value ?? shape.message;
  return { ...(shape.name ? { name: shape.name } : {}), ...(shape.statusCode ? { statusCode: shape.statusCode } : {}), ...(code ? { code } : {}), ...(message ? { message } : {}) };
}

export function codeOf(error: unknown): string | undefined {
  return azureError(error).code;
}

export function statusOf(error: unknown): number | undefined {
  return azureError(error).statusCode;
}

export function isAbort(error: unknown): boolean {
  const { name, code } = azureError(error);
  return name === 'AbortError' || code === 'ABORT_ERR';
}

export function isRetryableAzureError(error: unknown): boolean {
  const { statusCode, code } = azureError(error);
  if (statusCode !== undefined && RETRYABLE_STATUS.has(statusCode)) return true;
  return code !== undefined && RETRYABLE_CODES.has(code);
}

/** One line naming what failed, the HTTP status and the service's error code; never a credential. */
export function describeAzureError(error: unknown): string {
  const { statusCode, code, message } = azureError(error);
  // The service's message is multi-line XML-ish text ending in "RequestId:… Time:…": keep its first line.
  const first = oneLine(message ?? '').split(' | ')[0] ?? '';
  const parts = [statusCode ? String(statusCode) : undefined, code, first].filter((part) => part);
  return redact(parts.join(' ').slice(0, 300));
}

/** `@azure/identity` found no usable credential, or the one it found was refused. */
export function isCredentialError(error: unknown): boolean {
  const { name } = azureError(error);
  return name === 'AggregateAuthenticationError' || name === 'CredentialUnavailableError' || name === 'AuthenticationError';
}

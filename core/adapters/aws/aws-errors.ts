import { AbortedError, ConfigError, StorageError, type VaultraError } from '../../errors.js';

/**
 * Reading AWS SDK v3 errors. The SDK throws one class per service exception whose `name` is
 * the exception's code (`NotFoundException`, `ConditionalCheckFailedException`, …), with
 * `$fault` and `$metadata.httpStatusCode`; adapters branch on `name`, never on message text.
 */
interface SdkError {
  readonly name?: string;
  readonly message?: string;
  readonly $fault?: 'client' | 'server';
  readonly $retryable?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: number };
}

/** The exception code of an SDK error (`'NotFoundException'`), or `''` for anything else. */
export function awsErrorName(error: unknown): string {
  return typeof error === 'object' && error !== null && typeof (error as SdkError).name === 'string' ? (error as SdkError).name! : '';
}

const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded', 'ProvisionedThroughputExceededException', 'LimitExceededException']);
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'TimeoutError', 'RequestTimeout']);

/** Whether trying again later may succeed: throttling, a 5xx, a dropped connection. */
export function isTransientAwsError(error: unknown): boolean {
  const sdk = error as SdkError & { code?: string };
  if (typeof error !== 'object' || error === null) return false;
  if (sdk.$retryable !== undefined || sdk.$fault === 'server') return true;
  if ((sdk.$metadata?.httpStatusCode ?? 0) >= 500) return true;
  return THROTTLING.has(awsErrorName(error)) || NETWORK.has(awsErrorName(error)) || NETWORK.has(sdk.code ?? '');
}

/**
 * The error for an SDK failure the adapter has no specific translation for: an abort, missing
 * credentials or region (configuration), or a service/network failure (`StorageError`, retryable
 * when transient). `doing` says what was attempted, e.g. "reading secret prod/db".
 */
export function genericAwsError(error: unknown, doing: string, service: string): VaultraError {
  const name = awsErrorName(error);
  if (name === 'AbortError') return new AbortedError(`${doing} was cancelled`, { cause: error });
  if (name === 'CredentialsProviderError') {
    return new ConfigError(`${doing} failed: no AWS credentials found (set AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with a role)`, { cause: error });
  }
  if (/region is missing/i.test((error as SdkError)?.message ?? '')) {
    return new ConfigError(`${doing} failed: no AWS region (set AWS_REGION or add ?region=… to the URL)`, { cause: error });
  }
  const status = (error as SdkError)?.$metadata?.httpStatusCode;
  const message = ((error as SdkError)?.message ?? String(error)).replace(/\s+/g, ' ').slice(0, 200);
  // No HTTP status: the request never got an answer (DNS, refused or dropped connection, timeout).
  if (!status) return new StorageError(`${doing} failed: could not reach ${service}: ${message}`, isTransientAwsError(error) || !name || name === 'Error', { cause: error });
  return new StorageError(`${doing} failed: ${service} answered ${name && name !== 'Error' ? name : message} (HTTP ${status})`, isTransientAwsError(error), { cause: error });
}

/** The region named in an ARN (`arn:aws:kms:eu-west-1:…`), if `id` is an ARN that names one. */
export function regionOfArn(id: string): string | undefined {
  const match = /^arn:aws[a-z-]*:[a-z0-9-]+:([a-z0-9-]*):/.exec(id);
  return match?.[1] || undefined;
}

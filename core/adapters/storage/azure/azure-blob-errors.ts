/** Azure Blob SDK errors → `StorageError`, with the hint a Blob user needs. */
import { StorageError } from '../../../errors.js';
import { RetriesExhaustedError } from '../../retry.js';
import { describeAzureError, isAbort, isCredentialError, isRetryableAzureError, statusOf } from '../../azure/azure-errors.js';

const CREDENTIAL_HINT =
  ': check the credential (AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_KEY, or an Entra ID identity for DefaultAzureCredential with the "Storage Blob Data Contributor" role)';

/** A `StorageError` for a failed Blob call (already-translated errors pass through). */
export function toStorageError(error: unknown, doing: string, hint = ''): unknown {
  if (error instanceof Error && 'kind' in error) return error;
  if (isAbort(error)) return error;
  const status = statusOf(error);
  const advice = hint || (status === 403 || status === 401 || isCredentialError(error) ? CREDENTIAL_HINT : '');
  const gaveUp = error instanceof RetriesExhaustedError ? ` (gave up after ${error.attempts} attempts)` : '';
  return new StorageError(`${doing} failed: ${describeAzureError(error)}${advice}${gaveUp}`, isRetryableAzureError(error), { cause: error });
}

/**
 * The check a locking store makes before its first write: does the bucket enforce Object Lock?
 *
 * S3 refuses Object Lock headers on a bucket created without Object Lock, but an S3-compatible
 * store or emulator may keep them without enforcing them (LocalStack 2026.3.0 does: HEAD then
 * shows a retention date on an object anyone can delete). A backup there would look locked and
 * not be. So the bucket is asked once (GetObjectLockConfiguration) and a bucket without Object
 * Lock enabled is refused before anything is written.
 *
 * A caller not allowed to ask (AccessDenied: an IAM policy written before this check) is not
 * refused for that: S3 itself still refuses the headers on a bucket without Object Lock, and the
 * HEAD after each write confirms the lock.
 */
import { GetObjectLockConfigurationCommand } from '@aws-sdk/client-s3';
import { StorageError } from '../../../errors.js';
import { withRetries } from '../../retry.js';
import { errorCodeOf, translateS3Error } from './s3-errors.js';
import type { S3UploadTarget } from './s3-upload.js';

/** What S3 answers for a bucket created without Object Lock. */
const NO_LOCK_CONFIGURATION = 'ObjectLockConfigurationNotFoundError';

export async function checkBucketObjectLock(target: S3UploadTarget, location: string, signal?: AbortSignal): Promise<void> {
  let enabled: string | undefined;
  try {
    const answer = await withRetries(() => target.client.send(new GetObjectLockConfigurationCommand({ Bucket: target.bucket }), { abortSignal: signal }), {
      policy: target.retry,
      ...(signal ? { signal } : {}),
      translate: (error) => translateS3Error(error, `checking that ${location} has Object Lock`),
    });
    enabled = answer.ObjectLockConfiguration?.ObjectLockEnabled;
  } catch (error) {
    // The translated error (S3's 404 reads as NotFoundError) keeps S3's own as its cause.
    const code = errorCodeOf(error instanceof Error && error.cause !== undefined ? error.cause : error);
    if (code === 'AccessDenied') return;
    if (code !== NO_LOCK_CONFIGURATION) throw error;
  }
  if (enabled !== 'Enabled') {
    throw new StorageError(
      `${location} has retentionDays but bucket ${target.bucket} has no ObjectLockConfiguration (Object Lock is set when a bucket is created): use a bucket created with Object Lock, or remove retentionDays`,
      false,
    );
  }
}

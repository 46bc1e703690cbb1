/**
 * Moving an existing object's Object Lock later (PutObjectRetention), for packs that a later
 * chunked snapshot reuses: the pack must stay locked as long as the newest snapshot using it.
 */
import { HeadObjectCommand, PutObjectRetentionCommand, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { StorageError } from '../../../errors.js';
import { RETENTION_SLACK_MS } from '../../../ports/storage-backend.js';
import { withRetries } from '../../retry.js';
import { translateS3Error } from './s3-errors.js';
import { retainUntil, versionOf, type S3UploadTarget } from './s3-upload.js';
import type { ObjectLockMode } from './s3-url.js';

/**
 * Locks the current version of `key` until at least `retentionDays` from now, in the target's
 * mode (a COMPLIANCE lock stays COMPLIANCE: S3 refuses to weaken it). Does nothing when the target
 * locks nothing or the object is already held that long, so a lock is never shortened. Verifies
 * with HEAD that the store applied the date: a store that ignores it fails the call.
 */
export async function extendObjectRetention(target: S3UploadTarget, key: string, signal?: AbortSignal): Promise<void> {
  if (!target.retention) return;
  const where = target.describe(key);
  const until = retainUntil(target.retention.days);
  const heldLongEnough = (head: HeadObjectCommandOutput) => (head.ObjectLockRetainUntilDate?.getTime() ?? 0) >= until.getTime() - RETENTION_SLACK_MS;
  const head = (versionId?: string) =>
    withRetries(() => target.client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }), { abortSignal: signal }), {
      policy: target.retry,
      ...(signal ? { signal } : {}),
      translate: (e) => translateS3Error(e, `checking the Object Lock of ${where}`),
    });

  const current = await head();
  if (heldLongEnough(current)) return;
  // The version HEAD saw: a versioned bucket locks versions, and this one is what readers get.
  const version = versionOf(current);
  const mode: ObjectLockMode = current.ObjectLockMode === 'COMPLIANCE' ? 'COMPLIANCE' : target.retention.mode;
  try {
    await withRetries(
      () =>
        target.client.send(
          new PutObjectRetentionCommand({ Bucket: target.bucket, Key: key, ...(version ? { VersionId: version } : {}), Retention: { Mode: mode, RetainUntilDate: until } }),
          { abortSignal: signal },
        ),
      { policy: target.retry, ...(signal ? { signal } : {}), translate: (e) => translateS3Error(e, `extending the Object Lock of ${where}`) },
    );
  } catch (error) {
    // Another run may have moved the lock later meanwhile, and S3 refuses to shorten it: fine.
    if (heldLongEnough(await head(version).catch(() => current))) return;
    throw error;
  }
  const after = await head(version);
  if (heldLongEnough(after)) return;
  const kept = after.ObjectLockRetainUntilDate ? `kept it locked until ${after.ObjectLockRetainUntilDate.toISOString()}` : 'shows no lock on it';
  throw new StorageError(`extending the Object Lock of ${where} to ${until.toISOString()}: the store ${kept}; check that the bucket has Object Lock enabled`, false);
}

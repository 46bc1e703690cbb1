import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, ObjectOwnership, StorageClass, type LifecycleRule } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ConfigError } from '../../core/errors.js';
import type { AwsEnvironment } from './deployment-config.js';

export interface BackupBucketProps {
  readonly key: IKey;
  /** The environment's `storage` section. */
  readonly storage: AwsEnvironment['storage'];
}

/** S3 refuses transitions to these classes earlier than 30 days after creation. */
const THIRTY_DAY_MINIMUM = new Set(['STANDARD_IA', 'ONEZONE_IA']);

/**
 * The bucket backups are written to (`<prefix>/<job>/<YYYY>/<MM>/<DD>/<runId>/…`), and a second
 * bucket for its server access logs. Both outlive the stack: deleting the stack must never
 * delete backups.
 */
export class BackupBucket extends Construct {
  readonly bucket: Bucket;
  readonly accessLogBucket: Bucket;
  /** The key prefix every backup object lives under, without a slash. */
  readonly prefix: string;
  /** Whether the bucket enforces Object Lock retention (roles then need the retention actions). */
  readonly objectLock: boolean;

  constructor(scope: Construct, id: string, props: BackupBucketProps) {
    super(scope, id);
    const { storage } = props;
    for (const transition of storage.transitions) {
      if (THIRTY_DAY_MINIMUM.has(transition.storageClass) && transition.afterDays < 30) {
        throw new ConfigError(`storage.transitions: S3 moves objects to ${transition.storageClass} 30 days after creation at the earliest, got afterDays: ${transition.afterDays}`);
      }
    }
    this.prefix = storage.prefix;
    this.objectLock = storage.objectLock !== undefined;

    this.accessLogBucket = new Bucket(this, 'AccessLogs', {
      // S3 server access logging cannot deliver into an SSE-KMS bucket: S3-managed keys here.
      // No access logs of its own: cdk-nag's S1 knows a log destination needs none.
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: Duration.days(400), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    const lock = storage.objectLock;
    this.bucket = new Bucket(this, 'Bucket', {
      ...(storage.bucket ? { bucketName: storage.bucket } : {}),
      encryption: BucketEncryption.KMS,
      encryptionKey: props.key,
      // One data key per bucket instead of one KMS call per object: large backups write thousands of parts.
      bucketKeyEnabled: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // A retention delete leaves the old version for noncurrentVersionExpirationDays: a mistaken delete can be undone.
      versioned: true,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'backup-bucket/',
      ...(lock
        ? {
            objectLockEnabled: true,
            objectLockDefaultRetention: lock.mode === 'COMPLIANCE' ? ObjectLockRetention.compliance(Duration.days(lock.days)) : ObjectLockRetention.governance(Duration.days(lock.days)),
          }
        : {}),
      lifecycleRules: lifecycleRules(storage),
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** The ARN pattern of every object under the prefix: what the runner and functions may touch. */
  get prefixObjectsArn(): string {
    return this.bucket.arnForObjects(`${this.prefix}/*`);
  }
}

function lifecycleRules(storage: AwsEnvironment['storage']): LifecycleRule[] {
  const rules: LifecycleRule[] = [
    // A runner killed mid-upload leaves parts S3 bills for until they are aborted.
    { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
    // Old versions (after retention deletes) go after the grace period; the markers left behind go too.
    { id: 'expire-old-versions', noncurrentVersionExpiration: Duration.days(storage.noncurrentVersionExpirationDays), expiredObjectDeleteMarker: true },
  ];
  if (storage.transitions.length > 0) {
    rules.push({
      id: 'transitions',
      transitions: storage.transitions.map((transition) => ({ storageClass: new StorageClass(transition.storageClass), transitionAfter: Duration.days(transition.afterDays) })),
    });
  }
  return rules;
}

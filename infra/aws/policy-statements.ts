import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { BackupBucket } from './backup-bucket.js';
import type { CatalogTable } from './catalog-table.js';

/**
 * Least-privilege statements shared by the runner's and the functions' roles. Every action is
 * named (no `service:*`, no `Get*`), every resource is one ARN or a pattern under the backup
 * prefix; the cdk-nag acknowledgements next to their use say why each pattern is needed.
 */

/**
 * The item actions the DynamoDB catalog issues (transactions are authorized per item action).
 * Every writer needs them all: an update is a conditional PutItem, releasing a lock a DeleteItem.
 */
export const CATALOG_ITEM_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:ConditionCheckItem'];

/** `actions` on the catalog table and each of its indexes, named one by one. */
export function catalogStatement(catalog: CatalogTable, actions: readonly string[] = CATALOG_ITEM_ACTIONS): PolicyStatement {
  return new PolicyStatement({ effect: Effect.ALLOW, actions: [...actions], resources: [catalog.table.tableArn, ...catalog.indexArns] });
}

/** `actions` on the objects under the backup prefix only. */
export function prefixObjectsStatement(bucket: BackupBucket, actions: readonly string[]): PolicyStatement {
  return new PolicyStatement({ effect: Effect.ALLOW, actions: [...actions], resources: [bucket.prefixObjectsArn] });
}

/** Bucket-level listing (`s3:ListBucket`, `…Versions`, `…MultipartUploads`), allowed only for keys under the prefix. */
export function prefixListStatement(bucket: BackupBucket, actions: readonly string[] = ['s3:ListBucket']): PolicyStatement {
  return new PolicyStatement({
    effect: Effect.ALLOW,
    actions: [...actions],
    resources: [bucket.bucket.bucketArn],
    conditions: { StringLike: { 's3:prefix': [`${bucket.prefix}/*`] } },
  });
}

/** Using the environment's key: SSE-KMS objects, the encrypted table, topic and queues, the age `vaultra-kms` stanza. */
export function keyStatement(key: IKey, actions: readonly string[]): PolicyStatement {
  return new PolicyStatement({ effect: Effect.ALLOW, actions: [...actions], resources: [key.keyArn] });
}

/** Publishing alerts (the topic is KMS-encrypted: pair with `kms:GenerateDataKey` and `kms:Decrypt`). */
export function publishStatement(topic: ITopic): PolicyStatement {
  return new PolicyStatement({ effect: Effect.ALLOW, actions: ['sns:Publish'], resources: [topic.topicArn] });
}

/** Reading exactly these secrets, or nothing when there are none. */
export function secretsStatement(secretArns: readonly string[]): PolicyStatement[] {
  if (secretArns.length === 0) return [];
  return [new PolicyStatement({ effect: Effect.ALLOW, actions: ['secretsmanager:GetSecretValue'], resources: [...secretArns] })];
}

import { Duration } from 'aws-cdk-lib';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/**
 * A dead-letter queue for events a schedule or rule could not deliver to its function:
 * KMS-encrypted with the environment's key, TLS only, kept 14 days (SQS's maximum) so an
 * operator can see which triggers were lost. Its depth has an alarm (monitoring.ts).
 */
export function deadLetterQueue(scope: Construct, id: string, key: IKey): Queue {
  const queue = new Queue(scope, id, {
    encryption: QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acknowledge(
    queue,
    'AwsSolutions-SQS3',
    'This queue is itself a dead-letter queue: EventBridge Scheduler or an EventBridge rule sends it the events it could not deliver (set on the target, which cdk-nag does not see). A DLQ behind it would only move the question.',
  );
  return queue;
}

import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { alarmArnPattern } from './alarm-names.js';

export interface EncryptionKeyProps {
  /** The Vaultra environment's name: the key's alias is `alias/vaultra/<name>`. */
  readonly environmentName: string;
}

/**
 * The environment's KMS key: it encrypts the backup bucket (SSE-KMS), the catalog table, the
 * alert topic, the dead-letter queues and the log groups, and it is the key of the age
 * `vaultra-kms` stanza that wraps each backup's file key.
 *
 * The key policy keeps AWS's default statement for the account (so IAM policies decide who uses
 * the key) and adds the service principals that act without an IAM role of ours, each limited
 * to this account's resources of its kind.
 */
export class EncryptionKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.key = new Key(this, 'Key', {
      alias: `alias/vaultra/${props.environmentName}`,
      description: `Vaultra ${props.environmentName}: backups, catalog, alerts, logs and the age vaultra-kms stanza`,
      enableKeyRotation: true,
      // Losing this key loses every backup wrapped with it: it outlives the stack.
      removalPolicy: RemovalPolicy.RETAIN,
      pendingWindow: Duration.days(30),
    });

    // CloudWatch Logs encrypts the runner's, the functions' and the flow logs' log groups itself.
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchLogsEncryptsThisAccountsLogGroups',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
        actions: ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncryptFrom', 'kms:ReEncryptTo', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) } },
      }),
    );
    // Alarms publish to the KMS-encrypted alert topic as the CloudWatch service, which makes the
    // topic's data key itself: the same alarms the topic policy lets publish (alert-topic.ts).
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheAlertTopic',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': alarmArnPattern(this, props.environmentName) },
        },
      }),
    );
  }

  /**
   * Lets EventBridge deliver failed events of one rule to a KMS-encrypted dead-letter queue
   * (EventBridge writes to the DLQ as itself, not through a role).
   */
  allowEventBridgeDeadLetters(ruleArn: string): void {
    this.key.addToResourcePolicy(
      new PolicyStatement({
        sid: 'EventBridgeWritesDeadLettersOfItsRule',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:SourceArn': ruleArn } },
      }),
    );
  }
}

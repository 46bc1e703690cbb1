import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { alarmArnPattern } from './alarm-names.js';

export interface AlertTopicProps {
  readonly key: IKey;
  readonly environmentName: string;
  /** `notifications.email`: each address gets a subscription (AWS mails it a confirmation link first). */
  readonly emails: readonly string[];
}

/**
 * The SNS topic alerts and alarms go to: KMS-encrypted, TLS-only publishers, one email
 * subscription per address.
 *
 * `enforceSSL` makes CDK write a topic policy, and a topic policy replaces the default one SNS
 * gives a topic. The functions still publish (their roles allow it, and nothing here denies them
 * over TLS), but CloudWatch publishes as a service principal, which only a topic policy can let
 * in: without the statement below every alarm changes state silently ("… is not authorized to
 * perform: SNS:Publish", AWS Knowledge Center). It also needs the key, which the key policy
 * grants for the same alarms (encryption-key.ts).
 */
export class AlertTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: `Vaultra ${props.environmentName} alerts`,
      masterKey: props.key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CloudWatchAlarmsOfThisEnvironmentPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        // Only alarms of this account and environment (confused-deputy guard).
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnLike: { 'aws:SourceArn': alarmArnPattern(this, props.environmentName) },
        },
      }),
    );
    for (const email of props.emails) this.topic.addSubscription(new EmailSubscription(email));
  }
}

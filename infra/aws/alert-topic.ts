import type { IKey } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface AlertTopicProps {
  readonly key: IKey;
  readonly environmentName: string;
  /** `notifications.email`: each address gets a subscription (AWS mails it a confirmation link first). */
  readonly emails: readonly string[];
}

/** The SNS topic alerts and alarms go to: KMS-encrypted, TLS-only publishers, one email subscription per address. */
export class AlertTopic extends Construct {
  readonly topic: Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', {
      displayName: `Vaultra ${props.environmentName} alerts`,
      masterKey: props.key,
      enforceSSL: true,
    });
    for (const email of props.emails) this.topic.addSubscription(new EmailSubscription(email));
  }
}

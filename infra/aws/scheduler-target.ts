import { Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { CfnSchedule } from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';

export interface SchedulerTargetRoleProps {
  /** The one function the schedules may invoke. */
  readonly target: IFunction;
  /** Where undeliverable invocations go. */
  readonly deadLetterQueue: IQueue;
  /** The dead-letter queue's key. */
  readonly key: IKey;
}

/**
 * The role EventBridge Scheduler assumes to invoke one function: `lambda:InvokeFunction` on that
 * function's ARN (not its versions or aliases), sending to its dead-letter queue, nothing else.
 * Only schedules of this account may assume it.
 */
export class SchedulerTargetRole extends Construct {
  readonly role: Role;

  constructor(scope: Construct, id: string, props: SchedulerTargetRoleProps) {
    super(scope, id);
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } } }),
      description: `EventBridge Scheduler: invoke ${props.target.node.path} only`,
    });
    this.role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: [props.target.functionArn] }));
    this.role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['sqs:SendMessage'], resources: [props.deadLetterQueue.queueArn] }));
    // Sending to a KMS-encrypted queue: the sender generates and decrypts the data key.
    this.role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.key.keyArn] }));
  }
}

export interface LambdaScheduleTargetProps {
  readonly target: IFunction;
  readonly role: SchedulerTargetRole;
  readonly deadLetterQueue: IQueue;
  /** The event the function receives, as JSON text (context attributes such as `<aws.scheduler.scheduled-time>` are filled in). */
  readonly input: string;
}

/**
 * A schedule's Lambda target: a failed delivery (throttling, the function briefly unavailable) is
 * retried 3 times within an hour, then lands in the dead-letter queue. A later delivery would be
 * a backup at the wrong time; the run id derives from the scheduled time, so a retry never
 * starts a second one.
 */
export function lambdaScheduleTarget(props: LambdaScheduleTargetProps): CfnSchedule.TargetProperty {
  return {
    arn: props.target.functionArn,
    roleArn: props.role.role.roleArn,
    input: props.input,
    retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
    deadLetterConfig: { arn: props.deadLetterQueue.queueArn },
  };
}

import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { Match, Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue } from './dead-letter-queue.js';
import type { EncryptionKey } from './encryption-key.js';
import type { RunnerTask } from './runner-task.js';

export interface TaskStoppedRuleProps {
  readonly environmentName: string;
  readonly runner: RunnerTask;
  /** The task-finished function. */
  readonly target: IFunction;
  readonly key: EncryptionKey;
}

/**
 * Sends "ECS Task State Change" events of stopped runner tasks (this cluster, this task family,
 * any revision) to the task-finished function. A lost event leaves a finished backup unrecorded
 * until the watchdog fails it as stuck, so delivery is retried as long as EventBridge allows
 * (185 attempts over 24 hours) before the event lands in the dead-letter queue.
 */
export class TaskStoppedRule extends Construct {
  readonly rule: Rule;
  readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: TaskStoppedRuleProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const { runner } = props;
    // Named, so the key policy can name the rule's ARN without a reference cycle (key → rule → queue → key).
    const ruleName = `vaultra-${props.environmentName}-runner-task-stopped`;
    const familyArnPrefix = stack.formatArn({ service: 'ecs', resource: 'task-definition', resourceName: `${runner.taskDefinition.family}:`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });

    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', props.key.key);
    this.rule = new Rule(this, 'Rule', {
      ruleName,
      description: `Vaultra ${props.environmentName}: a runner task stopped`,
      eventPattern: {
        source: ['aws.ecs'],
        detailType: ['ECS Task State Change'],
        detail: {
          lastStatus: ['STOPPED'],
          clusterArn: [runner.cluster.clusterArn],
          taskDefinitionArn: Match.prefix(familyArnPrefix),
        },
      },
    });
    this.rule.addTarget(new LambdaFunction(props.target, { deadLetterQueue: this.deadLetterQueue, retryAttempts: 185, maxEventAge: Duration.hours(24) }));
    props.key.allowEventBridgeDeadLetters(stack.formatArn({ service: 'events', resource: 'rule', resourceName: ruleName }));
  }
}

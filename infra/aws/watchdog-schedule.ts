import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnSchedule, type CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { lambdaScheduleTarget, SchedulerTargetRole } from './scheduler-target.js';
import { AWS_WATCHDOG_SCHEDULE_NAME } from '../../core/config/deployed-schedule-forms.js';

export interface WatchdogScheduleProps {
  readonly watchdog: IFunction;
  readonly group: CfnScheduleGroup;
  readonly deadLetterQueue: IQueue;
  readonly key: IKey;
}

/** The event the watchdog receives every hour. */
export const WATCHDOG_INPUT = JSON.stringify({ scheduledTime: '<aws.scheduler.scheduled-time>' });

/**
 * Runs the watchdog every hour, in the environment's schedule group, with its own invoke role.
 * Hourly is what the RPO alarms' two-hour window assumes (monitoring.ts).
 */
export class WatchdogSchedule extends Construct {
  readonly schedule: CfnSchedule;

  constructor(scope: Construct, id: string, props: WatchdogScheduleProps) {
    super(scope, id);
    const role = new SchedulerTargetRole(this, 'InvokeRole', { target: props.watchdog, deadLetterQueue: props.deadLetterQueue, key: props.key });
    this.schedule = new CfnSchedule(this, 'Schedule', {
      // Job names are lowercase: a capital letter keeps this name clear of every job's schedule in the group.
      // `vaultra schedule` knows it by this constant, and does not take it for drift.
      name: AWS_WATCHDOG_SCHEDULE_NAME,
      groupName: props.group.name,
      description: 'Vaultra watchdog: RPO and stuck-run check',
      scheduleExpression: 'rate(1 hour)',
      flexibleTimeWindow: { mode: 'OFF' },
      target: lambdaScheduleTarget({ target: props.watchdog, role, deadLetterQueue: props.deadLetterQueue, input: WATCHDOG_INPUT }),
      state: 'ENABLED',
    });
    this.schedule.addResourceDependency(props.group, 'a schedule needs its group');
  }
}

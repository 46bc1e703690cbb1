import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnSchedule, CfnScheduleGroup } from 'aws-cdk-lib/aws-scheduler';
import type { Queue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { eventBridgeCron } from '../../core/config/schedule.js';
import { describeLogSchedule, logScheduleRate } from '../../core/config/log-schedule.js';
import { drillScheduleName, logScheduleName } from '../../core/config/deployed-schedule-forms.js';
import type { AwsEnvironment } from './deployment-config.js';
import { deadLetterQueue } from './dead-letter-queue.js';
import { lambdaScheduleTarget, SchedulerTargetRole } from './scheduler-target.js';
import { runsInline } from '../../core/config/inline-runtime.js';
import type { ScheduledJob } from '../../core/config/environments.js';

export interface JobSchedulesProps {
  readonly environment: AwsEnvironment;
  /** The scheduled-backup function every job schedule invokes. */
  readonly target: IFunction;
  /** The inline backup function, which `runtime: inline` jobs' backup schedules invoke instead. @default none: the environment has no inline job */
  readonly inlineTarget?: IFunction;
  readonly key: IKey;
}

/** The event a job's schedule sends: the job, and the scheduled time the run id is derived from. */
export function scheduledBackupInput(jobName: string): string {
  return JSON.stringify({ job: jobName, scheduledTime: '<aws.scheduler.scheduled-time>', executionId: '<aws.scheduler.execution-id>' });
}

/** The event a job's log catch-up schedule sends: the same as its backup's, with `"kind": "log"`. */
export function logPushInput(jobName: string): string {
  return JSON.stringify({ job: jobName, kind: 'log', scheduledTime: '<aws.scheduler.scheduled-time>', executionId: '<aws.scheduler.execution-id>' });
}

/** The event a job's drill schedule sends: the same as its backup's, with `"kind": "drill"`. */
export function drillInput(jobName: string): string {
  return JSON.stringify({ job: jobName, kind: 'drill', scheduledTime: '<aws.scheduler.scheduled-time>', executionId: '<aws.scheduler.execution-id>' });
}

// The one definition `vaultra schedule` compares deployed schedules by, too.
export { logScheduleName, drillScheduleName };

/**
 * One EventBridge Scheduler schedule per enabled job, in the environment's schedule group
 * `vaultra-<env>`: the job's cron in its time zone, its flexible window, the scheduled-backup
 * function as target. Disabled jobs get no schedule (they can still run on demand). A job with
 * `logs` gets a second schedule, `rate(<every>)` without a flexible window (a catch-up's point is
 * to be on time), whose event makes the same function start a log push. A job with
 * `drill.schedule` gets a third, `Drill-<job>`, on the drill's cron: the function starts the
 * job's drill task (drill-tasks.ts). A `runtime: inline` job's backup schedule invokes the inline
 * backup function instead (inline-functions.ts); its log and drill schedules stay as they are.
 */
export class JobSchedules extends Construct {
  readonly group: CfnScheduleGroup;
  readonly deadLetterQueue: Queue;
  readonly schedules: ReadonlyMap<string, CfnSchedule>;
  /** The log catch-up schedules, by job name. */
  readonly logSchedules: ReadonlyMap<string, CfnSchedule>;
  /** The drill schedules, by job name. */
  readonly drillSchedules: ReadonlyMap<string, CfnSchedule>;

  constructor(scope: Construct, id: string, props: JobSchedulesProps) {
    super(scope, id);
    const { environment } = props;
    this.group = new CfnScheduleGroup(this, 'Group', { name: `vaultra-${environment.name}` });
    this.deadLetterQueue = deadLetterQueue(this, 'DeadLetterQueue', props.key);
    const role = new SchedulerTargetRole(this, 'InvokeRole', { target: props.target, deadLetterQueue: this.deadLetterQueue, key: props.key });
    // A role of its own per target: each may invoke one function only.
    const inline = props.inlineTarget ? { target: props.inlineTarget, role: new SchedulerTargetRole(this, 'InlineInvokeRole', { target: props.inlineTarget, deadLetterQueue: this.deadLetterQueue, key: props.key }) } : undefined;
    const backupTarget = (job: ScheduledJob) => (inline && runsInline(job) ? inline : { target: props.target, role });

    const schedules = new Map<string, CfnSchedule>();
    for (const job of environment.jobs.filter((candidate) => candidate.enabled)) {
      const { cron, timeZone, flexibleWindowMinutes } = job.schedule;
      const schedule = new CfnSchedule(this, `Job-${job.name}`, {
        name: job.name,
        groupName: this.group.name,
        description: `Vaultra ${environment.name}: back up ${job.name} (${cron}, ${timeZone})`,
        scheduleExpression: eventBridgeCron(cron, timeZone),
        scheduleExpressionTimezone: timeZone,
        flexibleTimeWindow: flexibleWindowMinutes === 0 ? { mode: 'OFF' } : { mode: 'FLEXIBLE', maximumWindowInMinutes: flexibleWindowMinutes },
        target: lambdaScheduleTarget({ ...backupTarget(job), deadLetterQueue: this.deadLetterQueue, input: scheduledBackupInput(job.name) }),
        state: 'ENABLED',
      });
      schedule.addResourceDependency(this.group, 'a schedule needs its group');
      schedules.set(job.name, schedule);
    }
    this.schedules = schedules;

    const logSchedules = new Map<string, CfnSchedule>();
    for (const job of environment.jobs.filter((candidate) => candidate.enabled && candidate.logs)) {
      const logs = job.logs!;
      const schedule = new CfnSchedule(this, `Logs-${job.name}`, {
        name: logScheduleName(job.name),
        groupName: this.group.name,
        description: `Vaultra ${environment.name}: archive ${job.name}'s change log (${describeLogSchedule(logs)})`,
        scheduleExpression: logScheduleRate(logs.everyMs),
        flexibleTimeWindow: { mode: 'OFF' },
        target: lambdaScheduleTarget({ target: props.target, role, deadLetterQueue: this.deadLetterQueue, input: logPushInput(job.name) }),
        state: 'ENABLED',
      });
      schedule.addResourceDependency(this.group, 'a schedule needs its group');
      logSchedules.set(job.name, schedule);
    }
    this.logSchedules = logSchedules;

    const drillSchedules = new Map<string, CfnSchedule>();
    for (const job of environment.jobs.filter((candidate) => candidate.enabled && candidate.drill?.schedule)) {
      const { cron, timeZone } = job.drill!.schedule!;
      const schedule = new CfnSchedule(this, `Drill-${job.name}`, {
        name: drillScheduleName(job.name),
        groupName: this.group.name,
        description: `Vaultra ${environment.name}: drill a restore of ${job.name} (${cron}, ${timeZone})`,
        scheduleExpression: eventBridgeCron(cron, timeZone),
        scheduleExpressionTimezone: timeZone,
        flexibleTimeWindow: { mode: 'OFF' },
        target: lambdaScheduleTarget({ target: props.target, role, deadLetterQueue: this.deadLetterQueue, input: drillInput(job.name) }),
        state: 'ENABLED',
      });
      schedule.addResourceDependency(this.group, 'a schedule needs its group');
      drillSchedules.set(job.name, schedule);
    }
    this.drillSchedules = drillSchedules;
  }
}

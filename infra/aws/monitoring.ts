import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Dashboard, GraphWidget, TextWidget, TreatMissingData, type HorizontalAnnotation, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ScheduledJob } from '../../core/config/load-config.js';
import { METRIC } from '../../core/platform/aws-deployment.js';
import { alarmName } from './alarm-names.js';
import { jobMetric, RPO_ALARM_PERIOD } from './job-metrics.js';

export interface MonitoringProps {
  readonly environmentName: string;
  /** The enabled jobs: disabled ones have no schedule, so no runs and no RPO to watch. */
  readonly jobs: readonly ScheduledJob[];
  readonly topic: ITopic;
  /** The functions whose errors alarm, by name. */
  readonly functions: Readonly<Record<string, IFunction>>;
  /** The dead-letter queues whose depth alarms, by name. */
  readonly deadLetterQueues: Readonly<Record<string, IQueue>>;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * The environment's dashboard (a row per job: runs, duration, bytes, time since the last success
 * against the RPO) and its alarms, all sent to the alert topic (and again when they clear):
 * - a failed run, per job;
 * - an RPO breach, per job — missing data breaches too: a watchdog that stops reporting is
 *   itself a failure, and a job that never succeeded has no age to report;
 * - for a job with `logs`, its archived log lagging past the log RPO (LogArchiveLagSeconds, missing
 *   data breaching like the RPO alarm);
 * - a message in a dead-letter queue (a schedule or task event that never reached its function);
 * - a function error.
 */
export class Monitoring extends Construct {
  readonly dashboard: Dashboard;
  readonly alarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const env = props.environmentName;
    const action = new SnsAction(props.topic);
    const alarm = (alarmId: string, options: ConstructorParameters<typeof Alarm>[2]): Alarm => {
      const created = new Alarm(this, alarmId, options);
      created.addAlarmAction(action);
      created.addOkAction(action);
      this.alarms.push(created);
      return created;
    };

    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: `vaultra-${env}`, defaultInterval: Duration.days(7) });
    this.dashboard.addWidgets(new TextWidget({ markdown: `# Vaultra ${env}\nBackups per job. Alarms go to the alert topic.`, width: 24, height: 2 }));

    for (const job of props.jobs) {
      const metric = (name: (typeof METRIC)[keyof typeof METRIC], statistic: 'Sum' | 'Maximum' | 'Average', period: Duration, label?: string) =>
        jobMetric(env, job.name, name, { statistic, period, ...(label ? { label } : {}) });
      const rpoSeconds = Math.round(job.rpoMs / 1000);

      alarm(`RunFailed-${job.name}`, {
        alarmName: alarmName(env, `${job.name}-run-failed`),
        alarmDescription: `A ${job.name} backup run failed (environment ${env}).`,
        metric: metric(METRIC.runFailed, 'Sum', FIVE_MINUTES),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      alarm(`Rpo-${job.name}`, {
        alarmName: alarmName(env, `${job.name}-rpo-breached`),
        alarmDescription: `${job.name} has no successful backup within its RPO of ${rpoSeconds} s, or the watchdog stopped reporting (environment ${env}).`,
        metric: metric(METRIC.secondsSinceLastSuccess, 'Maximum', RPO_ALARM_PERIOD),
        threshold: rpoSeconds,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.BREACHING,
      });

      if (job.logs) {
        const logRpoSeconds = Math.round(job.logs.rpoMs / 1000);
        alarm(`LogLag-${job.name}`, {
          alarmName: alarmName(env, `${job.name}-log-lagging`),
          alarmDescription: `${job.name}'s archived change log is more than its log RPO of ${logRpoSeconds} s behind the server, or the watchdog stopped reporting (environment ${env}).`,
          metric: metric(METRIC.logArchiveLagSeconds, 'Maximum', RPO_ALARM_PERIOD),
          threshold: logRpoSeconds,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.BREACHING,
        });
      }

      const hour = Duration.hours(1);
      const rpoLine: HorizontalAnnotation = { value: rpoSeconds, label: 'RPO' };
      this.dashboard.addWidgets(
        new GraphWidget({ title: `${job.name}: runs`, left: [metric(METRIC.runSucceeded, 'Sum', hour, 'succeeded'), metric(METRIC.runFailed, 'Sum', hour, 'failed')], width: 6 }),
        new GraphWidget({ title: `${job.name}: duration (s)`, left: [metric(METRIC.durationSeconds, 'Maximum', hour, 'duration')], width: 6 }),
        new GraphWidget({ title: `${job.name}: bytes`, left: [metric(METRIC.bytesRaw, 'Maximum', hour, 'raw'), metric(METRIC.bytesStored, 'Maximum', hour, 'stored')], width: 6 }),
        new GraphWidget({ title: `${job.name}: seconds since last success`, left: [metric(METRIC.secondsSinceLastSuccess, 'Maximum', hour, 'age')], leftAnnotations: [rpoLine], width: 6 }),
      );
      if (job.logs) {
        this.dashboard.addWidgets(
          new GraphWidget({ title: `${job.name}: log pushes`, left: [metric(METRIC.logPushSucceeded, 'Sum', hour, 'succeeded'), metric(METRIC.logPushFailed, 'Sum', hour, 'failed')], width: 12 }),
          new GraphWidget({ title: `${job.name}: seconds of log archived behind the server`, left: [metric(METRIC.logArchiveLagSeconds, 'Maximum', hour, 'lag')], leftAnnotations: [{ value: Math.round(job.logs.rpoMs / 1000), label: 'log RPO' }], width: 12 }),
        );
      }
    }

    const queueDepths: IMetric[] = [];
    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      // A label would turn the alarm's metric into a metric-math query: labels only on the dashboard.
      const depth = queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: FIVE_MINUTES });
      queueDepths.push(depth.with({ label: name }));
      alarm(`DeadLetters-${name}`, {
        alarmName: alarmName(env, `${name}-dead-letters`),
        alarmDescription: `Events that never reached their function wait in the ${name} dead-letter queue (environment ${env}).`,
        metric: depth,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    const functionErrors: IMetric[] = [];
    for (const [name, fn] of Object.entries(props.functions)) {
      const errors = fn.metricErrors({ statistic: 'Sum', period: FIVE_MINUTES });
      functionErrors.push(errors.with({ label: name }));
      alarm(`Errors-${name}`, {
        alarmName: alarmName(env, `${name}-errors`),
        alarmDescription: `The ${name} function failed (environment ${env}).`,
        metric: errors,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    this.dashboard.addWidgets(
      new GraphWidget({ title: 'Function errors', left: functionErrors, width: 12 }),
      new GraphWidget({ title: 'Dead-letter queue depth', left: queueDepths, width: 12 }),
    );
  }
}

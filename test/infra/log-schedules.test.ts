/**
 * A job with `logs` in the stack: a second EventBridge Scheduler schedule, `rate(<every>)`, sending
 * the scheduled-backup function a log-push event; a lag alarm on LogArchiveLagSeconds; a push size
 * Fargate refuses is refused at synth.
 */
process.env.CDK_VALIDATION = 'false';

import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { ConfigError } from '../../core/errors.js';
import { synthStack, testConfig, testSource } from './support/synth.js';
import { onlyResource, resourcesWhere } from './support/template-queries.js';

interface ScheduleProperties {
  Name: string;
  GroupName: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  FlexibleTimeWindow: { Mode: string };
  State: string;
  Target: { Arn: unknown; Input: string; RoleArn: unknown; RetryPolicy: unknown; DeadLetterConfig: { Arn: unknown } };
}

describe('log catch-up schedules on AWS', () => {
  let template: Template;
  const schedule = (name: string) => onlyResource<ScheduleProperties>(template, 'AWS::Scheduler::Schedule', (properties) => properties.Name === name).Properties;

  beforeAll(() => {
    ({ template } = synthStack(
      testConfig({}, {
        shop: { source: testSource('shop'), schedule: { cron: '0 3 * * *', timeZone: 'Europe/Paris', flexibleWindowMinutes: 15 }, logs: { every: '5m' } },
        ledger: { source: testSource('ledger'), schedule: { cron: '0 1 * * *' }, logs: { every: '1h', rpo: '3h' } },
        plain: { source: testSource('plain'), schedule: { cron: '0 2 * * *' } },
        paused: { source: testSource('paused'), schedule: { cron: '0 4 * * *' }, logs: { every: '5m' }, enabled: false },
      }),
      'test',
    ));
  });

  it('gives each enabled job with logs a rate schedule in the environment group, beside its backup schedule', () => {
    const names = resourcesWhere<{ Name: string }>(template, 'AWS::Scheduler::Schedule').map((found) => found.Properties.Name);
    expect(names.sort()).toEqual(['Logs-ledger', 'Logs-shop', 'Vaultra-Watchdog', 'ledger', 'plain', 'shop']);
    expect(schedule('Logs-shop')).toMatchObject({ GroupName: 'vaultra-test', ScheduleExpression: 'rate(5 minutes)', FlexibleTimeWindow: { Mode: 'OFF' }, State: 'ENABLED' });
    expect(schedule('Logs-ledger').ScheduleExpression).toBe('rate(1 hour)');
    // A rate has no time zone; the backup schedule keeps its own.
    expect(schedule('Logs-shop').ScheduleExpressionTimezone).toBeUndefined();
    expect(schedule('shop').ScheduleExpressionTimezone).toBe('Europe/Paris');
  });

  it('sends the same function the job with "kind": "log" and the scheduler context, with the backup schedules\' role, retries and dead-letter queue', () => {
    const push = schedule('Logs-shop').Target;
    const backup = schedule('shop').Target;
    expect(JSON.parse(push.Input)).toEqual({ job: 'shop', kind: 'log', scheduledTime: '<aws.scheduler.scheduled-time>', executionId: '<aws.scheduler.execution-id>' });
    expect(push.Arn).toEqual(backup.Arn);
    expect(push.RoleArn).toEqual(backup.RoleArn);
    expect(push.DeadLetterConfig).toEqual(backup.DeadLetterConfig);
    expect(push.RetryPolicy).toEqual({ MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 });
  });

  it('alarms when the archived log lags past the log RPO, missing data breaching', () => {
    const alarm = (name: string) => onlyResource<Record<string, unknown>>(template, 'AWS::CloudWatch::Alarm', (properties) => properties.AlarmName === name).Properties;
    expect(alarm('vaultra-test-shop-log-lagging')).toMatchObject({
      MetricName: 'LogArchiveLagSeconds',
      Namespace: 'Vaultra',
      Statistic: 'Maximum',
      Threshold: 900,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      Dimensions: expect.arrayContaining([{ Name: 'job', Value: 'shop' }, { Name: 'environment', Value: 'test' }, { Name: 'service', Value: 'vaultra' }]),
    });
    expect(alarm('vaultra-test-ledger-log-lagging').Threshold).toBe(3 * 3600);
    const names = resourcesWhere<{ AlarmName: string }>(template, 'AWS::CloudWatch::Alarm').map((found) => found.Properties.AlarmName);
    expect(names.filter((name) => name.endsWith('-log-lagging')).sort()).toEqual(['vaultra-test-ledger-log-lagging', 'vaultra-test-shop-log-lagging']);
  });
});

describe('log push sizes at synth', () => {
  it('refuses a push size Fargate would refuse when the push starts, naming the field', () => {
    const config = testConfig({}, { shop: { source: testSource('shop'), schedule: { cron: '0 3 * * *' }, logs: { every: '5m', runtime: { cpu: 256, memoryMiB: 4096 } } } });
    expect(() => synthStack(config, 'test')).toThrow(ConfigError);
    expect(() => synthStack(config, 'test')).toThrow(/environments\.test\.jobs\.shop\.logs\.runtime: Fargate runs 256 CPU units with 512 to 2048 MiB/);
  });
});

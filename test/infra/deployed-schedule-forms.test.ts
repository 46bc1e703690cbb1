/**
 * `vaultra schedule` compares what EventBridge Scheduler holds with `deployedFormOf`: the
 * schedules the synthesized stack declares must be exactly those (names, expressions, time
 * zones, states), plus the watchdog it knows by name — so the check and the stack cannot drift
 * apart unnoticed.
 */
process.env.CDK_VALIDATION = 'false';

import { describe, expect, it } from 'vitest';
import { deployedFormOf, MAINTENANCE_SCHEDULE_NAMES } from '../../core/config/deployed-schedule-forms.js';
import { environmentOf, parseConfig } from '../../core/config/load-config.js';
import { compareDeployedSchedules } from '../../core/usecases/deployed-schedule-check.js';
import type { DeployedSchedule } from '../../core/domain/deployed-schedule.js';
import { synthStack, testConfig, testSource } from './support/synth.js';
import { resourcesWhere } from './support/template-queries.js';

interface ScheduleProperties {
  Name: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  State: string;
}

describe('the stack declares the schedules vaultra schedule expects', () => {
  it('job, log catch-up and disabled-job schedules as deployedFormOf gives them; the watchdog is known, not drift', () => {
    const config = testConfig({}, {
      shop: { source: testSource('shop'), schedule: { cron: '15 2 * * *', timeZone: 'Europe/Paris', flexibleWindowMinutes: 15 }, logs: { every: '5m' } },
      weekdays: { source: testSource('weekdays'), schedule: { cron: '30 1 * * 1-5', timeZone: 'America/New_York' } },
      paused: { source: testSource('paused'), schedule: { cron: '0 4 * * *' }, enabled: false },
    });
    const { template } = synthStack(config, 'test');

    // As the stack leaves them, and as GetSchedule reads them back (no time zone: UTC).
    const deployed: DeployedSchedule[] = resourcesWhere<ScheduleProperties>(template, 'AWS::Scheduler::Schedule').map(({ Properties: p }) => ({
      name: p.Name,
      expression: p.ScheduleExpression,
      timeZone: p.ScheduleExpressionTimezone ?? 'UTC',
      enabled: p.State === 'ENABLED',
    }));
    const environment = environmentOf(parseConfig(config), 'test');
    const byName = (a: DeployedSchedule, b: DeployedSchedule) => a.name.localeCompare(b.name);

    expect(deployed.filter((schedule) => !MAINTENANCE_SCHEDULE_NAMES.aws.includes(schedule.name)).sort(byName)).toEqual(deployedFormOf(environment).sort(byName));
    const check = compareDeployedSchedules(environment, deployed);
    expect(Object.fromEntries(check.byJob)).toEqual({ shop: { state: 'matches' }, weekdays: { state: 'matches' }, paused: { state: 'matches' } });
    expect(check.unexpected).toEqual([]);
  });
});

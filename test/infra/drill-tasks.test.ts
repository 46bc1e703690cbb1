/**
 * Issue 20, scheduled drills on AWS: a job with `drill.schedule` gets a `Drill-<job>` schedule
 * sending the scheduled function `"kind": "drill"`, and a Fargate task definition of its own —
 * the runner and, with `drill.server`, the official PostgreSQL image as a sidecar the runner
 * waits for (HEALTHY) — running as a drill role that may decrypt backups while the backup role
 * still cannot.
 */
process.env.CDK_VALIDATION = 'false';

import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { AWS_FUNCTION_ENV, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { DRILL_SERVER_CONTAINER_NAME } from '../../core/config/drill-sidecar.js';
import { ConfigError } from '../../core/errors.js';
import { synthStack, testConfig, testSource } from './support/synth.js';
import { asList, flat, granting, onlyResource, resourcesWhere, statementsOfRole, type Statement } from './support/template-queries.js';

interface ContainerProperties {
  Name: string;
  Image: unknown;
  Essential?: boolean;
  Command?: string[];
  Environment?: { Name: string; Value: string }[];
  DependsOn?: { ContainerName: string; Condition: string }[];
  HealthCheck?: { Command: string[] };
  ReadonlyRootFilesystem?: boolean;
}
interface TaskProperties {
  Family: string;
  Cpu: string;
  Memory: string;
  TaskRoleArn: unknown;
  ContainerDefinitions: ContainerProperties[];
}

const CHECK = { name: 'orders exist', query: 'select count(*) > 0 from orders', expect: 't' };

describe('scheduled drills on AWS', () => {
  let template: Template;
  let stack: IConstruct;
  const task = (family: string) => onlyResource<TaskProperties>(template, 'AWS::ECS::TaskDefinition', (properties) => properties.Family === family).Properties;
  const schedule = (name: string) => onlyResource<{ Name: string; ScheduleExpression: string; ScheduleExpressionTimezone: string; Target: { Arn: unknown; Input: string } }>(template, 'AWS::Scheduler::Schedule', (properties) => properties.Name === name).Properties;
  const roleArn = (prefix: string) => `<${[...resourcesWhere(template, 'AWS::IAM::Role')].map((role) => role.id).find((id) => id.startsWith(prefix))}.Arn>`;
  const environmentKey = () => `<${onlyResource<Record<string, unknown>>(template, 'AWS::KMS::Key', (properties) => properties.KeyUsage === undefined).id}.Arn>`;
  const decryptsDirectly = (statements: readonly Statement[]) => granting(statements, 'kms:Decrypt').some((statement) => statement.Condition === undefined && asList(statement.Resource).map(flat).includes(environmentKey()));

  beforeAll(() => {
    ({ template, stack } = synthStack(
      testConfig({}, {
        shop: { source: testSource('shop'), schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '0 5 * * 0', timeZone: 'Europe/Paris' }, server: 'postgres:17', cpu: 2048, memoryMiB: 4096, rto: '30m', checks: [CHECK] } },
        notes: { source: testSource('notes'), schedule: { cron: '0 2 * * *' }, drill: { schedule: { cron: '30 5 * * 0' } } },
        plain: { source: testSource('plain'), schedule: { cron: '0 1 * * *' }, drill: { rto: '1h' } },
        paused: { source: testSource('paused'), schedule: { cron: '0 4 * * *' }, enabled: false, drill: { schedule: { cron: '0 6 * * 0' } } },
        ledger: { source: testSource('ledger'), schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '0 7 * * 0' }, server: 'mariadb:11.4' } },
        events: { source: testSource('events'), schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '0 8 * * 0' }, server: 'mongo:7.0' } },
      }),
      'test',
    ));
  });

  it('gives each enabled job with drill.schedule a Drill-<job> schedule on its cron, sending the scheduled function "kind": "drill"', () => {
    const names = resourcesWhere<{ Name: string }>(template, 'AWS::Scheduler::Schedule').map((found) => found.Properties.Name);
    expect(names.sort()).toEqual(['Drill-events', 'Drill-ledger', 'Drill-notes', 'Drill-shop', 'Vaultra-Watchdog', 'events', 'ledger', 'notes', 'plain', 'shop']);
    expect(schedule('Drill-shop')).toMatchObject({ ScheduleExpression: 'cron(0 5 ? * SUN *)', ScheduleExpressionTimezone: 'Europe/Paris' });
    expect(JSON.parse(schedule('Drill-shop').Target.Input)).toEqual({ job: 'shop', kind: 'drill', scheduledTime: '<aws.scheduler.scheduled-time>', executionId: '<aws.scheduler.execution-id>' });
    expect(schedule('Drill-shop').Target.Arn).toEqual(schedule('shop').Target.Arn);
  });

  it('runs a drill as a task of its own: the runner, and the official server image as a sidecar it waits for until HEALTHY', () => {
    const shop = task('vaultra-test-drill-shop');
    expect(shop).toMatchObject({ Cpu: '2048', Memory: '4096' });
    const container = (name: string) => shop.ContainerDefinitions.find((candidate) => candidate.Name === name)!;
    const [runner, server] = [container(RUNNER_CONTAINER_NAME), container(DRILL_SERVER_CONTAINER_NAME)];
    expect(shop.ContainerDefinitions).toHaveLength(2);
    expect(runner).toMatchObject({ Essential: true, ReadonlyRootFilesystem: true, DependsOn: [{ ContainerName: DRILL_SERVER_CONTAINER_NAME, Condition: 'HEALTHY' }] });
    expect(server).toMatchObject({ Image: 'postgres:17', Essential: false, Command: ['postgres', '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'] });
    expect(server.HealthCheck!.Command).toEqual(['CMD-SHELL', 'pg_isready -h 127.0.0.1 -p 5432 -U postgres']);
    // Trust authentication, reachable on the task's loopback only: no password to leak.
    expect(server.Environment).toEqual([{ Name: 'POSTGRES_HOST_AUTH_METHOD', Value: 'trust' }]);
  });

  it('runs a MariaDB job\'s drill beside the official mariadb image: loopback only, root without a password, healthy once mariadbd answers over TCP', () => {
    const ledger = task('vaultra-test-drill-ledger');
    const container = (name: string) => ledger.ContainerDefinitions.find((candidate) => candidate.Name === name)!;
    const [runner, server] = [container(RUNNER_CONTAINER_NAME), container(DRILL_SERVER_CONTAINER_NAME)];
    expect(runner.DependsOn).toEqual([{ ContainerName: DRILL_SERVER_CONTAINER_NAME, Condition: 'HEALTHY' }]);
    expect(server).toMatchObject({ Image: 'mariadb:11.4', Essential: false, Command: ['--bind-address=127.0.0.1', '--skip-name-resolve', '--innodb-flush-log-at-trx-commit=0', '--character-set-server=utf8mb4'] });
    expect(server.HealthCheck!.Command).toEqual(['CMD-SHELL', 'mariadb-admin ping -h 127.0.0.1 -P 3306 -u root --silent']);
    expect(server.Environment).toEqual([{ Name: 'MARIADB_ALLOW_EMPTY_ROOT_PASSWORD', Value: '1' }]);
  });

  it('runs a MongoDB job\'s drill beside the official mongo image, bound to 127.0.0.1, healthy once mongosh pings it', () => {
    const events = task('vaultra-test-drill-events');
    const server = events.ContainerDefinitions.find((candidate) => candidate.Name === DRILL_SERVER_CONTAINER_NAME)!;
    expect(server).toMatchObject({ Image: 'mongo:7.0', Essential: false, Command: ['--bind_ip', '127.0.0.1'] });
    expect(server.HealthCheck!.Command).toEqual(['CMD-SHELL', `mongosh --quiet --eval "db.adminCommand('ping').ok" mongodb://127.0.0.1:27017/`]);
    expect(server.Environment).toBeUndefined();
  });

  it('drills a job without drill.server in the runner alone, at the default drill size', () => {
    const notes = task('vaultra-test-drill-notes');
    expect(notes).toMatchObject({ Cpu: '1024', Memory: '2048' });
    expect(notes.ContainerDefinitions.map((container) => container.Name)).toEqual([RUNNER_CONTAINER_NAME]);
    const families = resourcesWhere<TaskProperties>(template, 'AWS::ECS::TaskDefinition').map((found) => found.Properties.Family);
    expect(families.sort()).toEqual(['vaultra-test-drill-events', 'vaultra-test-drill-ledger', 'vaultra-test-drill-notes', 'vaultra-test-drill-shop', 'vaultra-test-runner']);
  });

  it('the drill role may decrypt backups and writes none; the backup role still cannot decrypt', () => {
    const drill = statementsOfRole(template, 'DrillsRole');
    expect(flat(task('vaultra-test-drill-shop').TaskRoleArn)).toBe(roleArn('DrillsRole'));
    expect(decryptsDirectly(drill)).toBe(true);
    for (const action of ['s3:PutObject', 's3:DeleteObject', 'kms:Sign', 'secretsmanager:GetSecretValue']) expect(granting(drill, action), action).toEqual([]);
    expect(decryptsDirectly(statementsOfRole(template, 'RunnerTaskRole'))).toBe(false);
  });

  it('the scheduled function starts the drill tasks and passes the drill role, never the restore role; it learns their ARNs by job', () => {
    const scheduled = statementsOfRole(template, 'FunctionsScheduledBackupRole');
    const runTask = granting(scheduled, 'ecs:RunTask').flatMap((statement) => asList(statement.Resource).map(flat));
    expect(runTask.filter((arn) => arn.includes('Drills')).length).toBe(4);
    const passed = granting(scheduled, 'iam:PassRole').flatMap((statement) => asList(statement.Resource).map(flat));
    expect(passed).toContain(roleArn('DrillsRole'));
    expect(passed).not.toContain(roleArn('RunnerRestoreRole'));
    const fn = resourcesWhere<{ Environment: { Variables: Record<string, unknown> } }>(template, 'AWS::Lambda::Function').find((found) => found.id.startsWith('FunctionsScheduledBackup'))!;
    const drills = flat(fn.Properties.Environment.Variables[AWS_FUNCTION_ENV.drillTaskDefinitions]);
    expect(drills).toMatch(/"shop":"<DrillsTaskshop\w+>"/);
    expect(drills).toMatch(/"notes":"<DrillsTasknotes\w+>"/);
  });

  it('leaves no cdk-nag finding unacknowledged (the sidecar\'s one variable is acknowledged: no secret)', () => {
    expect(new AwsSolutionsChecks().validateScope(stack).violations.map((violation) => violation.ruleName)).toEqual([]);
  });

  it('refuses at synth a drill size Fargate would refuse', () => {
    const config = testConfig({}, { shop: { source: testSource('shop'), schedule: { cron: '0 3 * * *' }, drill: { schedule: { cron: '0 5 * * 0' }, cpu: 512, memoryMiB: 512 } } });
    expect(() => synthStack(config, 'test')).toThrow(ConfigError);
    expect(() => synthStack(config, 'test')).toThrow(/jobs\.shop\.drill: Fargate runs 512 CPU units with 1024 to 4096 MiB/);
  });
});

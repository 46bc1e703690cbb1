/**
 * `vaultra schedule`'s DEPLOYED column for an AWS environment, through the built CLI
 * (`npm run build` first), against EventBridge Scheduler on moto: the schedules are created the
 * way infra/aws/job-schedules.ts creates them (group `vaultra-<env>`, one schedule per enabled job
 * named after it), then changed, removed and added to, as drift would.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateScheduleCommand, CreateScheduleGroupCommand, DeleteScheduleCommand, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, runVaultra } from '../support/cli.js';
import { requireMoto } from '../support/requirements.js';
import { motoClientConfig } from '../support/moto-clients.js';

const REGION = 'eu-west-1';
const TARGET = { Arn: `arn:aws:lambda:${REGION}:123456789012:function:vaultra-scheduled-backup`, RoleArn: 'arn:aws:iam::123456789012:role/vaultra-scheduler' };

interface ShownJob {
  job: string;
  deployed?: { state: string; detail?: string; reason?: string };
}

describe('vaultra schedule: deployed schedules on AWS (EventBridge Scheduler on moto)', () => {
  const moto = requireMoto();
  if (!moto) return;

  // A fresh environment name per run: moto is shared by the whole test run.
  const environment = `sched-${randomBytes(3).toString('hex')}`;
  const group = `vaultra-${environment}`;
  let dir = '';
  let config = '';
  let scheduler: SchedulerClient;

  /** The example environment's three jobs and the watchdog as `cdk deploy` leaves them (expressions from the synthesized template). */
  async function deployAsTheStackDoes(): Promise<void> {
    await scheduler.send(new CreateScheduleGroupCommand({ Name: group }));
    const schedules = [
      { Name: 'shop-postgres', ScheduleExpression: 'cron(15 2 * * ? *)', ScheduleExpressionTimezone: 'Europe/Paris', FlexibleTimeWindow: { Mode: 'FLEXIBLE' as const, MaximumWindowInMinutes: 15 } },
      { Name: 'billing-mariadb', ScheduleExpression: 'cron(0 */6 * * ? *)', ScheduleExpressionTimezone: 'UTC', FlexibleTimeWindow: { Mode: 'OFF' as const } },
      { Name: 'events-mongodb', ScheduleExpression: 'cron(30 1 ? * MON,TUE,WED,THU,FRI *)', ScheduleExpressionTimezone: 'America/New_York', FlexibleTimeWindow: { Mode: 'OFF' as const } },
      // The stack's own watchdog shares the group: not a job, not drift.
      { Name: 'Vaultra-Watchdog', ScheduleExpression: 'rate(1 hour)', FlexibleTimeWindow: { Mode: 'OFF' as const } },
    ];
    for (const schedule of schedules) await scheduler.send(new CreateScheduleCommand({ ...schedule, GroupName: group, Target: { ...TARGET, Input: JSON.stringify({ job: schedule.Name }) }, State: 'ENABLED' }));
  }

  const schedule = (args: string[], env: NodeJS.ProcessEnv = moto.env) => runVaultra(['schedule', '--config', config, '--env', environment, ...args], { env });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vaultra-schedule-aws-'));
    config = join(dir, 'vaultra.config.yaml');
    const shipped = await readFile(join(repoRoot, 'vaultra.config.yaml'), 'utf8');
    await writeFile(config, shipped.replace(/^ {2}example:$/m, `  ${environment}:`));
    scheduler = new SchedulerClient(motoClientConfig(moto, REGION));
    await deployAsTheStackDoes();
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('says every job matches when the deployed schedules are the ones the file gives', async () => {
    const { code, stdout, stderr } = await schedule(['--json', '--next', '1']);

    expect(code, stderr).toBe(0);
    const jobs = JSON.parse(stdout) as ShownJob[];
    expect(jobs.map((job) => [job.job, job.deployed])).toEqual([
      ['shop-postgres', { state: 'matches' }],
      ['billing-mariadb', { state: 'matches' }],
      ['events-mongodb', { state: 'matches' }],
    ]);
    expect(stderr).toBe('');
  });

  it('names each drift: a changed expression, a schedule gone, a paused one, one the file does not have', async () => {
    await scheduler.send(new UpdateScheduleCommand({ Name: 'events-mongodb', GroupName: group, ScheduleExpression: 'cron(0 3 ? * MON,TUE,WED,THU,FRI *)', ScheduleExpressionTimezone: 'America/New_York', FlexibleTimeWindow: { Mode: 'OFF' }, Target: TARGET, State: 'ENABLED' }));
    await scheduler.send(new DeleteScheduleCommand({ Name: 'billing-mariadb', GroupName: group }));
    await scheduler.send(new UpdateScheduleCommand({ Name: 'shop-postgres', GroupName: group, ScheduleExpression: 'cron(15 2 * * ? *)', ScheduleExpressionTimezone: 'Europe/Paris', FlexibleTimeWindow: { Mode: 'OFF' }, Target: TARGET, State: 'DISABLED' }));
    await scheduler.send(new CreateScheduleCommand({ Name: 'old-job', GroupName: group, ScheduleExpression: 'cron(0 4 * * ? *)', FlexibleTimeWindow: { Mode: 'OFF' }, Target: TARGET, State: 'ENABLED' }));

    const json = await schedule(['--json', '--next', '1']);
    const table = await schedule(['--next', '1']);

    expect(json.code, json.stderr).toBe(0);
    const byJob = new Map((JSON.parse(json.stdout) as ShownJob[]).map((job) => [job.job, job.deployed]));
    expect(byJob.get('events-mongodb')).toEqual({ state: 'differs', detail: 'events-mongodb deployed cron(0 3 ? * MON,TUE,WED,THU,FRI *) (America/New_York), the file gives cron(30 1 ? * MON,TUE,WED,THU,FRI *) (America/New_York)' });
    expect(byJob.get('billing-mariadb')).toEqual({ state: 'differs', detail: 'billing-mariadb not deployed' });
    expect(byJob.get('shop-postgres')).toEqual({ state: 'differs', detail: 'shop-postgres deployed paused, the file has it enabled' });
    expect(json.stderr).toBe(`vaultra: warning: ${environment} has deployed schedules the file does not name: old-job (delete them, or redeploy the environment)\n`);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/\s+DEPLOYED$/);
    expect(table.stdout).toMatch(/^\S+\s+billing-mariadb\s+.*✗ billing-mariadb not deployed$/m);
  });

  it('shows unknown with a one-line reason, exit 0, when EventBridge Scheduler cannot be reached; never the credentials', async () => {
    const secretKey = `canary-${randomBytes(8).toString('hex')}`;
    const unreachable = { ...moto.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_SECRET_ACCESS_KEY: secretKey };

    const { code, stdout, stderr } = await schedule(['--json', '--next', '1'], unreachable);

    expect(code, stderr).toBe(0);
    const jobs = JSON.parse(stdout) as ShownJob[];
    for (const job of jobs) expect(job.deployed).toEqual({ state: 'unknown', reason: `reading the EventBridge schedules of group ${group} failed: could not reach EventBridge Scheduler: connect ECONNREFUSED 127.0.0.1:9` });
    expect(stdout + stderr).not.toContain(secretKey);
  });

  it('makes no cloud call with --no-deployed', async () => {
    const { code, stdout, stderr } = await schedule(['--no-deployed', '--json', '--next', '1'], { ...moto.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });

    expect(code, stderr).toBe(0);
    expect((JSON.parse(stdout) as ShownJob[]).every((job) => job.deployed === undefined)).toBe(true);
  });
});

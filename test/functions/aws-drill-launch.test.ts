/**
 * The ECS launcher starts a drill on the job's drill task definition, as that definition's own
 * (drill) role. ECS RunTask is an SDK mock: moto cannot run awsvpc tasks (TESTING.md).
 */
import { ECSClient, RunTaskCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { EcsFargateLauncher } from '../../core/adapters/launchers/ecs-fargate-launcher.js';
import { LaunchFailedError } from '../../core/errors.js';

const TARGET = {
  clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/vaultra',
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/vaultra-test-runner:3',
  containerName: 'runner',
  subnetIds: ['subnet-1'],
  securityGroupIds: ['sg-1'],
  assignPublicIp: false,
  restoreTaskRoleArn: 'arn:aws:iam::123456789012:role/restore',
  drillTaskDefinitionArns: { shop: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/vaultra-test-drill-shop:1' },
};
const DRILL = { job: 'shop', runId: '20261206T050000.000Z-abcdef', command: ['drill', 'latest', '--job', 'shop'], environment: {}, readsBackups: true, drill: true };

describe('ECS launcher, drills (RunTask mocked: moto cannot run awsvpc tasks)', () => {
  const ecs = mockClient(ECSClient);
  afterEach(() => ecs.reset());

  it('starts the job\'s drill task definition with the drill command, as its own drill role (no restore-role override)', async () => {
    ecs.on(RunTaskCommand).resolves({ tasks: [{ taskArn: 'arn:aws:ecs:eu-west-1:123456789012:task/vaultra/d1' }], failures: [] });
    const launched = await new EcsFargateLauncher(TARGET, new ECSClient({ region: 'eu-west-1' })).launch(DRILL);
    expect(launched.taskId).toBe('arn:aws:ecs:eu-west-1:123456789012:task/vaultra/d1');
    const input = ecs.commandCalls(RunTaskCommand)[0]!.args[0].input;
    expect(input.taskDefinition).toBe(TARGET.drillTaskDefinitionArns.shop);
    expect(input.overrides).not.toHaveProperty('taskRoleArn');
    expect(input.overrides!.containerOverrides![0]).toMatchObject({ name: 'runner', command: DRILL.command });
  });

  it('refuses a drill of a job the deployment has no drill task for, without calling ECS', async () => {
    const launch = new EcsFargateLauncher(TARGET, new ECSClient({ region: 'eu-west-1' })).launch({ ...DRILL, job: 'notes' });
    await expect(launch).rejects.toThrow(LaunchFailedError);
    await expect(launch).rejects.toThrow(/no drill task for it .*add drill.schedule to the job and redeploy/);
    expect(ecs.commandCalls(RunTaskCommand)).toHaveLength(0);
  });
});

/**
 * The names `vaultra tui` derives to reach a deployed AWS environment (runner/tui/cloud-endpoints.ts):
 * the api function it invokes and the task definition families whose awslogs settings say
 * where a run's log is. The stack must give exactly those names.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { awsNames, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { EXAMPLE_CONFIG, synthStack } from './support/synth.js';
import { onlyResource } from './support/template-queries.js';

let template: Template;

beforeAll(() => {
  ({ template } = synthStack(EXAMPLE_CONFIG, 'example'));
});

describe('the names the console derives from the environment', () => {
  it('names the api function vaultra-<env>-api', () => {
    const api = onlyResource(template, 'AWS::Lambda::Function', (properties) => String(properties.Description).includes('on-demand'));
    expect(api.Properties.FunctionName).toBe(awsNames.apiFunction('example'));
  });

  it("names the runner's task family, whose runner container logs with awslogs and a stream prefix", () => {
    const task = onlyResource(template, 'AWS::ECS::TaskDefinition', (properties) => properties.Family === awsNames.runnerTaskFamily('example'));
    const containers = task.Properties.ContainerDefinitions as { Name: string; LogConfiguration?: { LogDriver: string; Options: Record<string, unknown> } }[];
    const runner = containers.find((container) => container.Name === RUNNER_CONTAINER_NAME)!;
    expect(runner.LogConfiguration?.LogDriver).toBe('awslogs');
    expect(runner.LogConfiguration?.Options['awslogs-stream-prefix']).toBe('runner');
  });
});

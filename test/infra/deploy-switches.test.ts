/**
 * The emulator switches of the CDK app (`-c runnerImage=<uri>`, `-c flowLogs=false`): off by
 * default, so a deploy without them is the production stack (the image built as a Docker asset,
 * the VPC flow log on); with them, the prebuilt image and no flow log, nothing else changed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { deploySwitchesOf } from '../../infra/aws/deploy-switches.js';
import { awsEnvironmentOf } from '../../infra/aws/deployment-config.js';
import { VaultraStack } from '../../infra/aws/vaultra-stack.js';
import { ConfigError } from '../../core/errors.js';
import { cdkJsonContext, testConfig, testOutdir } from './support/synth.js';
import { onlyResource, resourcesWhere } from './support/template-queries.js';

process.env.CDK_VALIDATION = 'false';

/** The stack as app.ts builds it from `context` (cdk.json's flags plus the `-c` values). */
function synthWithContext(context: Record<string, string>): { template: Template; dockerImages: number } {
  const app = new App({ outdir: testOutdir(), context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = new VaultraStack(app, 'Vaultra-test', { deployment: awsEnvironmentOf(testConfig(), 'test'), ...deploySwitchesOf((key) => app.node.tryGetContext(key)) });
  const assembly = app.synth();
  const manifest = JSON.parse(readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')) as { dockerImages?: Record<string, unknown> };
  const dockerImages = Object.keys(manifest.dockerImages ?? {}).length;
  return { template: Template.fromStack(stack), dockerImages };
}

const runnerContainer = (template: Template) => onlyResource<{ ContainerDefinitions: { Image: unknown; MemoryReservation?: number }[] }>(template, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions[0]!;

describe('deploy switches', () => {
  it('without them: the runner image is built from runner/Dockerfile and the created VPC has its flow log', () => {
    const { template, dockerImages } = synthWithContext({});
    expect(dockerImages).toBe(1);
    expect(resourcesWhere(template, 'AWS::EC2::FlowLog')).toHaveLength(1);
    expect(JSON.stringify(runnerContainer(template).Image)).toMatch(/cdk-hnb659fds-container-assets/);
  });

  it('-c runnerImage=<uri> -c flowLogs=false: the prebuilt image, no image asset, no flow log; the rest of the stack unchanged', () => {
    const production = synthWithContext({}).template.toJSON() as { Resources: Record<string, { Type: string }> };
    const { template, dockerImages } = synthWithContext({ runnerImage: 'public.ecr.aws/vaultra/runner:1.2.3', flowLogs: 'false' });
    expect(dockerImages).toBe(0);
    expect(runnerContainer(template).Image).toBe('public.ecr.aws/vaultra/runner:1.2.3');
    expect(resourcesWhere(template, 'AWS::EC2::FlowLog')).toHaveLength(0);
    const types = (resources: Record<string, { Type: string }>) => Object.values(resources).map((resource) => resource.Type).sort();
    const withoutFlowLog = types(production.Resources).filter((type) => type !== 'AWS::EC2::FlowLog');
    expect(types((template.toJSON() as { Resources: Record<string, { Type: string }> }).Resources)).toEqual(withoutFlowLog);
  });

  it('flowLogs=true is the default spelled out; other values are refused in one line', () => {
    expect(deploySwitchesOf((key) => (key === 'flowLogs' ? 'true' : undefined)).flowLogs).toBe(true);
    expect(() => deploySwitchesOf((key) => (key === 'flowLogs' ? 'no' : undefined))).toThrow(ConfigError);
    expect(() => deploySwitchesOf((key) => (key === 'runnerImage' ? ' ' : undefined))).toThrow(/-c runnerImage needs an image URI/);
  });

  it('-c toolsLayer=<zip> names the tools layer of inline jobs, as an absolute path; an empty value is refused in one line', () => {
    expect(deploySwitchesOf((key) => (key === 'toolsLayer' ? 'build/layer.zip' : undefined)).toolsLayerZip).toBe(path.resolve('build/layer.zip'));
    expect(deploySwitchesOf(() => undefined).toolsLayerZip).toBeUndefined();
    expect(() => deploySwitchesOf((key) => (key === 'toolsLayer' ? '' : undefined))).toThrow(/-c toolsLayer needs the path of a layer zip/);
  });

  it('the runner container reserves 512 MiB (Fargate\'s smallest task), so it fits every task size a job may ask for', () => {
    expect(runnerContainer(synthWithContext({}).template).MemoryReservation).toBe(512);
  });
});

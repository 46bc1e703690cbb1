/**
 * `telemetry: { xray: true }` on an AWS environment: the runner task gets an ADOT collector
 * sidecar (pinned image, not essential, started before the runner) that forwards the runner's
 * OTLP spans to X-Ray; the runner container gets the OTEL_* variables that point it there; the
 * backup and restore roles may put trace segments. Off (the default) none of it is in the template.
 */
process.env.CDK_VALIDATION = 'false';

import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parse as parseYaml } from 'yaml';
import { RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { parseConfig } from '../../core/config/load-config.js';
import { ADOT_COLLECTOR_IMAGE, OTEL_SIDECAR_CONTAINER_NAME, XRAY_ACTIONS } from '../../infra/aws/otel-sidecar.js';
import { synthStack, testConfig } from './support/synth.js';
import { granting, onlyResource, statementsOfRole } from './support/template-queries.js';

interface ContainerDefinition {
  readonly Name: string;
  readonly Image: unknown;
  readonly Essential?: boolean;
  readonly Environment?: { Name: string; Value: unknown }[];
  readonly DependsOn?: { ContainerName: string; Condition: string }[];
  readonly ReadonlyRootFilesystem?: boolean;
  readonly LogConfiguration?: { LogDriver: string; Options: Record<string, unknown> };
}

const runnerTaskOf = (template: Template) =>
  onlyResource<{ ContainerDefinitions: ContainerDefinition[] }>(template, 'AWS::ECS::TaskDefinition', (properties) => (properties.ContainerDefinitions ?? []).some((container) => container.Name === RUNNER_CONTAINER_NAME)).Properties;
const containerOf = (template: Template, name: string) => runnerTaskOf(template).ContainerDefinitions.find((container) => container.Name === name);
const environmentOf = (container: ContainerDefinition | undefined) => Object.fromEntries((container?.Environment ?? []).map(({ Name, Value }) => [Name, Value]));
const xrayStatements = (template: Template, role: string) => XRAY_ACTIONS.flatMap((action) => granting(statementsOfRole(template, role), action));

describe('the X-Ray sidecar of the runner task', () => {
  let on: ReturnType<typeof synthStack>;
  let off: Template;

  beforeAll(() => {
    on = synthStack(testConfig({ telemetry: { xray: true } }), 'test');
    off = synthStack(testConfig(), 'test').template;
  });

  it('is off by default: one container, no OTEL_* variables, no X-Ray rights', () => {
    expect(runnerTaskOf(off).ContainerDefinitions.map((container) => container.Name)).toEqual([RUNNER_CONTAINER_NAME]);
    expect(Object.keys(environmentOf(containerOf(off, RUNNER_CONTAINER_NAME))).filter((name) => name.startsWith('OTEL_'))).toEqual([]);
    expect(xrayStatements(off, 'RunnerTaskRole')).toEqual([]);
    expect(xrayStatements(off, 'RunnerRestoreRole')).toEqual([]);
  });

  it('on: a pinned ADOT collector, not essential, logging, started before the runner', () => {
    const sidecar = containerOf(on.template, OTEL_SIDECAR_CONTAINER_NAME);
    expect(sidecar).toBeDefined();
    expect(sidecar!.Image).toBe(ADOT_COLLECTOR_IMAGE);
    expect(ADOT_COLLECTOR_IMAGE).toMatch(/^public\.ecr\.aws\/aws-observability\/aws-otel-collector:v\d+\.\d+\.\d+$/);
    expect(sidecar!.Essential).toBe(false);
    expect(sidecar!.ReadonlyRootFilesystem).toBe(true);
    expect(sidecar!.LogConfiguration?.LogDriver).toBe('awslogs');
    expect(containerOf(on.template, RUNNER_CONTAINER_NAME)!.DependsOn).toEqual([{ ContainerName: OTEL_SIDECAR_CONTAINER_NAME, Condition: 'START' }]);
  });

  it('on: the collector takes OTLP/HTTP on localhost and has only a traces pipeline, to X-Ray in the stack\'s region', () => {
    const config = parseYaml(String(environmentOf(containerOf(on.template, OTEL_SIDECAR_CONTAINER_NAME)).AOT_CONFIG_CONTENT)) as {
      receivers: { otlp: { protocols: Record<string, { endpoint: string }> } };
      exporters: Record<string, { region?: string }>;
      service: { pipelines: Record<string, { receivers: string[]; exporters: string[] }> };
    };
    expect(config.receivers.otlp.protocols).toEqual({ http: { endpoint: 'localhost:4318' } });
    expect(config.exporters.awsxray?.region).toBe('eu-central-1');
    expect(Object.keys(config.service.pipelines)).toEqual(['traces']);
    expect(config.service.pipelines.traces).toMatchObject({ receivers: ['otlp'], exporters: ['awsxray'] });
  });

  it('on: the runner sends its spans to the sidecar under its own service name, and no metrics there', () => {
    expect(environmentOf(containerOf(on.template, RUNNER_CONTAINER_NAME))).toEqual({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://localhost:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_SERVICE_NAME: 'vaultra-test-runner',
      OTEL_METRICS_EXPORTER: 'none',
    });
  });

  it('on: both task roles (and not the execution role) may put trace segments and telemetry records', () => {
    for (const role of ['RunnerTaskRole', 'RunnerRestoreRole']) {
      const statements = xrayStatements(on.template, role);
      expect(statements.length, role).toBeGreaterThan(0);
      expect(statements.every((statement) => statement.Resource === '*'), role).toBe(true);
    }
    expect(xrayStatements(on.template, 'RunnerExecutionRole')).toEqual([]);
  });

  it('on: leaves no unacknowledged cdk-nag finding', () => {
    expect(new AwsSolutionsChecks().validateScope(on.app).violations).toEqual([]);
  });

  it('is refused outside AWS, in one line', () => {
    const local = JSON.stringify({ version: 1, environments: { laptop: { cloud: 'local', telemetry: { xray: true }, jobs: { app: { source: 'sqlite:./app.db', schedule: { cron: '0 * * * *' } } } } } });
    expect(() => parseConfig(local, 'test config')).toThrow(/telemetry\.xray.*X-Ray is AWS tracing/);
  });
});

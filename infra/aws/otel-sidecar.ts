import { Stack } from 'aws-cdk-lib';
import { ContainerDependencyCondition, ContainerImage, LogDrivers, type ContainerDefinition, type TaskDefinition } from 'aws-cdk-lib/aws-ecs';
import { Effect, PolicyStatement, type IRole } from 'aws-cdk-lib/aws-iam';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { acknowledge, acknowledgeWildcardResource } from './nag.js';

/**
 * The AWS Distro for OpenTelemetry collector, pinned: a tag that moves would change what every
 * deployed task runs without a deploy. v0.43.3 (May 2025) is collector-contrib v0.117 with the
 * awsxray exporter.
 */
export const ADOT_COLLECTOR_IMAGE = 'public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3';
export const OTEL_SIDECAR_CONTAINER_NAME = 'otel-collector';
/** Where the sidecar takes OTLP/HTTP: the task's containers share one network namespace. */
export const OTEL_SIDECAR_ENDPOINT = 'http://localhost:4318';
/** What the awsxray exporter calls. X-Ray has no resource-level permissions: these take `*`. */
export const XRAY_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

export interface XraySidecarProps {
  /** The container whose spans go to X-Ray: it gets the OTEL_* variables and waits for the sidecar to start. */
  readonly traced: ContainerDefinition;
  /** `service.name` of its spans: the node X-Ray's trace map shows. */
  readonly serviceName: string;
  /** Where the collector's own log lines go. */
  readonly logGroup: ILogGroup;
  /** Every role the task may run as (a RunTask override may swap the task role): each may put trace segments. */
  readonly taskRoles: readonly IRole[];
}

/**
 * Adds an ADOT collector sidecar to `taskDefinition` that forwards the traced container's spans
 * to X-Ray: OTLP/HTTP in on localhost, the awsxray exporter out. Traces only: the runs' metrics
 * and alarms stay on the functions' EMF path (job-metrics.ts), so the traced container's metric
 * exporter is turned off rather than sent to a collector that has no metrics pipeline.
 *
 * The sidecar is not essential: a collector that fails must not fail a backup. The traced
 * container exits first and the task then stops the collector with SIGTERM, on which it exports
 * what its batch still holds.
 */
export function addXraySidecar(taskDefinition: TaskDefinition, props: XraySidecarProps): ContainerDefinition {
  const sidecar = taskDefinition.addContainer('OtelCollector', {
    containerName: OTEL_SIDECAR_CONTAINER_NAME,
    image: ContainerImage.fromRegistry(ADOT_COLLECTOR_IMAGE),
    essential: false,
    // A collector forwarding one run's spans needs a few tens of MiB; the task's memory stays the limit.
    memoryReservationMiB: 64,
    readonlyRootFilesystem: true,
    // ADOT reads its whole configuration from this variable.
    environment: { AOT_CONFIG_CONTENT: xrayCollectorConfig(Stack.of(taskDefinition).region) },
    logging: LogDrivers.awsLogs({ streamPrefix: OTEL_SIDECAR_CONTAINER_NAME, logGroup: props.logGroup }),
  });

  const { traced } = props;
  traced.addContainerDependencies({ container: sidecar, condition: ContainerDependencyCondition.START });
  traced.addEnvironment('OTEL_EXPORTER_OTLP_ENDPOINT', OTEL_SIDECAR_ENDPOINT);
  traced.addEnvironment('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/protobuf');
  traced.addEnvironment('OTEL_SERVICE_NAME', props.serviceName);
  traced.addEnvironment('OTEL_METRICS_EXPORTER', 'none');

  for (const role of props.taskRoles) {
    role.addToPrincipalPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: XRAY_ACTIONS, resources: ['*'] }));
    acknowledgeWildcardResource(role, '*', 'xray:PutTraceSegments and xray:PutTelemetryRecords have no resource-level permissions: AWS requires Resource "*" for them.');
  }
  acknowledge(
    taskDefinition,
    'AwsSolutions-ECS2',
    'The variables set directly are no secrets: the collector configuration (no credentials: the task role signs its calls), a localhost endpoint, a service name and a switch. Secrets come from Secrets Manager.',
  );
  return sidecar;
}

/** OTLP/HTTP on localhost in, X-Ray out; batched briefly, since a run's task stops soon after its last span. */
export function xrayCollectorConfig(region: string): string {
  return [
    'receivers:',
    '  otlp:',
    '    protocols:',
    '      http:',
    '        endpoint: localhost:4318',
    'processors:',
    '  batch:',
    '    timeout: 1s',
    'exporters:',
    '  awsxray:',
    `    region: ${region}`,
    'service:',
    '  pipelines:',
    '    traces:',
    '      receivers: [otlp]',
    '      processors: [batch]',
    '      exporters: [awsxray]',
    '',
  ].join('\n');
}

/**
 * The cloud run-log readers the console's run screens use. CloudWatch Logs and ECS task
 * definitions on moto (the lines put where the awslogs driver would put them); Cloud Logging and
 * Log Analytics on local HTTP stubs (no emulator exists for either), which check the query the
 * reader sends and answer as the services' REST APIs do.
 */
import { CloudWatchLogsClient, CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloudWatchRunLogReader, ecsTaskId } from '../../core/adapters/run-log/cloudwatch-run-log-reader.js';
import { CloudLoggingRunLogReader, cloudRunExecutionName } from '../../core/adapters/run-log/cloud-logging-run-log-reader.js';
import { LogAnalyticsRunLogReader } from '../../core/adapters/run-log/log-analytics-run-log-reader.js';
import type { RunRecord } from '../../core/domain/run.js';
import { ConfigError } from '../../core/errors.js';
import { awsNames, RUNNER_CONTAINER_NAME } from '../../core/platform/aws-deployment.js';
import { HttpReceiver } from '../support/http-receiver.js';
import { motoClientConfig } from '../support/moto-clients.js';
import { requireMoto } from '../support/requirements.js';

/** Fixed instants: nothing here depends on the day the suite runs. */
const T0 = Date.UTC(2026, 10, 22, 3, 0, 0);

function runOf(taskId: string | undefined, kind: RunRecord['kind'] = 'backup'): RunRecord {
  return { runId: '20261122T030000.000Z-abcdef', job: 'shop', kind, status: 'succeeded', startedAt: new Date(T0).toISOString(), ...(taskId ? { taskId } : {}) };
}

describe('CloudWatchRunLogReader on moto (task definition and log stream as the stack and the awslogs driver leave them)', () => {
  const moto = requireMoto();
  if (!moto) return;
  const environment = `logs${Math.random().toString(16).slice(2, 8)}`;
  const group = `/vaultra/${environment}/runner-logs`;
  const taskHex = '0f1e2d3c4b5a69788796a5b4c3d2e1f0';
  const taskArn = `arn:aws:ecs:eu-west-1:123456789012:task/vaultra-${environment}/${taskHex}`;
  const eventsAt = Date.now() - 60_000;
  const reader = () =>
    new CloudWatchRunLogReader({
      region: 'eu-west-1',
      containerName: RUNNER_CONTAINER_NAME,
      taskFamily: (run) => (run.kind === 'drill' ? awsNames.drillTaskFamily(environment, run.job) : awsNames.runnerTaskFamily(environment)),
      clients: { logs: new CloudWatchLogsClient(motoClientConfig(moto, 'eu-west-1')), ecs: new ECSClient(motoClientConfig(moto, 'eu-west-1')) },
    });

  beforeAll(async () => {
    const config = motoClientConfig(moto, 'eu-west-1');
    await new ECSClient(config).send(
      new RegisterTaskDefinitionCommand({
        family: awsNames.runnerTaskFamily(environment),
        containerDefinitions: [{ name: RUNNER_CONTAINER_NAME, image: 'vaultra-runner', memoryReservation: 512, logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': group, 'awslogs-stream-prefix': 'runner', 'awslogs-region': 'eu-west-1' } } }],
      }),
    );
    const logs = new CloudWatchLogsClient(config);
    await logs.send(new CreateLogGroupCommand({ logGroupName: group }));
    await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: `runner/${RUNNER_CONTAINER_NAME}/${taskHex}` }));
    const lines = ['vaultra: resolving secret+aws://prod/shop', 'vaultra: dump started', '{', '  "runId": "20261122T030000.000Z-abcdef"', '}'];
    // CloudWatch drops events older than 14 days: these are minutes old, whatever the day (only their order is asserted against a fixed date).
    const put = await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: `runner/${RUNNER_CONTAINER_NAME}/${taskHex}`, logEvents: lines.map((message, i) => ({ timestamp: eventsAt + i * 1000, message })) }));
    expect(put.rejectedLogEventsInfo).toBeUndefined();
  });

  it("reads the newest lines of the task's stream, oldest first, with their times", async () => {
    const lines = await reader().read(runOf(taskArn), { limit: 3 });
    expect(lines).toEqual([
      { at: new Date(eventsAt + 2000).toISOString(), text: '{' },
      { at: new Date(eventsAt + 3000).toISOString(), text: '  "runId": "20261122T030000.000Z-abcdef"' },
      { at: new Date(eventsAt + 4000).toISOString(), text: '}' },
    ]);
    expect((await reader().read(runOf(taskArn), { limit: 100 }))!.map((line) => line.text)[0]).toBe('vaultra: resolving secret+aws://prod/shop');
  });

  it('has no log for a run without an ECS task, a stream that is gone, or a family never deployed', async () => {
    expect(await reader().read(runOf(undefined), { limit: 10 })).toBeUndefined();
    expect(await reader().read(runOf('local:123:1'), { limit: 10 })).toBeUndefined();
    expect(await reader().read(runOf(`arn:aws:ecs:eu-west-1:123456789012:task/vaultra-${environment}/ffffffffffffffffffffffffffffffff`), { limit: 10 })).toBeUndefined();
    expect(await reader().read(runOf(taskArn, 'drill'), { limit: 10 })).toBeUndefined();
  });

  it('takes the task id from either ARN format', () => {
    expect(ecsTaskId('arn:aws:ecs:eu-west-1:123456789012:task/cluster/abc123')).toBe('abc123');
    expect(ecsTaskId('arn:aws:ecs:eu-west-1:123456789012:task/abc123')).toBe('abc123');
    expect(ecsTaskId('projects/p/locations/r/jobs/j/executions/e')).toBeUndefined();
  });
});

describe('CloudLoggingRunLogReader against a local HTTP stub of entries.list (no Cloud Logging emulator exists)', () => {
  const stub = new HttpReceiver({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ entries: [
    { timestamp: '2026-11-22T03:00:02Z', textPayload: 'vaultra: error: pg_dump failed\n' },
    { timestamp: '2026-11-22T03:00:01Z', jsonPayload: { message: 'vaultra: dump started' } },
  ] }) });
  const execution = 'projects/shop-prod/locations/europe-west1/jobs/vaultra-prod-runner/executions/vaultra-prod-runner-x7k2p';
  beforeAll(() => stub.start().then(() => undefined));
  afterEach(() => (stub.requests.length = 0));
  const reader = (token = () => Promise.resolve('stub-access-token')) => new CloudLoggingRunLogReader({ project: 'shop-prod', endpoint: stub.url('').replace(/\/$/, ''), accessToken: token });

  it("lists the execution's entries newest first and returns them oldest first", async () => {
    const lines = await reader().read(runOf(execution), { limit: 50 });
    expect(lines).toEqual([
      { at: '2026-11-22T03:00:01Z', text: 'vaultra: dump started' },
      { at: '2026-11-22T03:00:02Z', text: 'vaultra: error: pg_dump failed' },
    ]);
    const [request] = stub.requests;
    expect(request!.path).toBe('/v2/entries:list');
    expect(request!.headers.authorization).toBe('Bearer stub-access-token');
    expect(JSON.parse(request!.body)).toEqual({
      resourceNames: ['projects/shop-prod'],
      filter: 'resource.type="cloud_run_job" AND labels."run.googleapis.com/execution_name"="vaultra-prod-runner-x7k2p"',
      orderBy: 'timestamp desc',
      pageSize: 50,
    });
  });

  it('says which role is missing on 403, how to log in without credentials, and reads nothing for a run with no execution', async () => {
    stub.reply({ status: 403, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: { code: 403, message: 'Permission denied' } }) });
    await expect(reader().read(runOf(execution), { limit: 5 })).rejects.toThrow(
      new ConfigError('reading the Cloud Logging entries of execution vaultra-prod-runner-x7k2p was refused (HTTP 403): the caller needs logging.logEntries.list on the project (roles/logging.viewer)'),
    );
    await expect(reader(() => Promise.reject(new Error('Could not load the default credentials'))).read(runOf(execution), { limit: 5 })).rejects.toThrow(/no credentials \(Could not load the default credentials\); gcloud auth application-default login/);
    expect(await reader().read(runOf(undefined), { limit: 5 })).toBeUndefined();
    expect(cloudRunExecutionName('operations/abc')).toBeUndefined();
  });
});

describe('LogAnalyticsRunLogReader against a local HTTP stub of the query API (no Log Analytics emulator exists)', () => {
  const stub = new HttpReceiver({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tables: [{ name: 'PrimaryResult', columns: [{ name: 'TimeGenerated', type: 'datetime' }, { name: 'Log_s', type: 'string' }], rows: [
    ['2026-11-22T03:00:02Z', 'vaultra: verified'],
    ['2026-11-22T03:00:01Z', 'vaultra: reading'],
  ] }] }) });
  beforeAll(() => stub.start().then(() => undefined));
  const reader = () => new LogAnalyticsRunLogReader({ workspaceId: '6d3f4a8e-1b2c-4d5e-8f90-a1b2c3d4e5f6', endpoint: stub.url('').replace(/\/$/, ''), accessToken: () => Promise.resolve('stub-entra-token') });

  it("queries the execution's console lines in KQL and returns them oldest first", async () => {
    const lines = await reader().read(runOf('vaultra-prod-runner-ab12cd3'), { limit: 20 });
    expect(lines).toEqual([
      { at: '2026-11-22T03:00:01Z', text: 'vaultra: reading' },
      { at: '2026-11-22T03:00:02Z', text: 'vaultra: verified' },
    ]);
    const request = stub.requests.at(-1)!;
    expect(request.path).toBe('/v1/workspaces/6d3f4a8e-1b2c-4d5e-8f90-a1b2c3d4e5f6/query');
    expect(request.headers.authorization).toBe('Bearer stub-entra-token');
    expect(JSON.parse(request.body)).toEqual({ query: 'ContainerAppConsoleLogs_CL | where ContainerGroupName_s startswith "vaultra-prod-runner-ab12cd3-" | project TimeGenerated, Log_s | order by TimeGenerated desc | take 20' });
  });

  it('has no log for a task id that is not an execution name, and names the role a 403 lacks', async () => {
    expect(await reader().read(runOf('"; drop'), { limit: 5 })).toBeUndefined();
    stub.reply({ status: 403, body: '{}' });
    await expect(reader().read(runOf('vaultra-prod-runner-ab12cd3'), { limit: 5 })).rejects.toThrow('the caller needs read access to the workspace (Log Analytics Reader)');
  });
});

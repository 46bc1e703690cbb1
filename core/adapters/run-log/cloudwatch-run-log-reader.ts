import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { RunRecord } from '../../domain/run.js';
import type { RunLogLine, RunLogReader } from '../../ports/run-log.js';
import { ConfigError } from '../../errors.js';
import { awsErrorName, genericAwsError } from '../aws/aws-errors.js';

export interface CloudWatchRunLogReaderOptions {
  readonly region: string;
  /** The task definition family that ran `run` (the runner's, or a drill's): its awslogs settings say where the log is. */
  readonly taskFamily: (run: RunRecord) => string;
  /** The runner's container in that task definition. */
  readonly containerName: string;
  /** @default clients for `region` (endpoint and credentials from the SDK's settings) */
  readonly clients?: { readonly logs: Pick<CloudWatchLogsClient, 'send'>; readonly ecs: Pick<ECSClient, 'send'> };
}

interface AwsLogsDestination {
  readonly group: string;
  readonly streamPrefix: string;
}

const NOT_ALLOWED = new Set(['AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException', 'ExpiredTokenException']);

/**
 * A runner task's log in CloudWatch Logs, where the ECS awslogs driver writes it: stream
 * `<prefix>/<container>/<task id>` of the group the task definition names. The group and prefix
 * are read once per family from `DescribeTaskDefinition` (the stack generates the group's name),
 * then `GetLogEvents` reads the newest lines. Needs `ecs:DescribeTaskDefinition` and
 * `logs:GetLogEvents` on the group. A run without an ECS task, or whose stream is gone
 * (retention), has no log here: `undefined`.
 */
export class CloudWatchRunLogReader implements RunLogReader {
  readonly #options: CloudWatchRunLogReaderOptions;
  readonly #destinations = new Map<string, Promise<AwsLogsDestination | undefined>>();
  readonly #logs: Pick<CloudWatchLogsClient, 'send'>;
  readonly #ecs: Pick<ECSClient, 'send'>;

  constructor(options: CloudWatchRunLogReaderOptions) {
    this.#options = options;
    this.#logs = options.clients?.logs ?? new CloudWatchLogsClient({ region: options.region, maxAttempts: 3 });
    this.#ecs = options.clients?.ecs ?? new ECSClient({ region: options.region, maxAttempts: 3 });
  }

  async read(run: RunRecord, options: { readonly limit: number; readonly signal?: AbortSignal }): Promise<readonly RunLogLine[] | undefined> {
    const taskId = ecsTaskId(run.taskId);
    if (!taskId) return undefined;
    const family = this.#options.taskFamily(run);
    const destination = await this.#destination(family, options.signal);
    if (!destination) return undefined;
    const stream = `${destination.streamPrefix}/${this.#options.containerName}/${taskId}`;
    const doing = `reading the log of task ${taskId} (${destination.group}, stream ${stream})`;
    try {
      // Newest first from the end, one page: `limit` lines are what the screen shows.
      const page = await this.#logs.send(new GetLogEventsCommand({ logGroupName: destination.group, logStreamName: stream, limit: options.limit, startFromHead: false }), abortable(options.signal));
      return (page.events ?? []).map((event) => ({ ...(event.timestamp === undefined ? {} : { at: new Date(event.timestamp).toISOString() }), text: (event.message ?? '').replace(/\n$/, '') }));
    } catch (error) {
      if (awsErrorName(error) === 'ResourceNotFoundException') return undefined;
      throw translated(error, doing, 'logs:GetLogEvents on the log group');
    }
  }

  #destination(family: string, signal: AbortSignal | undefined): Promise<AwsLogsDestination | undefined> {
    let found = this.#destinations.get(family);
    if (!found) {
      found = this.#describe(family, signal);
      // A failure is not kept: permissions or the network may be fixed by the next read.
      found.catch(() => this.#destinations.delete(family));
      this.#destinations.set(family, found);
    }
    return found;
  }

  async #describe(family: string, signal: AbortSignal | undefined): Promise<AwsLogsDestination | undefined> {
    try {
      const { taskDefinition } = await this.#ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: family }), abortable(signal));
      const container = taskDefinition?.containerDefinitions?.find((candidate) => candidate.name === this.#options.containerName);
      const settings = container?.logConfiguration?.logDriver === 'awslogs' ? container.logConfiguration.options : undefined;
      const group = settings?.['awslogs-group'];
      const streamPrefix = settings?.['awslogs-stream-prefix'];
      return group && streamPrefix ? { group, streamPrefix } : undefined;
    } catch (error) {
      // No such family (never deployed, or a drill task since removed): nothing to read.
      if (awsErrorName(error) === 'ClientException' && /unable to describe task definition/i.test((error as Error).message ?? '')) return undefined;
      throw translated(error, `reading task definition ${family}`, 'ecs:DescribeTaskDefinition');
    }
  }
}

/** The task id of an ECS task ARN (`arn:aws:ecs:<region>:<account>:task/<cluster>/<id>`); undefined for any other task id. */
export function ecsTaskId(taskId: string | undefined): string | undefined {
  const match = /^arn:aws[a-z-]*:ecs:[^:]*:\d*:task\/(?:[^/]+\/)?([A-Za-z0-9-]+)$/.exec(taskId ?? '');
  return match?.[1];
}

function abortable(signal: AbortSignal | undefined) {
  return signal ? { abortSignal: signal } : {};
}

function translated(error: unknown, doing: string, permission: string) {
  const name = awsErrorName(error);
  if (NOT_ALLOWED.has(name)) return new ConfigError(`${doing} was refused (${name}): the caller needs ${permission}`, { cause: error });
  return genericAwsError(error, doing, 'AWS');
}

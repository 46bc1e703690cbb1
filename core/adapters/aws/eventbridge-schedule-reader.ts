import { GetScheduleCommand, ListSchedulesCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import type { DeployedSchedule, DeployedScheduleReader } from '../../ports/deployed-schedules.js';
import { awsErrorName, genericAwsError } from './aws-errors.js';

export interface EventBridgeScheduleReaderOptions {
  /** The environment's schedule group, `vaultra-<env>` (infra/aws/job-schedules.ts). */
  readonly groupName: string;
  readonly region: string;
  /** @default a `SchedulerClient` for `region` (endpoint and credentials from the SDK's settings) */
  readonly client?: Pick<SchedulerClient, 'send'>;
}

/**
 * The schedules of one CDK-deployed environment: `ListSchedules` in its group, then
 * `GetSchedule` for each (the list gives no expression). Read-only calls
 * (`scheduler:ListSchedules`, `scheduler:GetSchedule`). A group that does not exist lists nothing.
 */
export class EventBridgeScheduleReader implements DeployedScheduleReader {
  readonly #groupName: string;
  readonly #client: Pick<SchedulerClient, 'send'>;

  constructor(options: EventBridgeScheduleReaderOptions) {
    this.#groupName = options.groupName;
    this.#client = options.client ?? new SchedulerClient({ region: options.region, maxAttempts: 3 });
  }

  async list(signal: AbortSignal): Promise<readonly DeployedSchedule[]> {
    const doing = `reading the EventBridge schedules of group ${this.#groupName}`;
    try {
      const names = await this.#names(signal);
      return await Promise.all(names.map((name) => this.#schedule(name, signal)));
    } catch (error) {
      throw genericAwsError(error, doing, 'EventBridge Scheduler');
    }
  }

  async #names(signal: AbortSignal): Promise<string[]> {
    const names: string[] = [];
    let NextToken: string | undefined;
    do {
      const page = await this.#client.send(new ListSchedulesCommand({ GroupName: this.#groupName, NextToken }), { abortSignal: signal }).catch((error: unknown) => {
        // The environment was never deployed (or its stack was deleted): no schedules.
        if (awsErrorName(error) === 'ResourceNotFoundException') return { Schedules: [], NextToken: undefined };
        throw error;
      });
      names.push(...(page.Schedules ?? []).flatMap((schedule) => schedule.Name ?? []));
      NextToken = page.NextToken;
    } while (NextToken);
    return names;
  }

  async #schedule(name: string, signal: AbortSignal): Promise<DeployedSchedule> {
    const schedule = await this.#client.send(new GetScheduleCommand({ GroupName: this.#groupName, Name: name }), { abortSignal: signal });
    // A schedule created without a time zone reads its expression in UTC.
    return { name, expression: schedule.ScheduleExpression ?? '', timeZone: schedule.ScheduleExpressionTimezone ?? 'UTC', enabled: schedule.State !== 'DISABLED' };
  }
}

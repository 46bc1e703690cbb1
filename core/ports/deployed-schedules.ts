import type { DeployedSchedule } from '../domain/deployed-schedule.js';

export type { DeployedSchedule };

/**
 * Reads the schedules one deployed environment holds (EventBridge Scheduler, Cloud Scheduler, the
 * config an Azure function app dispatches from). Read-only: it never creates, changes or fires a
 * schedule, so it is safe to call with any credentials and at any time.
 */
export interface DeployedScheduleReader {
  /**
   * Every Vaultra schedule of the environment, by logical name. An environment that was never
   * deployed gives an empty list where the platform can tell, or a `NotFoundError`. Failures
   * (no credentials, access denied, network) throw a `VaultraError` whose message is one line
   * without secrets; callers show it as the reason the comparison is unknown.
   */
  list(signal: AbortSignal): Promise<readonly DeployedSchedule[]>;
}

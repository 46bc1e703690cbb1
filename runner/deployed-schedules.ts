import type { Environment } from '../core/config/environments.js';
import { deployedScheduleReaderFor } from '../core/adapters/deployed-schedule-readers.js';
import { checkDeployedSchedules, unknownFor, type EnvironmentScheduleCheck } from '../core/usecases/deployed-schedule-check.js';
import { oneLine } from '../core/errors.js';

/** Long enough for a credential chain's probes and a few pages; short enough for an interactive command. */
export const DEPLOYED_READ_TIMEOUT_MS = 20_000;

/**
 * Each cloud environment's deployed schedules against the file, environments read in parallel,
 * all within one deadline (and `signal`, Ctrl-C). Local environments are left out. Never throws:
 * what cannot be read is `unknown` with its reason.
 */
export async function checkDeployedEnvironments(environments: readonly Environment[], signal?: AbortSignal): Promise<Map<string, EnvironmentScheduleCheck>> {
  const deadline = AbortSignal.timeout(DEPLOYED_READ_TIMEOUT_MS);
  const bounded = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const checks = await Promise.all(
    environments
      .filter((environment) => environment.cloud !== 'local')
      .map(async (environment): Promise<[string, EnvironmentScheduleCheck]> => {
        try {
          const reader = await deployedScheduleReaderFor(environment);
          return [environment.name, reader ? await checkDeployedSchedules(environment, reader, bounded) : unknownFor(environment, 'no reader for this cloud')];
        } catch (error) {
          return [environment.name, unknownFor(environment, oneLine(error))];
        }
      }),
  );
  return new Map(checks);
}

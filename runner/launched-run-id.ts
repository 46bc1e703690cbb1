import { runIdSchema } from '../core/domain/run.js';
import { TASK_RUN_ENV } from '../core/ports/job-launcher.js';
import { ConfigError } from '../core/errors.js';

/**
 * The run id a launcher gave this process (`VAULTRA_RUN_ID`, set on every task a launcher
 * starts): a launched restore or verify records its run under it, so that whoever asked for it
 * (the api function's answer, the console following it) finds the run by id rather than by guess.
 * Absent on a command typed by hand: the run gets a new id.
 */
export function launchedRunId(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[TASK_RUN_ENV.runId];
  if (value === undefined || value === '') return undefined;
  const parsed = runIdSchema.safeParse(value);
  if (!parsed.success) throw new ConfigError(`${TASK_RUN_ENV.runId}="${value.slice(0, 40)}" is not a run id (20261122T031502.123Z-3f9c2a): unset it, it is meant for launched runs only`);
  return parsed.data;
}

/**
 * On-demand use (`aws lambda invoke`): `{ "action": "backup" | "restore" | "verify" | "list" |
 * "status", "job": …, "runId"?: …, "target"?: … }`, validated, answered with JSON.
 */
import { handleApiRequest } from '../../core/usecases/api-request.js';
import { EcsFargateLauncher } from '../../core/adapters/launchers/ecs-fargate-launcher.js';
import { awsSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { logger, observed, type InvocationOptions } from './shared/observability.js';
import { traceEnvironment } from './shared/trace-context.js';

export function createHandler(deployment: () => Promise<LaunchingDeployment>) {
  return async (event: unknown, _context?: unknown, { signal }: InvocationOptions = {}) => {
    const deps = await deployment();
    const response = await handleApiRequest({ ...deps, runnerEnvironment: traceEnvironment() }, event, signal ? { signal } : {});
    logger.info('api', { action: (event as { action?: unknown } | null)?.action, ok: response.ok, ...(response.ok ? {} : { error: response.error }) });
    return response;
  };
}

export const handler = observed(
  createHandler(
    cached(() => {
      const s = awsSettingsFromEnv();
      return { environment: s.environment, target: s.target, catalog: catalogOf(s), notify: notifyOf(s), launcher: new EcsFargateLauncher(s.ecs) };
    }),
  ),
);

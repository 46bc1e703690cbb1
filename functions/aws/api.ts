/**
 * On-demand use (`aws lambda invoke`): `{ "action": "backup" | "restore" | "verify" | "list" |
 * "status", "job": …, "runId"?: …, "target"?: … }`, validated, answered with JSON.
 */
import { handleApiRequest } from '../../core/usecases/api-request.js';
import { awsDeploymentFromEnv, cachedDeployment, type AwsDeployment } from './shared/deployment.js';
import { logger, observed } from './shared/observability.js';
import { traceEnvironment } from './shared/trace-context.js';

export function createHandler(deployment: () => Promise<AwsDeployment>) {
  return async (event: unknown) => {
    const deps = await deployment();
    const response = await handleApiRequest({ ...deps, runnerEnvironment: traceEnvironment() }, event);
    logger.info('api', { action: (event as { action?: unknown } | null)?.action, ok: response.ok, ...(response.ok ? {} : { error: response.error }) });
    return response;
  };
}

export const handler = observed(createHandler(cachedDeployment(() => awsDeploymentFromEnv())));

/**
 * On-demand use (`aws lambda invoke`): `{ "action": "backup" | "restore" | "verify" | "list" |
 * "status", "job": …, "runId"?: …, "target"?: … }`, validated, answered with JSON. A backup,
 * restore or verify of a `runtime: inline` job is handed to the inline functions (an
 * asynchronous invoke) and answered with the run id it will be recorded as (docs/inline-runs.md).
 */
import { handleApiRequest } from '../../core/usecases/api-request.js';
import { EcsFargateLauncher } from '../../core/adapters/launchers/ecs-fargate-launcher.js';
import { LambdaInlineRunQueue } from '../../core/adapters/launchers/lambda-inline-run-queue.js';
import type { InlineRunQueue } from '../../core/ports/inline-run-queue.js';
import { awsSettingsFromEnv, cached, inlineFunctionsFromEnv } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { logger, observed, type InvocationOptions } from './shared/observability.js';
import { traceEnvironment } from './shared/trace-context.js';

/** What the api function uses: a start's dependencies, and (with inline jobs) where their runs go. */
export type ApiDeployment = LaunchingDeployment & { readonly inlineRuns?: InlineRunQueue };

export function createHandler(deployment: () => Promise<ApiDeployment>) {
  return async (event: unknown, _context?: unknown, { signal }: InvocationOptions = {}) => {
    const deps = await deployment();
    const response = await handleApiRequest({ ...deps, runnerEnvironment: traceEnvironment() }, event, signal ? { signal } : {});
    logger.info('api', { action: (event as { action?: unknown } | null)?.action, ok: response.ok, ...(response.ok ? { runtime: response.runtime } : { error: response.error }) });
    return response;
  };
}

export const handler = observed(
  createHandler(
    cached(() => {
      const s = awsSettingsFromEnv();
      const inline = inlineFunctionsFromEnv();
      return { environment: s.environment, target: s.target, catalog: catalogOf(s), notify: notifyOf(s), launcher: new EcsFargateLauncher(s.ecs), ...(inline ? { inlineRuns: new LambdaInlineRunQueue(inline) } : {}) };
    }),
  ),
);

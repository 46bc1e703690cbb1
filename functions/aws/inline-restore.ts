/**
 * On-demand restores and verifies run inline (docs/inline-runs.md): the api function's
 * `restore` and `verify` requests, `{ "action": "restore", "job": …, "runId"?: …, "target": … }`,
 * answered once the run has ENDED, with the runner's exit code. The api function itself hands an
 * inline job's request here asynchronously, wrapped as `{ "source": "vaultra.api", "runId", "request" }`
 * (LambdaInlineRunQueue): the run is then recorded under the run id the api answered with, and
 * this answer goes to the log only. Same code as the inline backup
 * function's launcher, deployed under the restore identity (reads and decrypts backups, writes
 * none), so the write-only backup function never holds the right to read a backup. Every other
 * action belongs to the api function.
 */
import * as z from 'zod';
import { handleApiRequest, type ApiResponse } from '../../core/usecases/api-request.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import { runIdSchema } from '../../core/domain/run.js';
import { ON_DEMAND_INLINE_SOURCE } from '../../core/adapters/launchers/lambda-inline-run-queue.js';
import { awsSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { inlineLauncherFromEnv } from './shared/inline-launcher.js';
import { logger, observed, type InvocationOptions } from './shared/observability.js';
import { traceEnvironment } from './shared/trace-context.js';
import type { AwaitingLauncher } from './inline-backup.js';

const inlineActionSchema = z.looseObject({
  action: z.enum(['restore', 'verify'], { error: 'this function runs restores and verifies of inline jobs: send backup, list and status to the api function' }),
});

/** A request the api function queued, with the run id it answered its caller with. */
const queuedRequestSchema = z.strictObject({
  source: z.literal(ON_DEMAND_INLINE_SOURCE),
  runId: runIdSchema,
  request: inlineActionSchema,
});

/** The request, and the run id to record it as when the api function chose one. */
function requestOf(event: unknown): { readonly request: z.infer<typeof inlineActionSchema>; readonly runId?: string } {
  const queued = queuedRequestSchema.safeParse(event);
  return queued.success ? queued.data : { request: parseAtEdge(inlineActionSchema, event, 'request') };
}

export type InlineRestoreDeployment = Omit<LaunchingDeployment, 'launcher'> & { readonly launcher: AwaitingLauncher };

export function createHandler(deployment: () => Promise<InlineRestoreDeployment>) {
  return async (event: unknown, _context?: unknown, { signal }: InvocationOptions = {}): Promise<ApiResponse> => {
    const { request, runId } = requestOf(event);
    const deps = await deployment();
    const response = await handleApiRequest({ ...deps, runnerEnvironment: traceEnvironment() }, request, { ...(signal ? { signal } : {}), ...(runId ? { runId } : {}) });
    if (!response.ok || typeof response.taskId !== 'string') {
      logger.info('inline restore', { action: request.action, runId, ok: response.ok, ...(response.ok ? {} : { error: response.error }) });
      return response;
    }
    // The runner recorded the run itself; its exit says whether it did what was asked.
    const exit = deps.launcher.completion(response.taskId);
    const ok = exit.exitCode === 0;
    logger.info('inline restore', { action: response.action, runId: response.runId, taskId: exit.taskId, exitCode: exit.exitCode, ok });
    const { note: _note, ...answer } = response;
    return ok
      ? { ...answer, exitCode: 0 }
      : { ok: false, error: { kind: 'run-failed', message: `the inline ${response.action} exited with ${exit.exitCode ?? exit.stoppedReason ?? 'no exit code'}: its error is in this function's log` } };
  };
}

export const handler = observed(
  createHandler(
    cached(async () => {
      const s = awsSettingsFromEnv();
      return { environment: s.environment, target: s.target, catalog: catalogOf(s), notify: notifyOf(s), launcher: await inlineLauncherFromEnv() };
    }),
  ),
);

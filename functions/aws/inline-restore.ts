/**
 * On-demand restores and verifies run inline (docs/inline-runs.md): the api function's
 * `restore` and `verify` requests, `{ "action": "restore", "job": …, "runId"?: …, "target": … }`,
 * answered once the run has ENDED, with the runner's exit code. Same code as the inline backup
 * function's launcher, deployed under the restore identity (reads and decrypts backups, writes
 * none), so the write-only backup function never holds the right to read a backup. Every other
 * action belongs to the api function.
 */
import * as z from 'zod';
import { handleApiRequest, type ApiResponse } from '../../core/usecases/api-request.js';
import { parseAtEdge } from '../../core/domain/validate.js';
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

export type InlineRestoreDeployment = Omit<LaunchingDeployment, 'launcher'> & { readonly launcher: AwaitingLauncher };

export function createHandler(deployment: () => Promise<InlineRestoreDeployment>) {
  return async (event: unknown, _context?: unknown, { signal }: InvocationOptions = {}): Promise<ApiResponse> => {
    parseAtEdge(inlineActionSchema, event, 'request');
    const deps = await deployment();
    const response = await handleApiRequest({ ...deps, runnerEnvironment: traceEnvironment() }, event, signal ? { signal } : {});
    if (!response.ok || typeof response.taskId !== 'string') {
      logger.info('inline restore', { action: (event as { action: string }).action, ok: response.ok, ...(response.ok ? {} : { error: response.error }) });
      return response;
    }
    // The runner recorded the run itself; its exit says whether it did what was asked.
    const exit = deps.launcher.completion(response.taskId);
    const ok = exit.exitCode === 0;
    logger.info('inline restore', { action: response.action, taskId: exit.taskId, exitCode: exit.exitCode, ok });
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

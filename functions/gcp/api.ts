/**
 * On-demand use, an authenticated POST (`gcloud functions call vaultra-api --data '{…}'`): the same
 * `{ "action": "backup" | "restore" | "verify" | "list" | "status", "job": …, … }` as the AWS api
 * function, validated, answered with JSON. 200 for `ok: true`; for `ok: false`, 400 when the
 * request is wrong (config), 404 when the run is unknown, 409 when the job's lock is held, and
 * 502 when Cloud Run refused to start the runner.
 */
import { handleApiRequest, type ApiResponse } from '../../core/usecases/api-request.js';
import { cached, gcpSettingsFromEnv } from './shared/settings.js';
import { catalogOf, launcherOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { httpFunction, jsonBody } from './shared/http.js';
import { log } from './shared/log.js';
import { traceEnvironment } from './shared/trace-context.js';

const STATUS_OF_ERROR: Readonly<Record<string, number>> = { config: 400, usage: 400, 'not-found': 404, skipped: 409, duplicate: 409, conflict: 409, 'launch-failed': 502, launch: 502 };

export function createHandler(deployment: () => Promise<LaunchingDeployment>) {
  return httpFunction('api', async (request, { signal, trace }) => {
    const body = jsonBody(request);
    const deps = await deployment();
    const response: ApiResponse = await handleApiRequest({ ...deps, runnerEnvironment: traceEnvironment(trace) }, body, signal ? { signal } : {});
    const action = (body as { action?: unknown } | null)?.action;
    log(response.ok ? 'INFO' : 'WARNING', 'api', { action: typeof action === 'string' ? action : null, ok: response.ok, ...(response.ok ? {} : { error: response.error }) });
    return { status: response.ok ? 200 : (STATUS_OF_ERROR[response.error.kind] ?? 500), body: response };
  });
}

export const api = createHandler(
  cached(() => {
    const s = gcpSettingsFromEnv();
    return { environment: s.environment, target: s.target, catalog: catalogOf(s), notify: notifyOf(s), launcher: launcherOf(s) };
  }),
);

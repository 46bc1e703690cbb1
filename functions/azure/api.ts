/**
 * On-demand use: `POST /api/api` with `{ "action": "backup" | "restore" | "verify" | "list" |
 * "status", "job": …, "runId"?: …, "target"?: … }` — the same actions as AWS's api function,
 * answered with the same JSON.
 *
 * Authentication: the function is registered with `authLevel: 'function'`, so the host refuses
 * any call without the function's key (`x-functions-key` header). For Microsoft Entra ID
 * instead, turn on App Service Authentication (Easy Auth) for the function app, requiring an
 * Entra ID token from callers of an allowed app registration or group; the host then passes
 * the caller's identity (`x-ms-client-principal`), which this function logs with each request.
 *
 * Status codes: 200 for `ok: true`; for `ok: false`, 400 when the request is invalid (`config`),
 * 404 for an unknown run, 409 when the job's lock is held or the run exists, 502 when the
 * runner could not be started, 500 otherwise. The body is always the JSON answer.
 */
import type { HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { handleApiRequest, type ApiResponse } from '../../core/usecases/api-request.js';
import { azureSettingsFromEnv, cached } from './shared/settings.js';
import { catalogOf, credentialOf, launcherOf, notifyOf } from './shared/clients.js';
import type { LaunchingDeployment } from './shared/deployment-types.js';
import { alerting, logLine, traceEnvironment } from './shared/invocation.js';

const STATUS: Readonly<Record<string, number>> = { config: 400, usage: 400, 'not-found': 404, skipped: 409, duplicate: 409, conflict: 409, launch: 502, 'launch-failed': 502 };

export function statusFor(response: ApiResponse): number {
  return response.ok ? 200 : (STATUS[response.error.kind] ?? 500);
}

export function createHandler(deployment: () => Promise<LaunchingDeployment>) {
  return async (request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> => {
    let body: unknown;
    try {
      body = JSON.parse(await request.text());
    } catch {
      const response: ApiResponse = { ok: false, error: { kind: 'config', message: 'the request body is not JSON: send {"action": "backup" | "restore" | "verify" | "list" | "status", …}' } };
      return { status: 400, jsonBody: response };
    }
    const deps = await deployment();
    const runnerEnvironment = traceEnvironment(request.headers.get('traceparent'), context.traceContext?.traceParent);
    const response = await handleApiRequest({ ...deps, notify: alerting(deps.notify, context), runnerEnvironment }, body);
    const status = statusFor(response);
    const action = (body as { action?: unknown } | null)?.action;
    const line = logLine('api', { action, status, caller: request.user?.username ?? null, ...(response.ok ? {} : { error: response.error }) });
    if (response.ok) context.log(line);
    else context.warn(line);
    return { status, jsonBody: response };
  };
}

export const handler = createHandler(
  cached(() => {
    const s = azureSettingsFromEnv();
    return { environment: s.environment, target: s.target, catalog: catalogOf(s), notify: notifyOf(s), launcher: launcherOf(s, credentialOf(s)) };
  }),
);

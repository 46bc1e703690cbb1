import type { OnDemandResponse } from '../../ports/on-demand-api.js';
import { ConfigError, LaunchFailedError } from '../../errors.js';

/** The function's JSON answer, checked for the one field every answer has. */
export function parseAnswer(body: string, doing: string): OnDemandResponse {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new LaunchFailedError(`${doing} failed: the answer is not JSON (${body.replace(/\s+/g, ' ').slice(0, 80)})`, false);
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as { ok?: unknown }).ok !== 'boolean') {
    throw new LaunchFailedError(`${doing} failed: the answer is not the api function's (no "ok" field)`, false);
  }
  return parsed as OnDemandResponse;
}

/**
 * POSTs a request to an api function over HTTPS and reads its JSON answer, for the clouds whose
 * functions are HTTP endpoints (GCP, Azure). The functions answer refusals with a JSON body
 * and a 4xx/5xx status, which is an answer, not a failure; a status with no such body (the
 * platform's 401/403/404 in front of the function) is. `allowedBy` names what lets a caller in.
 */
export async function postRequest(url: string, headers: Readonly<Record<string, string>>, request: unknown, options: { readonly doing: string; readonly allowedBy: string; readonly signal?: AbortSignal }): Promise<OnDemandResponse> {
  const { doing } = options;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(request), ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new LaunchFailedError(`${doing} failed: could not reach ${new URL(url).host} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message})`, true, { cause: error });
  }
  const body = await response.text();
  if (response.status === 401 || response.status === 403) throw new ConfigError(`${doing} was refused (HTTP ${response.status}): ${options.allowedBy}`);
  if (response.status === 404 && !body.trimStart().startsWith('{')) throw new ConfigError(`${doing} failed: no function at ${url} (HTTP 404); deploy the environment, or set api: in the config to its URL`);
  return parseAnswer(body, doing);
}

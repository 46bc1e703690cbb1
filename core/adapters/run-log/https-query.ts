import { ConfigError, StorageError } from '../../errors.js';

/**
 * One authenticated JSON query over HTTPS (Cloud Logging's `entries:list`, Log Analytics'
 * `query`): both are REST calls a bearer token opens, so neither client library is loaded for
 * them. 401/403 say which permission is missing; other failures are a one-line `StorageError`
 * (retryable for 429 and 5xx).
 */
export async function queryJson(url: string, token: string, body: unknown, options: { readonly doing: string; readonly permission: string; readonly signal?: AbortSignal }): Promise<unknown> {
  const { doing } = options;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body), ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    throw new StorageError(`${doing} failed: could not reach ${new URL(url).host}`, true, { cause: error });
  }
  const text = await response.text();
  if (response.status === 401 || response.status === 403) throw new ConfigError(`${doing} was refused (HTTP ${response.status}): the caller needs ${options.permission}`);
  if (!response.ok) throw new StorageError(`${doing} failed: HTTP ${response.status} ${serviceMessage(text)}`, response.status === 429 || response.status >= 500);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new StorageError(`${doing} failed: the answer is not JSON`, false);
  }
}

/** The service's own error message (`{"error":{"message":…}}`, both APIs), cut to one short line. */
function serviceMessage(text: string): string {
  try {
    const message = (JSON.parse(text) as { error?: { message?: unknown } }).error?.message;
    return typeof message === 'string' ? `(${message.replace(/\s+/g, ' ').slice(0, 160)})` : '';
  } catch {
    return '';
  }
}

/** A bearer token for a scope or audience; rejects when there are no credentials. */
export type BearerToken = () => Promise<string>;

/** The token, or a `ConfigError` that says how to get credentials. */
export async function bearer(token: BearerToken, doing: string, howToLogIn: string): Promise<string> {
  try {
    return await token();
  } catch (error) {
    throw new ConfigError(`${doing} failed: no credentials (${((error as Error).message ?? String(error)).replace(/\s+/g, ' ').slice(0, 120)}); ${howToLogIn}`, { cause: error });
  }
}

import type { HttpFunction, Request, Response } from '@google-cloud/functions-framework';
import { ConfigError, oneLine, VaultraError } from '../../../core/errors.js';
import { redact } from '../../../core/domain/redact.js';
import { log } from './log.js';
import { traceContext, type TraceContext } from './trace-context.js';

/**
 * The HTTP side every GCP function shares.
 *
 * Authentication is the platform's, not this code's: the functions are Cloud Functions (gen2)
 * deployed without `allUsers` as invoker, so Cloud Run's front end refuses any request without
 * an identity token of a principal holding `roles/run.invoker` on the function before it reaches
 * this code. Cloud Scheduler calls with an OIDC token of its service account; an operator calls
 * the api function with `gcloud functions call` or `curl -H "Authorization: Bearer $(gcloud auth
 * print-identity-token)"`. Deployed with unauthenticated access allowed, these handlers would
 * accept anyone: the Terraform module must never grant `allUsers`/`allAuthenticatedUsers`, and
 * should keep ingress internal where Cloud Scheduler allows it.
 */
export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export interface Invocation {
  /** Aborted when the function is about to time out (functions-framework's `abortController`). */
  readonly signal: AbortSignal | undefined;
  readonly trace: TraceContext;
}

/**
 * An HTTP function: POST only, then `handle`. This is the one place errors become responses:
 * a `ConfigError` (a bad request, an unknown job) is a 400 with its message — redelivering the
 * same request cannot help — and anything else a 500, which Cloud Scheduler retries (every use
 * case here is safe to repeat). Each invocation logs one line.
 */
export function httpFunction(name: string, handle: (request: Request, invocation: Invocation) => Promise<Reply>): HttpFunction {
  return async (request: Request, response: Response) => {
    const trace = traceContext(request.headers);
    const traceField = trace.traceId ? { traceId: trace.traceId } : {};
    if (request.method !== 'POST') {
      response.status(405).set('allow', 'POST').json({ error: { kind: 'usage', message: `${name} takes POST requests, not ${request.method}` } });
      return;
    }
    let reply: Reply;
    try {
      reply = await handle(request, { signal: request.abortController?.signal, trace });
    } catch (error) {
      const status = error instanceof ConfigError ? 400 : 500;
      const message = redact(oneLine(error));
      log(status === 400 ? 'WARNING' : 'ERROR', `${name} failed`, { function: name, status, error: message, ...traceField });
      reply = { status, body: { error: { kind: error instanceof VaultraError ? error.kind : 'internal', message } } };
    }
    response.status(reply.status).json(reply.body);
  };
}

/**
 * The request's JSON body, however it was sent: functions-framework parses `application/json`
 * itself, but Cloud Scheduler sends `application/octet-stream` unless the job sets a
 * Content-Type, which arrives as a Buffer. An empty body is `{}`.
 */
export function jsonBody(request: Request): unknown {
  const body: unknown = request.body;
  let text: string;
  if (Buffer.isBuffer(body)) text = body.toString('utf8');
  else if (typeof body === 'string') text = body;
  else if (body === undefined || body === null) return {};
  else if (typeof body === 'object' && Object.keys(body).length === 0 && request.rawBody?.length) text = request.rawBody.toString('utf8');
  else return body;
  if (!text.trim()) return {};
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ConfigError('the request body is not JSON');
  }
}

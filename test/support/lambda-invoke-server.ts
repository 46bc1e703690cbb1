/**
 * Lambda's `Invoke` REST path (`POST /2015-03-31/functions/<name>/invocations`) served on
 * 127.0.0.1 by local handlers: moto and LocalStack run functions only in Docker containers, so a
 * test that invokes a function through the real Lambda client gets the REAL handler here (e.g.
 * functions/aws/api.ts or task-finished.ts `createHandler`, over moto's DynamoDB and S3).
 * - A name it does not serve answers as Lambda does (404 `ResourceNotFoundException`); `deny`
 *   answers 403 `AccessDeniedException`.
 * - An asynchronous invoke (`X-Amz-Invocation-Type: Event`) is answered 202 at once and the handler
 *   runs after, as Lambda queues it; `drained()` waits for every handler run so far. Every answer
 *   carries the invocation's request id (`x-amzn-RequestId`), as Lambda's do.
 * - A handler's error is answered 200 with `X-Amz-Function-Error`, the error as the payload.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type InvokedHandler = (event: unknown) => Promise<unknown>;

export interface ServedInvocation {
  readonly functionName: string;
  readonly invocationType: string;
  /** The request id the invoke was answered with: the invocation's id. */
  readonly requestId: string;
  readonly payload: unknown;
  /** What the handler returned, or the error it threw (as Lambda would log it). */
  readonly result: Promise<unknown>;
}

export interface LambdaInvokeServer {
  /** `AWS_ENDPOINT_URL_LAMBDA` for a process, `endpoint` for a client. */
  readonly endpoint: string;
  /** Invocations received, in order. */
  readonly invocations: ServedInvocation[];
  /** Waits for every handler run started so far, and returns their results in order. */
  drained(): Promise<unknown[]>;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export async function startLambdaInvokeServer(functions: Readonly<Record<string, InvokedHandler>>, options: { readonly deny?: ReadonlySet<string> } = {}): Promise<LambdaInvokeServer> {
  const invocations: ServedInvocation[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const functionName = decodeURIComponent(INVOKE_PATH.exec(request.url?.split('?')[0] ?? '')?.[1] ?? '');
      const requestId = randomUUID();
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': requestId, ...headers });
        response.end(body === undefined ? undefined : JSON.stringify(body));
      };
      if (options.deny?.has(functionName)) return answer(403, { message: `User is not authorized to perform: lambda:InvokeFunction on ${functionName}` }, { 'x-amzn-errortype': 'AccessDeniedException' });
      const handler = functions[functionName];
      if (request.method !== 'POST' || !handler) return answer(404, { Type: 'User', message: `Function not found: ${functionName}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
      const invocationType = String(request.headers['x-amz-invocation-type'] ?? 'RequestResponse');
      if (invocationType === 'Event') {
        answer(202, undefined);
        invocations.push({ functionName, invocationType, requestId, payload, result: handler(payload).catch((error: unknown) => error) });
        return;
      }
      const result = handler(payload);
      invocations.push({ functionName, invocationType, requestId, payload, result });
      result.then(
        (value) => answer(200, value, { 'x-amz-executed-version': '$LATEST' }),
        (error: Error) => answer(200, { errorType: error.name, errorMessage: error.message }, { 'x-amz-function-error': 'Unhandled' }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations,
    drained: () => Promise.all(invocations.map((invocation) => invocation.result)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

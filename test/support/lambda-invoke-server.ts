/**
 * Lambda's `Invoke` REST path (`POST /2015-03-31/functions/<name>/invocations`) served on
 * 127.0.0.1 by a local handler: moto stores functions but runs them only in Docker, so a test
 * that invokes "the api function" through the real Lambda client gets the real handler here
 * (functions/aws/api.ts `createHandler`, over moto's DynamoDB and S3). A name it does not serve
 * answers as Lambda does (404 `ResourceNotFoundException`); `deny` answers 403 `AccessDeniedException`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LambdaInvokeServer {
  /** `AWS_ENDPOINT_URL_LAMBDA` for a process, `endpoint` for a client. */
  readonly endpoint: string;
  /** Payloads received, in order. */
  readonly invocations: { readonly functionName: string; readonly payload: unknown }[];
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

export async function startLambdaInvokeServer(functions: Readonly<Record<string, (event: unknown) => Promise<unknown>>>, options: { readonly deny?: ReadonlySet<string> } = {}): Promise<LambdaInvokeServer> {
  const invocations: { functionName: string; payload: unknown }[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const functionName = decodeURIComponent(INVOKE_PATH.exec(request.url?.split('?')[0] ?? '')?.[1] ?? '');
      const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify(body));
      };
      if (options.deny?.has(functionName)) return answer(403, { message: `User is not authorized to perform: lambda:InvokeFunction on ${functionName}` }, { 'x-amzn-errortype': 'AccessDeniedException' });
      const handler = functions[functionName];
      if (request.method !== 'POST' || !handler) return answer(404, { Type: 'User', message: `Function not found: ${functionName}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
      const payload = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') as unknown;
      invocations.push({ functionName, payload });
      handler(payload).then(
        (result) => answer(200, result, { 'x-amz-executed-version': '$LATEST' }),
        // An unhandled error: Lambda answers 200 with X-Amz-Function-Error and the error as the payload.
        (error: Error) => answer(200, { errorType: error.name, errorMessage: error.message }, { 'x-amz-function-error': 'Unhandled' }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    invocations,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * The inline backup function's hand-off to task-finished (`LambdaRunSettler`), with the real SDK
 * client against a local HTTP endpoint on Lambda's Invoke path (no emulator here runs Lambda):
 * the request an asynchronous invoke makes, and which refusals are retried.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LambdaRunSettler, INLINE_SETTLE_SOURCE } from '../../core/adapters/settlement/lambda-run-settler.js';
import { LaunchFailedError } from '../../core/errors.js';
import { HttpReceiver } from '../support/http-receiver.js';

const RUN = { job: 'shop', runId: '20261206T030000.000Z-4f2a9c', taskId: 'inline:stream:20261206T030000.000Z-4f2a9c', exitCode: 0, stoppedAt: '2026-12-06T03:00:02.000Z' };
const FAST_RETRIES = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 };

describe('LambdaRunSettler: an asynchronous invoke of task-finished', () => {
  let lambda: HttpReceiver;
  const settler = () => new LambdaRunSettler('vaultra-prod-task-finished', { endpoint: lambda.url(), region: 'eu-west-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } }, FAST_RETRIES);

  beforeAll(async () => {
    lambda = await new HttpReceiver({ status: 202 }).start();
  });
  beforeEach(() => lambda.reset());
  afterAll(() => lambda.stop());

  it('sends one Event invoke of the function with the run\'s exit, shaped like the ECS event (source, detail)', async () => {
    await settler().handOff(RUN);
    expect(lambda.requests).toHaveLength(1);
    const [request] = lambda.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/2015-03-31/functions/vaultra-prod-task-finished/invocations' });
    expect(request!.headers['x-amz-invocation-type']).toBe('Event');
    expect(JSON.parse(request!.body)).toEqual({ source: INLINE_SETTLE_SOURCE, detail: RUN });
  });

  it('retries a throttled or failed invoke until Lambda accepts it', async () => {
    const throttled = { status: 429, headers: { 'x-amzn-errortype': 'TooManyRequestsException', 'content-type': 'application/json' }, body: '{"message":"Rate exceeded"}' };
    lambda.reply(throttled, { status: 500, headers: { 'x-amzn-errortype': 'ServiceException' }, body: '{}' });
    await settler().handOff(RUN);
    expect(lambda.requests).toHaveLength(3);
  });

  it('fails at once, naming the run and the function, when the role may not invoke it', async () => {
    lambda.reply({ status: 403, headers: { 'x-amzn-errortype': 'AccessDeniedException', 'content-type': 'application/json' }, body: '{"Message":"not authorized to perform: lambda:InvokeFunction"}' });
    const failure = settler().handOff(RUN);
    await expect(failure).rejects.toBeInstanceOf(LaunchFailedError);
    await expect(failure).rejects.toThrow(/cannot hand run shop\/20261206T030000\.000Z-4f2a9c to vaultra-prod-task-finished for settling: AccessDeniedException/);
    expect(lambda.requests).toHaveLength(1);
  });
});

/**
 * Hands on-demand runs of `runtime: inline` jobs from the api function to the inline functions by
 * an asynchronous Lambda invoke (`InvocationType: Event`, docs/inline-runs.md): Lambda queues the
 * event and answers 202 at once, so the api function answers with the run id while the run goes
 * on in a function with the tools layer and Lambda's full 15 minutes (the api function has 2).
 * The events carry `source: "vaultra.api"`, which the inline handlers tell from their other
 * callers (a schedule, a direct `aws lambda invoke`) by.
 *
 * The SDK is imported on the first order: the api function loads it only when it has one to send.
 */
import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { InlineRunOrder, InlineRunQueue } from '../../ports/inline-run-queue.js';
import { LaunchFailedError } from '../../errors.js';
import { awsErrorName, isTransientAwsError } from '../aws/aws-errors.js';

/** The `source` of an event the api function queued. */
export const ON_DEMAND_INLINE_SOURCE = 'vaultra.api';

/** What the inline backup function receives for an on-demand backup: the job, and the run id the caller was answered with. */
export interface OnDemandInlineBackupEvent {
  readonly source: typeof ON_DEMAND_INLINE_SOURCE;
  readonly job: string;
  readonly runId: string;
}

/** What the inline restore function receives for an on-demand restore or verify: the api request, and the run id to record it as. */
export interface OnDemandInlineRestoreEvent {
  readonly source: typeof ON_DEMAND_INLINE_SOURCE;
  readonly runId: string;
  readonly request: Readonly<Record<string, unknown>>;
}

export interface LambdaInlineRunQueueOptions {
  /** The inline backup function's name or ARN. */
  readonly backupFunction: string;
  /** The inline restore function's name or ARN. */
  readonly restoreFunction: string;
  /** A `LambdaClient` (tests), or the settings to build one with on the first order. */
  readonly client?: Pick<LambdaClient, 'send'> | LambdaClientConfig;
}

export class LambdaInlineRunQueue implements InlineRunQueue {
  #client: Pick<LambdaClient, 'send'> | undefined;
  readonly #clientConfig: LambdaClientConfig;

  constructor(private readonly options: LambdaInlineRunQueueOptions) {
    const { client } = options;
    if (client && typeof (client as Pick<LambdaClient, 'send'>).send === 'function') {
      this.#client = client as Pick<LambdaClient, 'send'>;
      this.#clientConfig = {};
    } else {
      // The SDK's own retries (3 attempts) stay on: a repeated delivery is harmless (the run id is fixed).
      this.#clientConfig = { ...(client as LambdaClientConfig | undefined) };
    }
  }

  async enqueue(order: InlineRunOrder, options: { readonly signal?: AbortSignal } = {}): Promise<{ readonly invocationId: string }> {
    const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
    const client = (this.#client ??= new LambdaClient(this.#clientConfig));
    const [functionName, event] = this.#addressed(order);
    try {
      const answer = await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) }), options.signal ? { abortSignal: options.signal } : {});
      // An asynchronous invocation runs under the request id Lambda answered the invoke with.
      return { invocationId: answer.$metadata.requestId ?? 'unknown' };
    } catch (error) {
      throw new LaunchFailedError(
        `cannot hand the ${order.action} of job ${order.job} to ${functionName}: ${awsErrorName(error) || 'error'}: ${(error as Error).message}; check that the api function's role may invoke it`,
        isTransientAwsError(error),
        { cause: error },
      );
    }
  }

  #addressed(order: InlineRunOrder): [string, OnDemandInlineBackupEvent | OnDemandInlineRestoreEvent] {
    if (order.action === 'backup') return [this.options.backupFunction, { source: ON_DEMAND_INLINE_SOURCE, job: order.job, runId: order.runId }];
    return [this.options.restoreFunction, { source: ON_DEMAND_INLINE_SOURCE, runId: order.runId, request: order.request }];
  }
}

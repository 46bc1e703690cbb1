/**
 * Hands an ended inline run to the task-finished function by an asynchronous Lambda invoke
 * (docs/inline-runs.md): Lambda queues the event and answers 202 at once, so the inline backup
 * function returns without waiting for the settling, and Lambda itself retries a settling that
 * throws (twice, as for every asynchronous invoke). The event is shaped like the ECS
 * task-stopped event task-finished already reads (`source`, `detail`), so its handler gains one
 * branch, not a second format.
 *
 * The SDK is imported on the first hand-off: the module costs nothing at cold start.
 */
import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { EndedRun, RunSettler } from '../../ports/run-settler.js';
import { LaunchFailedError } from '../../errors.js';
import { withRetries, type RetryPolicy } from '../retry.js';
import { awsErrorName, isTransientAwsError, regionOfArn } from '../aws/aws-errors.js';

/** The event's `source`: task-finished tells an inline hand-off from an ECS event (`aws.ecs`) by it. */
export const INLINE_SETTLE_SOURCE = 'vaultra.inline';

/** What task-finished receives from an inline backup function. */
export interface InlineSettleEvent {
  readonly source: typeof INLINE_SETTLE_SOURCE;
  readonly detail: EndedRun;
}

/**
 * Nothing else settles a run whose hand-off is lost (the watchdog fails only runs still pending
 * or running; the runner records its own end), so the invoke is tried for about half a minute:
 * throttling and a lost answer are retried, a missing function or permission is not.
 */
const HAND_OFF_RETRY_POLICY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 1_000, maxDelayMs: 10_000 };

type LambdaSender = Pick<LambdaClient, 'send'>;

export class LambdaRunSettler implements RunSettler {
  #client: LambdaSender | undefined;
  readonly #clientConfig: LambdaClientConfig;

  /**
   * @param functionName the task-finished function's name or ARN
   * @param client a `LambdaClient` (tests), or the settings to build one with on first hand-off.
   *   The SDK's own retries are off (`maxAttempts: 1`): this class retries, once, with its policy.
   */
  constructor(
    readonly functionName: string,
    client?: LambdaSender | LambdaClientConfig,
    private readonly policy: RetryPolicy = HAND_OFF_RETRY_POLICY,
  ) {
    if (client && typeof (client as LambdaSender).send === 'function') {
      this.#client = client as LambdaSender;
      this.#clientConfig = {};
    } else {
      const region = regionOfArn(functionName);
      this.#clientConfig = { maxAttempts: 1, ...(region ? { region } : {}), ...(client as LambdaClientConfig | undefined) };
    }
  }

  async handOff(run: EndedRun, options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    const { InvokeCommand, LambdaClient } = await import('@aws-sdk/client-lambda');
    const client = (this.#client ??= new LambdaClient(this.#clientConfig));
    const event: InlineSettleEvent = { source: INLINE_SETTLE_SOURCE, detail: run };
    const command = new InvokeCommand({ FunctionName: this.functionName, InvocationType: 'Event', Payload: Buffer.from(JSON.stringify(event)) });
    await withRetries(
      async () => {
        try {
          await client.send(command, options.signal ? { abortSignal: options.signal } : {});
        } catch (error) {
          throw new LaunchFailedError(`cannot hand run ${run.job}/${run.runId} to ${this.functionName} for settling: ${awsErrorName(error) || 'error'}: ${(error as Error).message}`, isTransientAwsError(error), { cause: error });
        }
      },
      { policy: this.policy, ...(options.signal ? { signal: options.signal } : {}) },
    );
  }
}

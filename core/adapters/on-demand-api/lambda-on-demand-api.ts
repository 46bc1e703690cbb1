import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { OnDemandApi, OnDemandRequest, OnDemandResponse } from '../../ports/on-demand-api.js';
import { ConfigError, LaunchFailedError } from '../../errors.js';
import { awsErrorName, genericAwsError } from '../aws/aws-errors.js';
import { parseAnswer } from './api-answer.js';

export interface LambdaOnDemandApiOptions {
  /** The environment's api function: its name (`vaultra-<env>-api`) or ARN. */
  readonly functionName: string;
  readonly region: string;
  /** @default a `LambdaClient` for `region` (endpoint and credentials from the SDK's settings) */
  readonly client?: Pick<LambdaClient, 'send'>;
}

/** Refusals that only the caller's setup can fix: the permission, or the function's name. */
const NOT_ALLOWED = new Set(['AccessDeniedException', 'AccessDenied', 'UnrecognizedClientException', 'ExpiredTokenException']);

/**
 * The AWS api function, called with a synchronous `Invoke` (`aws lambda invoke`; IAM decides:
 * `lambda:InvokeFunction` on the function). Callers import this module only for an AWS
 * environment (runner/tui/cloud-endpoints.ts), so nothing else loads the SDK. One attempt at the
 * SDK level: a backup sent twice would start two runs.
 */
export class LambdaOnDemandApi implements OnDemandApi {
  readonly endpoint: string;
  readonly #region: string;
  readonly #client: Pick<LambdaClient, 'send'>;

  constructor(options: LambdaOnDemandApiOptions) {
    this.endpoint = options.functionName;
    this.#region = options.region;
    this.#client = options.client ?? new LambdaClient({ region: options.region, maxAttempts: 1 });
  }

  async send(request: OnDemandRequest, signal?: AbortSignal): Promise<OnDemandResponse> {
    const doing = `invoking ${this.endpoint} (${request.action})`;
    let answer;
    try {
      answer = await this.#client.send(new InvokeCommand({ FunctionName: this.endpoint, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(request)) }), signal ? { abortSignal: signal } : {});
    } catch (error) {
      const name = awsErrorName(error);
      if (NOT_ALLOWED.has(name)) throw new ConfigError(`${doing} was refused (${name}): the caller needs lambda:InvokeFunction on it`, { cause: error });
      if (name === 'ResourceNotFoundException') throw new ConfigError(`${doing} failed: no such function in ${this.#region}; deploy the environment, or name the function with api: in the config`, { cause: error });
      throw genericAwsError(error, doing, 'Lambda');
    }
    const body = new TextDecoder().decode(answer.Payload ?? new Uint8Array());
    // An unhandled error in the function (a crash, a timeout) comes back as 200 with FunctionError set.
    if (answer.FunctionError) throw new LaunchFailedError(`${doing} failed: the function ended with ${answer.FunctionError} error ${errorMessageOf(body)}; see its CloudWatch log`, false);
    return parseAnswer(body, doing);
  }
}

function errorMessageOf(body: string): string {
  try {
    const { errorMessage } = JSON.parse(body) as { errorMessage?: unknown };
    return typeof errorMessage === 'string' ? `"${errorMessage.replace(/\s+/g, ' ').slice(0, 160)}"` : '';
  } catch {
    return '';
  }
}

/**
 * The on-demand API of a deployed environment (issue 19): the request the api function takes —
 * `aws lambda invoke`, an authenticated POST on GCP and Azure — sent from outside the cloud, so
 * that the console's actions in a cloud environment start the same runs a script would.
 * The shapes are those of `core/usecases/api-request.ts`, which answers them in the function.
 */

export type OnDemandRequest =
  | { readonly action: 'backup'; readonly job: string }
  | { readonly action: 'verify'; readonly job: string; readonly runId?: string }
  | {
      readonly action: 'restore';
      readonly job: string;
      readonly runId?: string;
      /** A secret reference, or a URL without password: the function refuses a password in a request. */
      readonly target: string;
      readonly tables?: readonly string[];
      readonly dryRun?: boolean;
      readonly force?: boolean;
    }
  | { readonly action: 'list'; readonly job?: string; readonly status?: string; readonly kind?: string; readonly limit?: number }
  | { readonly action: 'status'; readonly job: string; readonly runId?: string };

/** The function's JSON answer: `ok: true` with the action's fields, or the one-line error it refused with. */
export type OnDemandResponse =
  | ({ readonly ok: true; readonly action: string } & Readonly<Record<string, unknown>>)
  | { readonly ok: false; readonly error: { readonly kind: string; readonly message: string } };

export interface OnDemandApi {
  /** Where requests go, safe to print (a function name or URL, no key): the console shows it. */
  readonly endpoint: string;
  /**
   * Sends one request and resolves to the function's answer, refusals (`ok: false`) included.
   * Not idempotent: a backup or restore sent twice starts two runs, so callers do not retry it.
   * Rejects with a one-line `VaultraError` when the function cannot be reached or the caller is
   * not allowed to call it (`ConfigError`, naming the permission).
   */
  send(request: OnDemandRequest, signal?: AbortSignal): Promise<OnDemandResponse>;
}

import { GoogleAuth } from 'google-auth-library';
import type { OnDemandApi, OnDemandRequest, OnDemandResponse } from '../../ports/on-demand-api.js';
import { ConfigError, oneLine } from '../../errors.js';
import { postRequest } from './api-answer.js';

/** An OIDC identity token whose audience is `audience` (the function's URL). */
export type IdTokenSource = (audience: string) => Promise<string>;

export interface CloudFunctionOnDemandApiOptions {
  /** The api function's URL (`https://<region>-<project>.cloudfunctions.net/vaultra-<env>-api`). */
  readonly url: string;
  /** @default Application Default Credentials' ID token (a service account, or gcloud's with impersonation) */
  readonly idToken?: IdTokenSource;
}

/**
 * The GCP api function, an authenticated POST (`gcloud functions call`): Cloud Functions lets in
 * an identity token of a principal with `run.routes.invoke` (roles/run.invoker: the module's
 * `api_invokers`), whose audience is the function's URL.
 */
export class CloudFunctionOnDemandApi implements OnDemandApi {
  readonly endpoint: string;
  readonly #idToken: IdTokenSource;

  constructor(options: CloudFunctionOnDemandApiOptions) {
    this.endpoint = options.url;
    this.#idToken = options.idToken ?? applicationDefaultIdToken;
  }

  async send(request: OnDemandRequest, signal?: AbortSignal): Promise<OnDemandResponse> {
    const doing = `calling ${this.endpoint} (${request.action})`;
    const token = await this.#idToken(this.endpoint).catch((error: unknown) => {
      throw new ConfigError(`${doing} failed: no identity token for it (${oneLine(error).slice(0, 160)}); use a service account's credentials (GOOGLE_APPLICATION_CREDENTIALS) or gcloud auth application-default login --impersonate-service-account`, { cause: error });
    });
    return postRequest(this.endpoint, { authorization: `Bearer ${token}` }, request, { doing, allowedBy: 'the caller needs roles/run.invoker on the function (api_invokers in the Terraform module)', ...(signal ? { signal } : {}) });
  }
}

/** Callers import this module only for a GCP environment (runner/tui/cloud-endpoints.ts), so nothing else loads google-auth-library. */
async function applicationDefaultIdToken(audience: string): Promise<string> {
  const client = await new GoogleAuth().getIdTokenClient(audience);
  return client.idTokenProvider.fetchIdToken(audience);
}

import type { TokenCredential } from '@azure/identity';
import type { OnDemandApi, OnDemandRequest, OnDemandResponse } from '../../ports/on-demand-api.js';
import { ConfigError, oneLine } from '../../errors.js';
import { defaultAzureCredential } from '../azure/azure-credential.js';
import { postRequest } from './api-answer.js';

/** How a caller proves itself to the function app: its function key, or an Entra ID token (App Service Authentication). */
export type AzureApiAuth = { readonly functionKey: string } | { readonly entraScope: string; readonly credential?: TokenCredential };

export interface AzureFunctionOnDemandApiOptions {
  /** The api function's URL (`https://<function app host>/api/api`). */
  readonly url: string;
  readonly auth: AzureApiAuth;
}

/**
 * The Azure api function, a POST (`curl -H "x-functions-key: …"`): the host lets in a call with
 * the function's key (`authLevel: 'function'`), or, with Easy Auth turned on, an Entra ID token
 * for the app registration's scope. The key goes in a header only, never in the URL or a message.
 */
export class AzureFunctionOnDemandApi implements OnDemandApi {
  readonly endpoint: string;
  readonly #auth: AzureApiAuth;

  constructor(options: AzureFunctionOnDemandApiOptions) {
    this.endpoint = options.url;
    this.#auth = options.auth;
  }

  async send(request: OnDemandRequest, signal?: AbortSignal): Promise<OnDemandResponse> {
    const doing = `calling ${this.endpoint} (${request.action})`;
    return postRequest(this.endpoint, await this.#headers(doing), request, {
      doing,
      allowedBy: 'give the function key (VAULTRA_API_KEY) or an Entra ID token of an app registration the function app allows (VAULTRA_API_SCOPE)',
      ...(signal ? { signal } : {}),
    });
  }

  async #headers(doing: string): Promise<Record<string, string>> {
    const auth = this.#auth;
    if ('functionKey' in auth) return { 'x-functions-key': auth.functionKey };
    const token = await (auth.credential ?? defaultAzureCredential()).getToken(auth.entraScope).catch((error: unknown) => {
      throw new ConfigError(`${doing} failed: no Entra ID token for ${auth.entraScope} (${oneLine(error).slice(0, 160)}); az login, or give the function key in VAULTRA_API_KEY`, { cause: error });
    });
    if (!token) throw new ConfigError(`${doing} failed: no Entra ID token for ${auth.entraScope}; az login, or give the function key in VAULTRA_API_KEY`);
    return { authorization: `Bearer ${token.token}` };
  }
}

/**
 * The Entra ID credential every Azure adapter uses when no account key or SAS is given (Blob,
 * Table, Key Vault keys, signing and secrets, Container Apps).
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/identity';

let shared: TokenCredential | undefined;

/**
 * One `DefaultAzureCredential` per process, loaded on first use: `@azure/identity` (MSAL) is
 * only imported when a token is really needed, so account-key and emulator runs never load it,
 * and tokens are cached across clients.
 */
export function defaultAzureCredential(): TokenCredential {
  if (shared) return shared;
  let loaded: Promise<TokenCredential> | undefined;
  const load = () => (loaded ??= import('@azure/identity').then(({ DefaultAzureCredential }) => new DefaultAzureCredential()));
  shared = {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      return (await load()).getToken(scopes, options);
    },
  };
  return shared;
}

/**
 * How Vaultra reaches an Azure Storage account (Blob for backups, Table for the catalog):
 * which endpoint, and which credential. Credentials never come from the URL (URLs are printed
 * and stored in run records); they come from the environment, in this order:
 *
 * 1. `AZURE_STORAGE_CONNECTION_STRING` — the portal's connection string: an account key or a
 *    SAS, and optionally the `BlobEndpoint` / `TableEndpoint` (Azurite's
 *    `UseDevelopmentStorage=true` works too);
 * 2. `AZURE_STORAGE_KEY` — the account key of the account the URL names (the variable the `az`
 *    CLI reads), for emulators and scripts;
 * 3. otherwise Microsoft Entra ID through `DefaultAzureCredential` (managed identity, workload
 *    identity, `az login`…), which is what a deployed function uses.
 */
import type { TokenCredential } from '@azure/identity';
import { ConfigError } from '../../errors.js';
import { defaultAzureCredential } from './azure-credential.js';

export type AzureStorageService = 'blob' | 'table';

export type AzureStorageCredential =
  | { readonly kind: 'shared-key'; readonly accountName: string; readonly accountKey: string }
  | { readonly kind: 'sas'; readonly sas: string }
  | { readonly kind: 'token'; readonly credential: TokenCredential };

export interface AzureStorageAccess {
  /** The account's service URL, e.g. `https://acct.blob.core.windows.net` or Azurite's `http://127.0.0.1:10000/devstoreaccount1`. */
  readonly serviceUrl: string;
  readonly credential: AzureStorageCredential;
}

/** Azurite's well-known development account (public, documented by Microsoft). */
const DEVELOPMENT_ACCOUNT = 'devstoreaccount1';
const DEVELOPMENT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const DEVELOPMENT_PORTS: Record<AzureStorageService, number> = { blob: 10000, table: 10002 };

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

/** Checks an account name from a URL (3-24 lowercase letters and digits). */
export function checkAccountName(account: string, url: string): string {
  if (!ACCOUNT_NAME.test(account)) throw new ConfigError(`storage account "${account}" in ${url} is not an account name (3-24 lowercase letters and digits)`);
  return account;
}

/**
 * Parses an endpoint override given in a URL query (`?endpoint=`). It may not carry
 * credentials (user info, a SAS query): those belong in the environment.
 */
export function parseEndpoint(endpoint: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new ConfigError(`endpoint "${endpoint}" in ${url} is not a URL (e.g. http://127.0.0.1:10000/devstoreaccount1)`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new ConfigError(`endpoint of ${url} must be http(s)://, got ${parsed.protocol}`);
  if (parsed.username || parsed.password || parsed.search || parsed.hash) {
    throw new ConfigError(`endpoint of ${url} must be a plain service URL: credentials and SAS tokens go in AZURE_STORAGE_CONNECTION_STRING, never in the URL`);
  }
  return parsed.href.replace(/\/+$/, '');
}

/** `key=value;` pairs of a storage connection string; keys as written (case-insensitive lookup). */
export function parseConnectionString(text: string): ReadonlyMap<string, string> {
  const fields = new Map<string, string>();
  for (const part of text.split(';')) {
    const at = part.indexOf('=');
    if (at <= 0) continue;
    // SAS tokens and base64 keys contain "=": split on the first one only.
    fields.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  return fields;
}

/** The endpoint and credential for `account`'s `service`, from `endpointOverride` and the environment (see the module comment). */
export function azureStorageAccess(
  service: AzureStorageService,
  account: string,
  endpointOverride: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): AzureStorageAccess {
  const connectionString = env.AZURE_STORAGE_CONNECTION_STRING?.trim();
  if (connectionString) return fromConnectionString(service, account, endpointOverride, parseConnectionString(connectionString));

  const serviceUrl = endpointOverride ?? `https://${account}.${service}.core.windows.net`;
  const accountKey = env.AZURE_STORAGE_KEY?.trim();
  if (accountKey) {
    const named = env.AZURE_STORAGE_ACCOUNT?.trim();
    if (named && named !== account) throw new ConfigError(`AZURE_STORAGE_KEY is for account ${named} (AZURE_STORAGE_ACCOUNT), but the URL names ${account}`);
    return { serviceUrl, credential: { kind: 'shared-key', accountName: account, accountKey } };
  }
  checkTokenEndpoint(serviceUrl);
  return { serviceUrl, credential: { kind: 'token', credential: defaultAzureCredential() } };
}

function fromConnectionString(
  service: AzureStorageService,
  account: string,
  endpointOverride: string | undefined,
  fields: ReadonlyMap<string, string>,
): AzureStorageAccess {
  if (fields.get('usedevelopmentstorage')?.toLowerCase() === 'true') {
    if (account !== DEVELOPMENT_ACCOUNT) throw new ConfigError(`AZURE_STORAGE_CONNECTION_STRING is UseDevelopmentStorage=true (account ${DEVELOPMENT_ACCOUNT}), but the URL names ${account}`);
    const serviceUrl = endpointOverride ?? `http://127.0.0.1:${DEVELOPMENT_PORTS[service]}/${DEVELOPMENT_ACCOUNT}`;
    return { serviceUrl, credential: { kind: 'shared-key', accountName: DEVELOPMENT_ACCOUNT, accountKey: DEVELOPMENT_KEY } };
  }
  const accountName = fields.get('accountname');
  if (accountName && accountName !== account) throw new ConfigError(`AZURE_STORAGE_CONNECTION_STRING is for account ${accountName}, but the URL names ${account}`);
  const fromString = fields.get(`${service}endpoint`);
  const protocol = fields.get('defaultendpointsprotocol') ?? 'https';
  const suffix = fields.get('endpointsuffix') ?? 'core.windows.net';
  const serviceUrl = endpointOverride ?? (fromString ? parseEndpoint(fromString, 'AZURE_STORAGE_CONNECTION_STRING') : `${protocol}://${account}.${service}.${suffix}`);
  const accountKey = fields.get('accountkey');
  if (accountKey) return { serviceUrl, credential: { kind: 'shared-key', accountName: account, accountKey } };
  const sas = fields.get('sharedaccesssignature');
  if (sas) return { serviceUrl, credential: { kind: 'sas', sas: sas.replace(/^\?/, '') } };
  throw new ConfigError('AZURE_STORAGE_CONNECTION_STRING has neither AccountKey nor SharedAccessSignature');
}

/** A bearer token sent over plain HTTP could be replayed by anyone on the path: only a local emulator may use http. */
function checkTokenEndpoint(serviceUrl: string): void {
  const url = new URL(serviceUrl);
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol === 'http:' && !loopback) {
    throw new ConfigError(`endpoint ${serviceUrl} is plain http: Entra ID tokens are only sent over https (use an account key in AZURE_STORAGE_CONNECTION_STRING for an http emulator)`);
  }
}

/** Whether the service URL is plain http (emulators): the Table SDK then needs `allowInsecureConnection`. */
export function isInsecure(serviceUrl: string): boolean {
  return serviceUrl.startsWith('http:');
}

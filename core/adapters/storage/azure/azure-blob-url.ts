/**
 * `azblob://<account>/<container>/<prefix>?endpoint=…&immutabilityDays=…&immutabilityMode=…&legalHold=true`
 * parsed once, strictly: an unknown option fails instead of being ignored.
 */
import { ConfigError } from '../../../errors.js';
import { checkAccountName, parseEndpoint } from '../../azure/azure-storage-access.js';

export type ImmutabilityMode = 'unlocked' | 'locked';

/**
 * Version-level immutability (WORM) for every object written: the container (or account) must
 * have version-level immutability support enabled. `unlocked` policies can still be shortened
 * or removed by an administrator; `locked` ones cannot, not even by Microsoft support.
 */
export interface BlobImmutability {
  /** Each object is immutable this many days after it is written. */
  readonly retentionDays?: number;
  /** @default 'unlocked' */
  readonly mode: ImmutabilityMode;
  /** A legal hold: immutable until the hold is cleared, whatever the retention. */
  readonly legalHold: boolean;
}

export interface AzureBlobLocation {
  readonly account: string;
  readonly container: string;
  /** Empty, or ends with `/`. */
  readonly prefix: string;
  /** The account's blob service URL when the URL overrides it (emulators, sovereign clouds). */
  readonly endpoint?: string;
  readonly immutability?: BlobImmutability;
}

const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const OPTIONS = new Set(['endpoint', 'immutabilityDays', 'immutabilityMode', 'legalHold']);

export function parseAzureBlobUrl(url: string): AzureBlobLocation {
  const match = /^azblob:\/\/([^/?#]*)\/?([^/?#]*)\/?([^?#]*)(?:\?([^#]*))?$/i.exec(url);
  if (!match) throw new ConfigError(`storage URL ${url} is not azblob://<account>/<container>/<prefix>`);
  const [, account = '', container = '', path = '', query = ''] = match;
  if (account.includes('@') || account.includes(':')) {
    throw new ConfigError(`storage URL ${url.replace(/\/\/[^/]*@/, '//***@')} carries credentials: put them in AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_KEY, never in the URL`);
  }
  checkAccountName(account, url);
  if (!CONTAINER_NAME.test(container)) {
    throw new ConfigError(`container "${container}" in ${url} is not a container name (3-63 lowercase letters, digits and single hyphens)`);
  }
  const prefix = decodeURIComponent(path).replace(/^\/+|\/+$/g, '');
  const params = new URLSearchParams(query);
  for (const name of params.keys()) {
    if (!OPTIONS.has(name)) throw new ConfigError(`unknown option "${name}" in ${url} (known: ${[...OPTIONS].join(', ')})`);
  }
  const endpoint = params.get('endpoint');
  return {
    account,
    container,
    prefix: prefix ? `${prefix}/` : '',
    ...(endpoint ? { endpoint: parseEndpoint(endpoint, url) } : {}),
    ...immutabilityOf(params, url),
  };
}

function immutabilityOf(params: URLSearchParams, url: string): { immutability?: BlobImmutability } {
  const days = params.get('immutabilityDays');
  const mode = params.get('immutabilityMode');
  const hold = params.get('legalHold');
  if (days === null && mode === null && hold === null) return {};
  let retentionDays: number | undefined;
  if (days !== null) {
    retentionDays = Number(days);
    if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 146_000) {
      throw new ConfigError(`immutabilityDays in ${url} must be a whole number of days from 1 to 146000, got "${days}"`);
    }
  }
  if (mode !== null && mode !== 'unlocked' && mode !== 'locked') throw new ConfigError(`immutabilityMode in ${url} must be unlocked or locked, got "${mode}"`);
  if (mode !== null && retentionDays === undefined) throw new ConfigError(`immutabilityMode in ${url} needs immutabilityDays`);
  if (hold !== null && hold !== 'true' && hold !== 'false') throw new ConfigError(`legalHold in ${url} must be true or false, got "${hold}"`);
  return { immutability: { ...(retentionDays !== undefined ? { retentionDays } : {}), mode: mode ?? 'unlocked', legalHold: hold === 'true' } };
}

/** The URL back, without credentials (there never are any): what `location` prints and run records store. */
export function formatAzureBlobUrl(location: AzureBlobLocation): string {
  const base = `azblob://${location.account}/${location.container}${location.prefix ? `/${location.prefix.replace(/\/$/, '')}` : ''}`;
  // Written out by hand, not with URLSearchParams: an endpoint stays readable (it has no "&" or "#").
  const params: string[] = [];
  if (location.endpoint) params.push(`endpoint=${location.endpoint}`);
  const { immutability } = location;
  if (immutability?.retentionDays !== undefined) params.push(`immutabilityDays=${immutability.retentionDays}`, `immutabilityMode=${immutability.mode}`);
  if (immutability?.legalHold) params.push('legalHold=true');
  return params.length > 0 ? `${base}?${params.join('&')}` : base;
}

/**
 * `gs://bucket/prefix?endpoint=…&retentionDays=…&retentionMode=…&eventBasedHold=…&chunkSizeMiB=…`,
 * parsed once and strictly: an unknown or malformed option fails with a message naming it.
 * Credentials never come from the URL: Application Default Credentials find them (a service
 * account on Cloud Run, `GOOGLE_APPLICATION_CREDENTIALS`, `gcloud auth application-default login`).
 */
import { ConfigError } from '../../../errors.js';

export type ObjectRetentionMode = 'Unlocked' | 'Locked';

export interface GcsUrlSettings {
  readonly bucket: string;
  /** Name prefix of every object, `''` or ending in `/`. */
  readonly prefix: string;
  /** `gs://bucket/prefix`, without the query: printable and stable. */
  readonly location: string;
  /**
   * API endpoint override (an emulator, a private endpoint), from the URL or
   * `STORAGE_EMULATOR_HOST`. A plain `http://` endpoint is taken for an emulator: no credentials
   * are looked up or sent to it.
   */
  readonly endpoint?: string;
  /** Object retention (the bucket must have object retention enabled) applied to every object written. */
  readonly retention?: { readonly days: number; readonly mode: ObjectRetentionMode };
  /** Place an event-based hold on every object written (released by whoever runs retention). */
  readonly eventBasedHold: boolean;
  /** Bytes per resumable-upload request: a multiple of 256 KiB. */
  readonly chunkSizeBytes?: number;
}

const OPTIONS = ['endpoint', 'retentionDays', 'retentionMode', 'eventBasedHold', 'chunkSizeMiB'] as const;
/** Cloud Storage bucket names: 3-63 characters (up to 222 with dots), lowercase, digits, `-`, `_`, `.`. */
const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;
const MAX_CHUNK_MIB = 1024;

/** Reads the URL; `env` supplies `STORAGE_EMULATOR_HOST`, which Google's own clients honour too. */
export function parseGcsUrl(url: string, env: NodeJS.ProcessEnv = process.env): GcsUrlSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`storage URL ${JSON.stringify(redactQuery(url))} is not a URL: use gs://<bucket>/<prefix>`);
  }
  if (parsed.protocol !== 'gs:') throw new ConfigError(`storage URL ${redactQuery(url)} is not a gs:// URL`);
  if (parsed.username || parsed.password) {
    throw new ConfigError('gs:// URLs never carry credentials: Application Default Credentials provide them (GOOGLE_APPLICATION_CREDENTIALS, a service account)');
  }
  const bucket = parsed.hostname;
  if (!BUCKET.test(bucket) || bucket.includes('..') || (!bucket.includes('.') && bucket.length > 63)) {
    throw new ConfigError(`gs:// bucket name ${JSON.stringify(bucket)} is not valid (3-63 lowercase letters, digits, "-", "_", ".")`);
  }
  if (parsed.port) throw new ConfigError(`gs://${bucket}:${parsed.port}: a bucket has no port; use ?endpoint=http://host:port for an emulator`);
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  if (path.split('/').some((part) => part === '.' || part === '..') || path.includes('//')) {
    throw new ConfigError(`gs://${bucket}/${path}: the prefix must be plain folder names separated by single slashes`);
  }
  const prefix = path ? `${path}/` : '';

  for (const name of parsed.searchParams.keys()) {
    if (!(OPTIONS as readonly string[]).includes(name)) throw new ConfigError(`unknown gs:// option "${name}" (accepted: ${OPTIONS.join(', ')})`);
  }
  const query = (name: (typeof OPTIONS)[number]): string | undefined => {
    const values = parsed.searchParams.getAll(name);
    if (values.length > 1) throw new ConfigError(`gs:// option "${name}" is given ${values.length} times`);
    return values[0];
  };

  const endpoint = checkEndpoint(query('endpoint') ?? env.STORAGE_EMULATOR_HOST);

  const days = query('retentionDays');
  const mode = query('retentionMode');
  let retention: GcsUrlSettings['retention'];
  if (days !== undefined) {
    const n = Number(days);
    if (!/^\d+$/.test(days) || n < 1 || n > 36_500) throw new ConfigError(`gs:// retentionDays must be a whole number of days from 1 to 36500, got ${JSON.stringify(days)}`);
    if (mode !== undefined && mode !== 'Unlocked' && mode !== 'Locked') throw new ConfigError(`gs:// retentionMode must be Unlocked or Locked, got ${JSON.stringify(mode)}`);
    retention = { days: n, mode: (mode as ObjectRetentionMode | undefined) ?? 'Unlocked' };
  } else if (mode !== undefined) {
    throw new ConfigError('gs:// retentionMode needs retentionDays (how long each object is retained)');
  }

  const hold = query('eventBasedHold');
  if (hold !== undefined && hold !== 'true' && hold !== 'false') throw new ConfigError(`gs:// eventBasedHold must be true or false, got ${JSON.stringify(hold)}`);

  const chunkMiB = query('chunkSizeMiB');
  let chunkSizeBytes: number | undefined;
  if (chunkMiB !== undefined) {
    const n = Number(chunkMiB);
    if (!/^\d+$/.test(chunkMiB) || n < 1 || n > MAX_CHUNK_MIB) throw new ConfigError(`gs:// chunkSizeMiB must be a whole number from 1 to ${MAX_CHUNK_MIB}, got ${JSON.stringify(chunkMiB)}`);
    chunkSizeBytes = n * 2 ** 20;
  }

  return {
    bucket,
    prefix,
    location: `gs://${bucket}${path ? `/${path}` : ''}`,
    ...(endpoint ? { endpoint } : {}),
    ...(retention ? { retention } : {}),
    eventBasedHold: hold === 'true',
    ...(chunkSizeBytes ? { chunkSizeBytes } : {}),
  };
}

/** `STORAGE_EMULATOR_HOST` is often written without a scheme (`localhost:4443`): that means http. */
function checkEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined || endpoint === '') return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint) ? endpoint : `http://${endpoint}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`Cloud Storage endpoint ${JSON.stringify(endpoint)} is not a URL (use http://host:port or https://host)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`Cloud Storage endpoint ${url.origin} must be http:// or https://`);
  if (url.username || url.password) throw new ConfigError('a Cloud Storage endpoint URL never carries credentials');
  // Google's clients take the host root; a path such as /storage/v1 is added per request.
  return url.origin;
}

/** The URL as it may be printed in an error: without its query (which could hold anything). */
function redactQuery(url: string): string {
  return url.replace(/\?.*$/, '');
}

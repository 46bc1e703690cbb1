/**
 * `s3://bucket/prefix?endpoint=…&region=…&forcePathStyle=…&retentionDays=…&objectLockMode=…&partSizeMiB=…`,
 * parsed once and strictly: an unknown or malformed option fails with a message naming it.
 * Credentials never come from the URL (a user:password part is refused): the AWS SDK's default
 * chain finds them (environment, profile, SSO, container or instance role).
 */
import { ConfigError } from '../../../errors.js';
import { S3_PART_LIMITS } from '../part-sizing.js';

export type ObjectLockMode = 'GOVERNANCE' | 'COMPLIANCE';

export interface S3UrlSettings {
  readonly bucket: string;
  /** Key prefix of every object, `''` or ending in `/`. */
  readonly prefix: string;
  /** `s3://bucket/prefix`, without the query: printable and stable. */
  readonly location: string;
  /** Endpoint override (emulator, S3-compatible store), from the URL or `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Path-style addressing; defaults to true when an endpoint is overridden (most S3-compatible stores need it). */
  readonly forcePathStyle: boolean;
  /** Object Lock retention applied to every object written, when set. */
  readonly retention?: { readonly days: number; readonly mode: ObjectLockMode };
  /** First part size of multipart uploads. */
  readonly partSizeBytes?: number;
}

const OPTIONS = ['endpoint', 'region', 'forcePathStyle', 'retentionDays', 'objectLockMode', 'partSizeMiB'] as const;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Reads the URL; `env` supplies the endpoint variables the AWS SDKs read. */
export function parseS3Url(url: string, env: NodeJS.ProcessEnv = process.env): S3UrlSettings {
  // URL parsing resolves `..` away: look at the path as written.
  const writtenPath = /^s3:\/\/[^/?#]*(\/[^?#]*)?/i.exec(url)?.[1] ?? '';
  if (writtenPath.split('/').some((part) => part === '.' || part === '..' || /^%2e(%2e)?$/i.test(part))) {
    throw new ConfigError(`storage URL ${redactQuery(url)}: the prefix must be plain folder names separated by single slashes`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`storage URL ${JSON.stringify(redactQuery(url))} is not a URL: use s3://<bucket>/<prefix>`);
  }
  if (parsed.protocol !== 's3:') throw new ConfigError(`storage URL ${redactQuery(url)} is not an s3:// URL`);
  if (parsed.username || parsed.password) {
    throw new ConfigError('s3:// URLs never carry credentials: the AWS default chain provides them (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, a role)');
  }
  const bucket = parsed.hostname;
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new ConfigError(`s3:// bucket name ${JSON.stringify(bucket)} is not valid (3-63 lowercase letters, digits, dots, hyphens)`);
  }
  if (parsed.port) throw new ConfigError(`s3://${bucket}:${parsed.port}: a bucket has no port; use ?endpoint=http://host:port for an S3-compatible store`);
  const path = decodeURIComponent(parsed.pathname).replace(/^\/+/, '').replace(/\/+$/, '');
  if (path.split('/').some((part) => part === '.' || part === '..') || path.includes('//')) {
    throw new ConfigError(`s3://${bucket}/${path}: the prefix must be plain folder names separated by single slashes`);
  }
  const prefix = path ? `${path}/` : '';

  for (const name of parsed.searchParams.keys()) {
    if (!(OPTIONS as readonly string[]).includes(name)) throw new ConfigError(`unknown s3:// option "${name}" (accepted: ${OPTIONS.join(', ')})`);
  }
  const query = (name: (typeof OPTIONS)[number]): string | undefined => {
    const values = parsed.searchParams.getAll(name);
    if (values.length > 1) throw new ConfigError(`s3:// option "${name}" is given ${values.length} times`);
    return values[0];
  };

  const endpoint = checkEndpoint(query('endpoint') ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL);
  const region = query('region');
  if (region !== undefined && !/^[a-z0-9-]{2,32}$/.test(region)) throw new ConfigError(`s3:// region ${JSON.stringify(region)} is not a region name`);
  const pathStyle = query('forcePathStyle');
  if (pathStyle !== undefined && pathStyle !== 'true' && pathStyle !== 'false') throw new ConfigError(`s3:// forcePathStyle must be true or false, got ${JSON.stringify(pathStyle)}`);

  const days = query('retentionDays');
  const mode = query('objectLockMode');
  let retention: S3UrlSettings['retention'];
  if (days !== undefined) {
    const n = Number(days);
    if (!/^\d+$/.test(days) || n < 1 || n > 36_500) throw new ConfigError(`s3:// retentionDays must be a whole number of days from 1 to 36500, got ${JSON.stringify(days)}`);
    if (mode !== undefined && mode !== 'GOVERNANCE' && mode !== 'COMPLIANCE') throw new ConfigError(`s3:// objectLockMode must be GOVERNANCE or COMPLIANCE, got ${JSON.stringify(mode)}`);
    retention = { days: n, mode: (mode as ObjectLockMode | undefined) ?? 'GOVERNANCE' };
  } else if (mode !== undefined) {
    throw new ConfigError('s3:// objectLockMode needs retentionDays (how long each object stays locked)');
  }

  const partMiB = query('partSizeMiB');
  let partSizeBytes: number | undefined;
  if (partMiB !== undefined) {
    const n = Number(partMiB);
    const min = S3_PART_LIMITS.minPartBytes / 2 ** 20;
    const max = S3_PART_LIMITS.maxPartBytes / 2 ** 20;
    if (!/^\d+$/.test(partMiB) || n < min || n > max) throw new ConfigError(`s3:// partSizeMiB must be a whole number from ${min} to ${max}, got ${JSON.stringify(partMiB)}`);
    partSizeBytes = n * 2 ** 20;
  }

  return {
    bucket,
    prefix,
    location: `s3://${bucket}${path ? `/${path}` : ''}`,
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    forcePathStyle: pathStyle === undefined ? endpoint !== undefined : pathStyle === 'true',
    ...(retention ? { retention } : {}),
    ...(partSizeBytes ? { partSizeBytes } : {}),
  };
}

/** What `formatS3Url` writes: a bucket, its prefix, and the options a deployment sets. */
export interface S3UrlParts {
  readonly bucket: string;
  /** Key prefix, with or without a trailing slash. */
  readonly prefix: string;
  readonly region?: string;
  readonly retention?: { readonly days: number; readonly mode: ObjectLockMode };
}

/**
 * The `s3://` URL `parseS3Url` reads back into the same bucket, prefix, region and retention: a
 * deployment builds the URL its functions and runner tasks use with this, so an option cannot
 * be lost on the way (a locked bucket written and pruned without `retentionDays` hides locked
 * backups behind delete markers instead of refusing to delete them).
 */
export function formatS3Url(parts: S3UrlParts): string {
  const prefix = parts.prefix.replace(/^\/+|\/+$/g, '');
  const params: string[] = [];
  if (parts.region) params.push(`region=${parts.region}`);
  if (parts.retention) params.push(`retentionDays=${parts.retention.days}`, `objectLockMode=${parts.retention.mode}`);
  return `s3://${parts.bucket}${prefix ? `/${prefix}` : ''}${params.length > 0 ? `?${params.join('&')}` : ''}`;
}

function checkEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined || endpoint === '') return undefined;
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(`S3 endpoint ${JSON.stringify(endpoint)} is not a URL (use http://host:port or https://host)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`S3 endpoint ${url.origin} must be http:// or https://`);
  if (url.username || url.password) throw new ConfigError('an S3 endpoint URL never carries credentials: the AWS default chain provides them');
  return endpoint.replace(/\/+$/, '');
}

/** The URL as it may be printed in an error: without its query (which could hold anything). */
function redactQuery(url: string): string {
  return url.replace(/\?.*$/, '');
}

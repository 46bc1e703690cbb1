import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import { ConfigError, IntegrityError, NotFoundError, StorageError, oneLine, type VaultraError } from '../../errors.js';
import { crc32c } from '../gcp/crc32c.js';
import { abortable } from '../abortable.js';
import { GrpcCode } from '../gcp/grpc-calls.js';
import { lazyGoogleClient } from '../gcp/google-credentials.js';

const PREFIX = 'secret+gcp://';
/**
 * `projects/<project>[/locations/<location>]/secrets/<secret>[/versions/<version>]`: a project id
 * (or number), a secret id of letters, digits, `_` and `-`, and a version number, `latest` or an
 * alias. The location form names a regional secret.
 */
const SECRET_NAME =
  /^projects\/([a-z0-9.:-]{1,100})(?:\/locations\/([a-z0-9-]{1,63}))?\/secrets\/([A-Za-z0-9_-]{1,255})(?:\/versions\/(latest|[1-9][0-9]{0,18}|[A-Za-z][A-Za-z0-9_-]{0,62}))?$/;

/** A parsed `secret+gcp://` reference. */
export interface GcpSecretReference {
  /** The secret version's resource name, as `AccessSecretVersion` takes it (`…/versions/latest` by default). */
  readonly versionName: string;
  /** A regional secret's location: it is read from that region's endpoint. */
  readonly location?: string;
}

/**
 * Parses `secret+gcp://projects/<p>/secrets/<s>[/versions/<v>]` (or a regional
 * `projects/<p>/locations/<l>/secrets/<s>…`). Throws `ConfigError` for anything else.
 */
export function parseGcpSecretReference(reference: string): GcpSecretReference {
  const malformed = (why: string): ConfigError =>
    new ConfigError(`malformed secret reference ${reference}: ${why}; expected secret+gcp://projects/<project>/secrets/<secret>[/versions/<version>]`);
  if (!reference.toLowerCase().startsWith(PREFIX)) throw malformed('not a secret+gcp:// reference');
  const name = reference.slice(PREFIX.length);
  if (/[?#]/.test(name)) throw malformed('it takes no query or fragment');
  const match = SECRET_NAME.exec(name);
  if (!match) throw malformed('not a Secret Manager secret or version name');
  const [, , location, , version] = match;
  return { versionName: version ? name : `${name}/versions/latest`, ...(location ? { location } : {}) };
}

/** An `int64` field (`dataCrc32c`), as the client returns it: a number, a decimal string or a `Long`. */
type Int64 = number | string | { toString(): string };

/** What the resolver needs of `SecretManagerServiceClient` (tests hand in a mock: Secret Manager has no emulator). */
export interface SecretManagerClientLike {
  accessSecretVersion(request: { name: string }): Promise<[{ name?: string | null; payload?: { data?: Uint8Array | string | null; dataCrc32c?: Int64 | null } | null }, ...unknown[]]>;
}

export interface GcpSecretManagerResolverOptions {
  /** The client for a location (`undefined`: the global endpoint). @default a cached `SecretManagerServiceClient` per location */
  readonly clientFor?: (location: string | undefined) => SecretManagerClientLike;
}

/**
 * `secret+gcp://…`: a secret version from Google Cloud Secret Manager (`latest` unless the
 * reference names one) — a database URL, or the RDS-style JSON shape — returned exactly as
 * stored. The payload's CRC32C is checked when Secret Manager sends one; a payload that is not
 * UTF-8 text is refused. Credentials come from Application Default Credentials.
 */
export class GcpSecretManagerResolver implements SecretResolver {
  readonly scheme = 'secret+gcp';
  readonly #clients = new Map<string, () => Promise<SecretManagerClientLike>>();
  readonly #clientFor: ((location: string | undefined) => SecretManagerClientLike) | undefined;

  constructor(options: GcpSecretManagerResolverOptions = {}) {
    this.#clientFor = options.clientFor;
  }

  async resolve(reference: string, signal?: AbortSignal): Promise<string> {
    const { versionName, location } = parseGcpSecretReference(reference);
    signal?.throwIfAborted();
    let answer;
    try {
      [answer] = await abortable((await this.#client(location)).accessSecretVersion({ name: versionName }), signal);
    } catch (error) {
      throw translate(error, versionName);
    }
    const data = answer.payload?.data;
    if (data === null || data === undefined) throw new NotFoundError(`Google Cloud secret ${versionName} has no value`);
    const bytes = typeof data === 'string' ? Buffer.from(data, 'base64') : data;
    const expected = int64(answer.payload?.dataCrc32c);
    if (expected !== undefined && expected !== crc32c(bytes)) {
      throw new IntegrityError(`Google Cloud secret ${versionName} was damaged in transit (its CRC32C does not match); try again`);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new ConfigError(`Google Cloud secret ${versionName} is not UTF-8 text: Vaultra reads text secrets only (a database URL or the RDS JSON shape)`);
    }
  }

  #client(location: string | undefined): Promise<SecretManagerClientLike> {
    let client = this.#clients.get(location ?? '');
    if (!client) {
      const clientFor = this.#clientFor;
      const given = clientFor ? Promise.resolve(clientFor(location)) : undefined;
      // A regional secret is served by its region's endpoint only.
      client = given
        ? () => given
        : lazyGoogleClient(() => new SecretManagerServiceClient(location ? { apiEndpoint: `secretmanager.${location}.rep.googleapis.com` } : {}) satisfies SecretManagerClientLike);
      this.#clients.set(location ?? '', client);
    }
    return client();
  }
}


/** SDK errors → NotFound / Config / a storage-like transient error; messages name the secret, never a value. */
function translate(error: unknown, versionName: string): VaultraError | Error {
  if (error instanceof Error && error.name === 'AbortError') return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const detail = oneLine((error as { details?: unknown } | undefined)?.details || error).slice(0, 300);
  const secret = `Google Cloud secret ${versionName}`;
  switch (code) {
    case GrpcCode.NOT_FOUND:
      return new NotFoundError(`${secret} was not found (check the project, secret and version) (${detail})`, { cause: error });
    case GrpcCode.PERMISSION_DENIED:
      return new ConfigError(`${secret}: permission denied (the runner needs roles/secretmanager.secretAccessor on the secret; Secret Manager also says this when it does not exist) (${detail})`, { cause: error });
    case GrpcCode.UNAUTHENTICATED:
      return new ConfigError(`${secret}: no valid Google Cloud credentials (set GOOGLE_APPLICATION_CREDENTIALS or run on a service account)`, { cause: error });
    case GrpcCode.FAILED_PRECONDITION:
      return new ConfigError(`${secret} cannot be read: the version is disabled or destroyed (${detail})`, { cause: error });
    case GrpcCode.INVALID_ARGUMENT:
      return new ConfigError(`${secret}: Secret Manager rejected the request (${detail})`, { cause: error });
    case GrpcCode.UNAVAILABLE:
    case GrpcCode.DEADLINE_EXCEEDED:
    case GrpcCode.RESOURCE_EXHAUSTED:
      return new StorageError(`reading ${secret} failed for now: ${detail}`, true, { cause: error });
    default:
      return new StorageError(`reading ${secret} failed: ${detail}`, false, { cause: error });
  }
}

function int64(value: Int64 | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  return Number(typeof value === 'object' ? value.toString() : value);
}

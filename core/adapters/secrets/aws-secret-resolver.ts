import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretResolver } from '../../ports/secret-resolver.js';
import { ConfigError, NotFoundError, type VaultraError } from '../../errors.js';
import { awsErrorName, genericAwsError, regionOfArn } from '../aws/aws-errors.js';

const PREFIX = 'secret+aws://';
/** Secrets Manager's own rules: names of letters, digits and `/_+=.@-`; ARNs end in the name plus a 6-character suffix. */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const VERSION_STAGE = /^[A-Za-z0-9/_+=.@-]{1,256}$/;

/** A parsed `secret+aws://` reference. */
export interface AwsSecretReference {
  /** The secret's name or ARN, as Secrets Manager's `SecretId` takes it. */
  readonly secretId: string;
  /** From `?region=`, else the ARN's region; `undefined`: the SDK's default region. */
  readonly region?: string;
  /** `?versionStage=`; Secrets Manager's default is `AWSCURRENT`. */
  readonly versionStage?: string;
}

/**
 * Parses `secret+aws://<secret name or ARN>[?region=<region>&versionStage=<label>]`, e.g.
 * `secret+aws://prod/shop/db` or `secret+aws://arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/shop/db-AbCdEf`.
 * Throws `ConfigError` for anything else (unknown parameters included: a typo must not be ignored).
 */
export function parseAwsSecretReference(reference: string): AwsSecretReference {
  const malformed = (why: string): ConfigError => new ConfigError(`malformed secret reference ${reference}: ${why}; expected secret+aws://<secret name or ARN>[?region=…&versionStage=…]`);
  if (!reference.toLowerCase().startsWith(PREFIX)) throw malformed('not a secret+aws:// reference');
  const rest = reference.slice(PREFIX.length);
  const queryAt = rest.indexOf('?');
  const secretId = queryAt === -1 ? rest : rest.slice(0, queryAt);
  if (!SECRET_NAME.test(secretId) && !SECRET_ARN.test(secretId)) throw malformed('the secret id must be a Secrets Manager name (letters, digits, /_+=.@-) or ARN');
  const parsed: { secretId: string; region?: string; versionStage?: string } = { secretId };
  const arnRegion = regionOfArn(secretId);
  if (arnRegion) parsed.region = arnRegion;
  for (const [name, value] of new URLSearchParams(queryAt === -1 ? '' : rest.slice(queryAt + 1))) {
    if (name === 'region' && REGION.test(value)) parsed.region = value;
    else if (name === 'versionStage' && VERSION_STAGE.test(value)) parsed.versionStage = value;
    else throw malformed(`unknown or invalid parameter "${name}"`);
  }
  return parsed;
}

export interface AwsSecretsManagerResolverOptions {
  /** The client for a region (`undefined`: the SDK's default). @default a cached `SecretsManagerClient` per region */
  readonly clientFor?: (region: string | undefined) => Pick<SecretsManagerClient, 'send'>;
}

/**
 * `secret+aws://…`: a secret string from AWS Secrets Manager — a database URL, or the JSON an
 * RDS-managed or rotated secret holds (`username`, `password`, `host`, …), returned exactly as
 * stored. Binary secrets are refused. The endpoint comes from the SDK's settings
 * (`AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL`).
 */
export class AwsSecretsManagerResolver implements SecretResolver {
  readonly scheme = 'secret+aws';
  readonly #clients = new Map<string, Pick<SecretsManagerClient, 'send'>>();
  readonly #clientFor: (region: string | undefined) => Pick<SecretsManagerClient, 'send'>;

  constructor(options: AwsSecretsManagerResolverOptions = {}) {
    this.#clientFor = options.clientFor ?? ((region) => new SecretsManagerClient(region ? { region } : {}));
  }

  async resolve(reference: string, signal?: AbortSignal): Promise<string> {
    const { secretId, region, versionStage } = parseAwsSecretReference(reference);
    let answer;
    try {
      answer = await this.#client(region).send(new GetSecretValueCommand({ SecretId: secretId, ...(versionStage ? { VersionStage: versionStage } : {}) }), { abortSignal: signal });
    } catch (error) {
      throw translate(error, secretId, versionStage);
    }
    if (answer.SecretString === undefined) {
      if (answer.SecretBinary !== undefined) throw new ConfigError(`AWS secret ${secretId} is a binary secret: Vaultra reads secret strings only (a database URL or the RDS JSON shape)`);
      throw new NotFoundError(`AWS secret ${secretId} has no value`);
    }
    return answer.SecretString;
  }

  #client(region: string | undefined): Pick<SecretsManagerClient, 'send'> {
    let client = this.#clients.get(region ?? '');
    if (!client) {
      client = this.#clientFor(region);
      this.#clients.set(region ?? '', client);
    }
    return client;
  }
}

/** SDK errors → NotFound / Config / the generic AWS translation; messages name the secret, never a value. */
function translate(error: unknown, secretId: string, versionStage: string | undefined): VaultraError {
  const secret = `AWS secret ${secretId}${versionStage ? ` (stage ${versionStage})` : ''}`;
  switch (awsErrorName(error)) {
    case 'ResourceNotFoundException':
      return new NotFoundError(`${secret} was not found (check the name, account and region)`, { cause: error });
    case 'AccessDeniedException':
      return new ConfigError(`${secret}: access denied (the runner needs secretsmanager:GetSecretValue, and kms:Decrypt on the secret's key)`, { cause: error });
    case 'DecryptionFailure':
      return new ConfigError(`${secret}: Secrets Manager could not decrypt it with its KMS key (check kms:Decrypt on that key)`, { cause: error });
    case 'InvalidRequestException':
      return new ConfigError(`${secret} cannot be read now (it may be scheduled for deletion)`, { cause: error });
    case 'InvalidParameterException':
      return new ConfigError(`${secret}: Secrets Manager rejected the request's parameters`, { cause: error });
    default:
      return genericAwsError(error, `reading ${secret}`, 'AWS Secrets Manager');
  }
}

import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** The runner's environment variable that carries the dedup key (docs/chunked-snapshots.md). */
export const DEDUP_KEY_ENV = 'VAULTRA_DEDUP_KEY';

/** Length of the generated key: alphanumeric, so the runner hashes it into the 32-byte HMAC key. */
export const DEDUP_KEY_LENGTH = 64;

export interface DedupKeyProps {
  /** The Vaultra environment's name, for the secret's description. */
  readonly environmentName: string;
}

/**
 * The environment's dedup key: the HMAC key of chunk ids, which every runner of every job of the
 * environment must share, or each run would dedupe against nothing and silently be a full.
 * Secrets Manager generates it once; only the runner's execution role reads it (ECS puts it in
 * the container's environment as `VAULTRA_DEDUP_KEY`).
 *
 * It is a secret because its holder can test whether a guessed chunk is stored, but it opens
 * nothing: it is not an encryption key, so it is encrypted with the AWS managed key (the
 * execution role then needs no KMS permission) and is never rotated (a new key makes the next
 * run of every job a full, and its chain starts over).
 */
export class DedupKey extends Construct {
  readonly secret: Secret;

  constructor(scope: Construct, id: string, props: DedupKeyProps) {
    super(scope, id);
    this.secret = new Secret(this, 'Secret', {
      description: `Vaultra ${props.environmentName}: dedup key of chunked backups (chunk ids are HMACs under it). Replacing it makes every job's next run a full.`,
      generateSecretString: { excludePunctuation: true, includeSpace: false, passwordLength: DEDUP_KEY_LENGTH },
    });
    acknowledge(
      this.secret,
      'AwsSolutions-SMG4',
      'The dedup key is the HMAC key chunk ids are computed under, not a credential: rotating it would make every job start a new chain with a full backup, and the old key opens nothing.',
    );
  }
}

import type { ScheduledJob } from '../config/environments.js';
import { ConfigError } from '../errors.js';

/**
 * Where a launched runner writes: the deployment's storage URL, catalog URL and key. A function
 * builds one from its environment variables; the local flow from a folder.
 */
export interface RunnerTarget {
  /** `s3://bucket/prefix?region=…`: the job folders live under it. */
  readonly storageUrl: string;
  /** `dynamodb://table?region=…`, or a folder. Passed as VAULTRA_CATALOG. */
  readonly catalogUrl: string;
  /** `aws-kms:<key ARN>`: added as a `--kms` stanza when the job asks for the environment key. */
  readonly kmsKey?: string;
  /**
   * `aws-kms:<signing key ARN>` (or a key file, locally): signs every manifest (`--signing-key`).
   * Restores and verifies trust it (`--trust`), so the runner needs its public key too.
   */
  readonly signingKey?: string;
  /** More signers restores and verifies trust: the environment's `signing.trusted`. */
  readonly trustedSigners?: readonly string[];
}

/**
 * The `vaultra backup` arguments that carry out a job: its source (a reference, resolved by the
 * runner itself), the target storage, compression and public keys.
 */
export function backupArguments(job: ScheduledJob, target: Pick<RunnerTarget, 'storageUrl' | 'kmsKey' | 'signingKey'>): string[] {
  const argv = ['backup', job.source, '--to', target.storageUrl, '--job', job.name, '--compression', job.compression.id];
  if (job.compression.level !== undefined) argv.push('--level', String(job.compression.level));
  for (const recipient of job.encryption.recipients) argv.push('--recipient', recipient);
  if (job.encryption.kms) {
    if (!target.kmsKey) throw new ConfigError(`job ${job.name} asks for the environment's KMS key (encryption.kms), but the deployment names none`);
    argv.push('--kms', target.kmsKey);
  }
  if (target.signingKey) argv.push('--signing-key', target.signingKey);
  return argv;
}

/** `--trust` for the deployment's own signing key and the environment's other trusted signers. */
function trustArguments(target: RunnerTarget): string[] {
  const signers = [...(target.signingKey ? [target.signingKey] : []), ...(target.trustedSigners ?? [])];
  return [...new Set(signers)].flatMap((signer) => ['--trust', signer]);
}

/**
 * The command line a container runs for one launched run: the job's arguments, the run id the
 * scheduler recorded as pending, and machine-readable output. It carries only references.
 */
export function backupCommandLine(job: ScheduledJob, runId: string, target: RunnerTarget): string[] {
  return [...backupArguments(job, target), '--run-id', runId, '--json', '--no-progress'];
}

export interface RestoreRequest {
  readonly runId: string;
  /** A secret reference (or a URL without password) of the database to restore into. */
  readonly target: string;
  readonly tables?: readonly string[];
  readonly dryRun?: boolean;
  readonly force?: boolean;
}

/**
 * `vaultra restore` for an on-demand restore; decryption comes from the KMS stanza, trust from the
 * deployment's signing key and `signing.trusted`.
 */
export function restoreCommandLine(job: ScheduledJob, request: RestoreRequest, target: RunnerTarget): string[] {
  const argv = ['restore', request.runId, '--target', request.target, '--from', target.storageUrl, '--job', job.name];
  if (request.tables?.length) argv.push('--tables', request.tables.join(','));
  if (request.dryRun) argv.push('--dry-run');
  if (request.force) argv.push('--force');
  argv.push(...trustArguments(target), '--json', '--no-progress');
  return argv;
}

/** `vaultra verify`: reads the whole backup and checks every checksum and the age authentication. */
export function verifyCommandLine(job: ScheduledJob, runId: string, target: RunnerTarget): string[] {
  return ['verify', runId, '--from', target.storageUrl, '--job', job.name, ...trustArguments(target), '--json', '--no-progress'];
}

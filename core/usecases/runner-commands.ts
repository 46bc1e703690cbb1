import type { ScheduledJob } from '../config/environments.js';
import { ConfigError } from '../errors.js';
import { backupSpecJson, backupSpecSchema, SPEC_OPTION, type BackupSpec, type BackupSpecInput } from '../domain/backup-spec.js';
import { parseAtEdge } from '../domain/validate.js';

/**
 * Where a launched runner writes: the deployment's storage URL, catalog URL and key. A function
 * builds one from its environment variables; the local flow from a folder.
 */
export interface RunnerTarget {
  /** `s3://bucket/prefix?region=…`: the job folders live under it. */
  readonly storageUrl: string;
  /** `dynamodb://table?region=…`, or a folder. Passed as VAULTRA_CATALOG. */
  readonly catalogUrl: string;
  /** `aws-kms:<key ARN>`: the spec's KMS key when the job asks for the environment key. */
  readonly kmsKey?: string;
  /**
   * `aws-kms:<signing key ARN>` (or a key file, locally): signs every manifest (the spec's `signingKey`).
   * Restores and verifies trust it (`--trust`), so the runner needs its public key too.
   */
  readonly signingKey?: string;
  /** More signers restores and verifies trust: the environment's `signing.trusted`. */
  readonly trustedSigners?: readonly string[];
}

/**
 * The backup spec of one run of a config file's job: the job's fields over its environment's
 * defaults (a `ScheduledJob`), and the deployment's target for where it writes, which KMS key
 * wraps the file key and which key signs. The one place a config job becomes a spec: `vaultra
 * run` runs it in-process, the launchers pass it to a container. Its source stays a reference,
 * resolved by the runner.
 */
export function backupSpecOf(job: ScheduledJob, target: Pick<RunnerTarget, 'storageUrl' | 'kmsKey' | 'signingKey'>, runId?: string): BackupSpec {
  if (job.encryption.kms && !target.kmsKey) throw new ConfigError(`job ${job.name} asks for the environment's KMS key (encryption.kms), but the deployment names none`);
  const { chain } = job;
  const input: BackupSpecInput = {
    type: chain ? chain.type : 'full',
    ...(chain ? { chain: { fullEveryMs: chain.fullEvery, ...(chain.differentialEvery ? { differentialEveryMs: chain.differentialEvery } : {}) }, ...(chain.jobs ? { jobs: chain.jobs } : {}) } : {}),
    job: job.name,
    ...(runId === undefined ? {} : { runId }),
    source: job.source,
    ...(job.stopContainers ? { stopContainers: true } : {}),
    destinations: [target.storageUrl],
    compression: job.compression,
    encryption: { mode: 'recipients', recipients: job.encryption.recipients, kmsKeys: job.encryption.kms && target.kmsKey ? [target.kmsKey] : [] },
    ...(target.signingKey ? { signingKey: target.signingKey } : {}),
    timeoutMs: job.timeoutMs,
  };
  return parseAtEdge(backupSpecSchema, input, `job ${job.name}`);
}

/** `--trust` for the deployment's own signing key and the environment's other trusted signers. */
function trustArguments(target: RunnerTarget): string[] {
  const signers = [...(target.signingKey ? [target.signingKey] : []), ...(target.trustedSigners ?? [])];
  return [...new Set(signers)].flatMap((signer) => ['--trust', signer]);
}

/**
 * The command line a container runs for one launched run: `vaultra backup --spec <json>` with
 * the run id the scheduler recorded as pending, and machine-readable output. The spec carries
 * only references (argv is visible in `ps` and in the platform's task overrides).
 */
export function backupCommandLine(job: ScheduledJob, runId: string, target: RunnerTarget): string[] {
  return ['backup', SPEC_OPTION, backupSpecJson(backupSpecOf(job, target, runId)), '--json', '--no-progress'];
}

/**
 * The command line of one log catch-up: `vaultra logs push --spec <json>`, the job's backup spec
 * (source, destinations, encryption, signing key, the pending run's id) without what only a dump
 * reads (`type`, `chain`, `jobs`), and the push's own timeout. The runner reads the server's log
 * from where the job's archive ends and claims the run like a backup does.
 */
export function logsPushCommandLine(job: ScheduledJob, runId: string, target: RunnerTarget): string[] {
  // `type` is the schema's default (full), which a push reads nothing of: not sent.
  const { type: _type, ...spec } = logsPushSpecOf(job, target, runId);
  return ['logs', 'push', SPEC_OPTION, JSON.stringify(spec), '--json', '--no-progress'];
}

/** The spec of one log push of a config job (what `logsPushCommandLine` carries, and `vaultra run <job> --logs` runs in-process). */
export function logsPushSpecOf(job: ScheduledJob, target: Pick<RunnerTarget, 'storageUrl' | 'kmsKey' | 'signingKey'>, runId?: string): BackupSpec {
  if (!job.logs) throw new ConfigError(`job ${job.name} has no logs schedule: add logs: { every: 5m } to archive its server's change log`);
  const { type: _type, chain: _chain, jobs: _jobs, ...spec } = backupSpecOf(job, target, runId);
  return parseAtEdge(backupSpecSchema, { ...spec, timeoutMs: job.logs.timeoutMs }, `job ${job.name}`);
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

/**
 * `vaultra drill latest` of a scheduled drill: the job's newest backup restored into `scratchUrl`
 * (the drill task's sidecar server) or, without one, into a scratch file or folder in the
 * runner's container; the scheduler's pending run id, which the drill claims. The container has
 * no config file: the job's RTO budget and checks go as `--rto` and `--check` (queries and
 * expected values, never a secret).
 */
export function drillCommandLine(job: ScheduledJob, runId: string, target: RunnerTarget, scratchUrl: string | undefined): string[] {
  const argv = ['drill', 'latest', '--job', job.name, '--from', target.storageUrl, '--run-id', runId];
  if (scratchUrl !== undefined) argv.push('--scratch', scratchUrl);
  if (job.drill?.rto) argv.push('--rto', `${job.drill.rto}ms`);
  for (const check of job.drill?.checks ?? []) argv.push('--check', `${check.query} => ${check.expect}`);
  argv.push(...trustArguments(target), '--json', '--no-progress');
  return argv;
}

import { Command, Option } from 'commander';
import { defaultJobName, SUPPORTED_SOURCES } from '../../core/adapters/engines/engines.js';
import { backupSpecSchema, parseBackupSpecJson, type BackupSpecInput } from '../../core/domain/backup-spec.js';
import { runIdSchema, type BackupType } from '../../core/domain/run.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import type { CompressionId } from '../../core/ports/compressor.js';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_STORAGE } from '../context.js';
import { parseKmsKeyRef } from '../keys.js';
import { runBackupSpec } from '../run-backup-spec.js';
import { catalogOption, collect, positiveInteger, resolveConnection, signalOf } from './shared.js';

/** What `withStoredRunOptions` parses; `backup` adds its own. */
export interface StoredRunFlags {
  spec?: string;
  to?: string[];
  job?: string;
  runId?: string;
  compression: CompressionId;
  level?: string;
  recipient?: string[];
  kms?: string[];
  passphraseEnv?: string;
  encryption: boolean;
  signingKey?: string;
  json?: boolean;
  progress: boolean;
  catalog?: string;
  lockTimeout?: string;
  type?: BackupType;
  chunked?: boolean;
  jobs?: string;
  dedupKey?: string;
  method?: 'logical' | 'physical';
}

interface BackupOptions extends StoredRunFlags {
  /** Only `backup` has it: in the spec, it is `stopContainers`. */
  stopContainers?: boolean;
}

export function backupCommand(): Command {
  return withStoredRunOptions(
    new Command('backup')
      .description('dump a database or directory, compress, encrypt and store it; the manifest is written last')
      .argument('[source-url]', `${SUPPORTED_SOURCES}, or a secret holding one: env://VAR, secret+aws://…, secret+gcp://…, secret+azure://… (a URL or RDS-style JSON)`),
    'backup',
  )
    .addOption(new Option('--type <type>', 'full: everything; differential: what changed since the last chunked full; incremental: since the last chunked backup (both deduplicated chunked snapshots)').choices(['full', 'differential', 'incremental']).default('full'))
    .option('--chunked', 'store a full backup as a chunked snapshot, the start of a chain of differential and incremental backups')
    .option('--jobs <n>', 'PostgreSQL, MariaDB, MongoDB chunked snapshots: dump this many tables at once (default 1)')
    .addOption(new Option('--dedup-key <file|env://VAR>', 'the job\'s dedup key, which names chunks (default: $VAULTRA_DEDUP_KEY, else dedup-key.txt beside your default identity, created on first use)'))
    .addOption(new Option('--method <method>', 'physical: a copy of the server\'s files (PostgreSQL pg_basebackup), the base point-in-time restores replay WAL onto; logical: the engine\'s dump').choices(['logical', 'physical']))
    .option('--lock-timeout <duration>', 'PostgreSQL: how long to wait for a table another session holds locked before failing, e.g. 30s, 5m (default: 60s)')
    .option('--stop-containers', 'Docker volumes: stop the running containers that use the volume for the backup, and start exactly those again afterwards (also when it fails or is interrupted)')
    .addHelpText(
      'after',
      `
Without --recipient, --kms or --passphrase-env, the backup is encrypted to your default identity
($VAULTRA_IDENTITY or ~/.config/vaultra/identity.txt), created on first use. With --kms alone,
only that key service can open the backup; add --recipient to keep an offline way in.

Every backup is signed (manifest.json.sig beside manifest.json), by --signing-key or your default
signing key (signing-key.pem beside the default identity, created on first use). Restores and
verifies accept only backups signed by a key they trust (see vaultra restore --help).

Examples:
  vaultra backup postgres://app@db.internal:5432/shop --to file:///srv/backups
  PGPASSWORD=… vaultra backup postgres://app@localhost/shop --recipient age1…
  vaultra backup postgres://app@db/shop --kms aws-kms:arn:aws:kms:eu-west-1:123456789012:key/… --recipient age1…
  MYSQL_PWD=… vaultra backup mariadb://app@localhost:3306/shop --passphrase-env BACKUP_PASSPHRASE
  vaultra backup mongodb://localhost:27017/events
  vaultra backup dir:/var/lib/docker/volumes/uploads/_data --job uploads
  vaultra backup volume:pgdata --stop-containers       (a Docker volume, its containers stopped meanwhile)
  vaultra backup sqlite:./app.db --json
  vaultra backup postgres://app@db/shop --chunked --jobs 2            (a chunked full: starts a chain)
  vaultra backup postgres://app@db/shop --type incremental            (stores only chunks the last run lacks)
  vaultra backup postgres://app@db/shop --to file:///srv/backups --to s3://backups-eu/db   (one dump, two copies)`,
    )
    .action(async (sourceArgument: string | undefined, options: BackupOptions, command: Command) => {
      const signal = signalOf(command);
      const output = { progress: options.progress, ...(options.json ? { json: true } : {}), ...(options.catalog ? { catalog: options.catalog } : {}) };
      if (options.spec !== undefined) {
        refuseFlagsBesideSpec(sourceArgument, command);
        const spec = parseBackupSpecJson(options.spec);
        // $VAULTRA_SIGNING_KEY stays the runner's own default signer when the spec names none, as without --spec.
        await runBackupSpec(spec.signingKey === undefined && options.signingKey ? { ...spec, signingKey: options.signingKey } : spec, output, signal);
        return;
      }
      if (sourceArgument === undefined) throw new ConfigError('vaultra backup needs a source: a database URL, dir:<path>, a secret reference, or --spec <json>');
      // Resolved here (not only in the run) when the job is named after the database the secret holds.
      const resolved = options.job === undefined ? await resolveConnection(sourceArgument, signal) : undefined;
      const spec = parseAtEdge(backupSpecSchema, specFromFlags(sourceArgument, options, resolved), 'backup');
      await runBackupSpec(spec, output, signal, resolved);
    });
}

/**
 * The options of a command that stores a run from a source (`backup`, `logs push`): where it goes,
 * its job and run id, compression, encryption, signing, output, catalog, and `--spec`.
 */
export function withStoredRunOptions(command: Command, what: string): Command {
  return command
    .addOption(
      new Option('--to <storage-url>', `where to store the ${what}; repeat it to store the same ${what} in several places (default: ${DEFAULT_STORAGE})`)
        .argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value])
        .env('VAULTRA_STORAGE'),
    )
    .option('--job <name>', 'job name, the folder backups are grouped under (default: the database name)')
    .option('--run-id <id>', 'use this run id (a scheduler that recorded the run as pending passes it; default: a new one)')
    .addOption(new Option('--compression <id>', 'compression').choices(['zstd', 'gzip', 'none']).default('zstd'))
    .option('--level <n>', 'compression level (zstd 1-19, default 3; gzip 1-9, default 6)')
    .option('--recipient <age1…>', 'encrypt to this age recipient (repeatable)', collect)
    .option('--kms <service:key-id>', 'also wrap the file key with a cloud key service key, e.g. aws-kms:arn:aws:kms:<region>:<account>:key/<id> (repeatable; restore needs no flag)', collect)
    .option('--passphrase-env <VAR>', 'encrypt with the passphrase in environment variable VAR (age scrypt)')
    .option('--no-encryption', 'store unencrypted (not recommended)')
    .addOption(
      new Option('--signing-key <file|service:key>', 'sign the manifest with this key: a key file from vaultra keygen, or aws-kms:<key ARN>, gcp-kms:<key version>, azure-keyvault:<key version URL> (default: your default signing key)').env(
        'VAULTRA_SIGNING_KEY',
      ),
    )
    .option('--json', 'print the result as one JSON object on stdout')
    .option('--no-progress', 'no progress display on stderr')
    .addOption(catalogOption())
    .option('--spec <json>', `run this spec (JSON, as a scheduler launches the runner) instead of a source and flags; it holds references only, never a secret`);
}

/** Flags that describe a run, which `--spec` describes on its own: both at once would leave one ignored. */
const RUN_FLAGS = ['to', 'job', 'runId', 'compression', 'level', 'recipient', 'kms', 'passphraseEnv', 'encryption', 'signingKey', 'lockTimeout', 'type', 'chunked', 'jobs', 'dedupKey', 'method', 'stopContainers'] as const;

export function refuseFlagsBesideSpec(sourceArgument: string | undefined, command: Command): void {
  // Values from the environment ($VAULTRA_STORAGE, $VAULTRA_SIGNING_KEY) are defaults, not a conflict.
  const given = RUN_FLAGS.filter((name) => command.getOptionValueSource(name) === 'cli');
  if (sourceArgument !== undefined || given.length > 0) {
    const what = sourceArgument !== undefined ? 'a source argument' : command.options.find((option) => option.attributeName() === given[0])!.long!;
    throw new ConfigError(`--spec describes the whole run: remove ${what}, or put it in the spec`);
  }
}

const SHORT_UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** `500ms`, `30s`, `5m`: a wait measured in seconds rather than a schedule's minutes and days. */
function parseShortDuration(text: string, flag: string): number {
  const m = /^([1-9]\d{0,6})(ms|s|m)$/.exec(text);
  if (!m) throw new ConfigError(`${flag} ${JSON.stringify(text)}: expected a duration such as 500ms, 30s or 5m`);
  return Number(m[1]) * SHORT_UNIT_MS[m[2] as keyof typeof SHORT_UNIT_MS];
}

/**
 * The spec a `vaultra backup` command line describes: the one place flags become a spec. The
 * source stays the reference given; `resolved` (the connection it names) only names the job
 * when `--job` is absent.
 */
export function specFromFlags(source: string, options: StoredRunFlags & { readonly stopContainers?: boolean }, resolved: string | undefined): BackupSpecInput {
  let level: number | undefined;
  if (options.level !== undefined) {
    level = Number(options.level);
    if (!Number.isInteger(level)) throw new ConfigError(`--level ${JSON.stringify(options.level)}: not an integer`);
  }
  if (options.encryption === false && (options.recipient?.length || options.passphraseEnv || options.kms?.length)) {
    throw new ConfigError('--no-encryption cannot be combined with --recipient, --kms or --passphrase-env');
  }
  if (options.passphraseEnv && options.kms?.length) {
    throw new ConfigError('age cannot combine a passphrase with other recipients in one file: use either --passphrase-env or --kms');
  }
  if (options.passphraseEnv && options.recipient?.length) {
    throw new ConfigError('age cannot combine a passphrase with recipients in one file: use either --passphrase-env or --recipient');
  }
  // Checked here for an error that names the flag; the spec keeps the reference as given.
  const kmsKeys = options.kms ?? [];
  kmsKeys.forEach(parseKmsKeyRef);
  const encryption: BackupSpecInput['encryption'] =
    options.encryption === false
      ? { mode: 'none' }
      : options.passphraseEnv
        ? { mode: 'passphrase', passphraseEnv: options.passphraseEnv }
        : options.recipient?.length || kmsKeys.length
          ? { mode: 'recipients', recipients: options.recipient ?? [], kmsKeys }
          : { mode: 'default-identity' };
  const jobs = options.jobs === undefined ? undefined : positiveInteger(options.jobs, '--jobs');
  return {
    type: options.type ?? 'full',
    ...(options.chunked ? { chunked: true } : {}),
    ...(options.method ? { method: options.method } : {}),
    ...(jobs === undefined ? {} : { jobs }),
    ...(options.dedupKey ? { dedupKey: options.dedupKey } : {}),
    ...(options.stopContainers ? { stopContainers: true } : {}),
    job: options.job ?? defaultJobName(resolved ?? source),
    ...(options.runId === undefined ? {} : { runId: parseAtEdge(runIdSchema, options.runId, '--run-id') }),
    source,
    destinations: options.to ?? [DEFAULT_STORAGE],
    compression: { id: options.compression, ...(level === undefined ? {} : { level }) },
    encryption,
    ...(options.signingKey ? { signingKey: options.signingKey } : {}),
    engine: options.lockTimeout === undefined ? {} : { lockTimeoutMs: parseShortDuration(options.lockTimeout, '--lock-timeout') },
  };
}

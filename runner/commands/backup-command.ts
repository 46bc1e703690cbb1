import { Command, Option } from 'commander';
import { runBackup } from '../../core/usecases/backup.js';
import { recordedRun } from '../../core/usecases/record-run.js';
import { createCompressor } from '../../core/adapters/compression/compressors.js';
import { defaultJobName, engineById, engineIdForUrl, SUPPORTED_SOURCES } from '../../core/adapters/engines/engines.js';
import { jobSchema, type JobInput } from '../../core/domain/job.js';
import { runIdSchema } from '../../core/domain/run.js';
import { parseAtEdge } from '../../core/domain/validate.js';
import type { CompressionId } from '../../core/ports/compressor.js';
import { ConfigError } from '../../core/errors.js';
import { DEFAULT_STORAGE } from '../context.js';
import { encryptorFor, parseKmsKeyRef } from '../keys.js';
import { signerFor } from '../signing-keys.js';
import { Progress } from '../progress.js';
import { formatBytes, formatDuration } from '../format.js';
import { errorLine, exitCodeFor } from '../exit-codes.js';
import { openStorage } from '../../core/adapters/storage/storage-registry.js';
import { catalogOption, collect, openStore, resolveConnection, printFields, printJson, signalOf, thisHost } from './shared.js';
import { repairLines, repairSummary } from '../repair-output.js';

interface BackupOptions {
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
}

export function backupCommand(): Command {
  return new Command('backup')
    .description('dump a database or directory, compress, encrypt and store it; the manifest is written last')
    .argument('<source-url>', `${SUPPORTED_SOURCES}, or a secret holding one: env://VAR, secret+aws://…, secret+gcp://…, secret+azure://… (a URL or RDS-style JSON)`)
    .addOption(
      new Option('--to <storage-url>', `where to store the backup; repeat it to store the same backup in several places (default: ${DEFAULT_STORAGE})`)
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
    .option('--lock-timeout <duration>', 'PostgreSQL: how long to wait for a table another session holds locked before failing, e.g. 30s, 5m (default: 60s)')
    .addOption(catalogOption())
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
  vaultra backup sqlite:./app.db --json
  vaultra backup postgres://app@db/shop --to file:///srv/backups --to s3://backups-eu/db   (one dump, two copies)`,
    )
    .action(async (sourceArgument: string, options: BackupOptions, command: Command) => {
      const signal = signalOf(command);
      const source = await resolveConnection(sourceArgument, signal);
      const lockTimeoutMs = options.lockTimeout === undefined ? undefined : parseShortDuration(options.lockTimeout, '--lock-timeout');
      const engine = engineById(engineIdForUrl(source), lockTimeoutMs === undefined ? {} : { lockTimeoutMs });
      const job = parseAtEdge(jobSchema, jobFromFlags(source, options), 'job');
      const runId = options.runId === undefined ? undefined : parseAtEdge(runIdSchema, options.runId, '--run-id');
      const kmsKeys = (options.kms ?? []).map(parseKmsKeyRef);
      const { storage, catalog } = await openStore(job.destinations[0]!, options.catalog);
      const alsoTo = await Promise.all(job.destinations.slice(1).map((url) => openStorage(url)));
      let compressor, encryptor, signer;
      try {
        // Keys first: reading a --passphrase-env variable removes it from the environment, and
        // every process started after that (zstd --version included) inherits none of it.
        const notice = (line: string) => process.stderr.write(`vaultra: ${line}\n`);
        encryptor = await encryptorFor(job.encryption, notice, kmsKeys);
        signer = await signerFor(options.signingKey, notice);
        compressor = await createCompressor(job.compression.id, job.compression.level);
      } catch (error) {
        // A missing compressor or an unusable key stops the backup before it starts: still a
        // failed attempt of this job, so the catalog shows it like every other failure.
        await recordedRun(catalog, { kind: 'backup', job: job.name, engine: engine.id, location: storage.location }, () => Promise.reject(error)).catch(() => undefined);
        throw error;
      }

      const progress = new Progress('backup', options.progress && !options.json);
      const result = await runBackup(
        { engine, storage, alsoTo, compressor, encryptor, signer, catalog, host: thisHost },
        { source: job.source, job: job.name, runId, signal, onProgress: ({ bytesRaw, bytesStored }) => progress.update(bytesRaw, `${formatBytes(bytesStored)} stored`) },
      );
      progress.stop();
      // Earlier runs this backup settled and cleaned up after: said on stderr, after the result
      // (before the error line of a failed run, which stays the last line).
      const reportRepairs = () => {
        for (const report of result.repairs ?? []) {
          process.stderr.write(`vaultra: repaired earlier runs of job ${job.name} in ${report.location}: ${repairSummary(report)}\n`);
          for (const line of repairLines(report)) process.stderr.write(`vaultra:   ${line}\n`);
        }
        for (const problem of result.repairErrors ?? []) process.stderr.write(`vaultra: warning: ${problem}\n`);
      };

      const { run, manifest } = result;
      const summary = {
        runId: run.runId,
        job: run.job,
        status: run.status,
        engine: run.engine,
        bytesRaw: run.bytesRaw ?? 0,
        bytesStored: run.bytesStored ?? 0,
        sha256: run.sha256 ?? null,
        location: run.location,
        durationMs: run.durationMs,
        ...(manifest ? { serverVersion: manifest.source.serverVersion, compression: manifest.compression, encryption: manifest.encryption, signedBy: signer.keyId } : {}),
        ...(run.error ? { error: run.error } : {}),
        ...(run.leftBehind ? { leftBehind: run.leftBehind } : {}),
        ...(result.repairs ? { repaired: result.repairs } : {}),
      };
      if (options.json) printJson(summary);
      if (result.error !== undefined) {
        reportRepairs();
        process.stderr.write(errorLine(result.error) + '\n');
        process.exitCode = exitCodeFor(result.error);
        return;
      }
      for (const warning of result.warnings ?? []) process.stderr.write(`vaultra: warning: ${warning}\n`);
      if (!options.json) {
        printFields(`backup ${run.runId} of job ${run.job} succeeded`, [
          ['engine', `${manifest!.source.engine} ${manifest!.source.serverVersion} (${manifest!.dump.tool} ${manifest!.dump.toolVersion})`],
          ['size', `${formatBytes(run.bytesRaw!)} dumped → ${formatBytes(run.bytesStored!)} stored (${manifest!.compression.id}, ${manifest!.encryption.format})`],
          ['sha256', run.sha256],
          ['signed by', signer.keyId],
          ['location', run.location],
          ['details', manifest!.dump.details ? Object.entries(manifest!.dump.details).map(([key, value]) => `${key}: ${value}`).join('; ') : undefined],
          ['took', formatDuration(run.durationMs!)],
        ]);
      }
      reportRepairs();
    });
}

const SHORT_UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

/** `500ms`, `30s`, `5m`: a wait measured in seconds rather than a schedule's minutes and days. */
function parseShortDuration(text: string, flag: string): number {
  const m = /^([1-9]\d{0,6})(ms|s|m)$/.exec(text);
  if (!m) throw new ConfigError(`${flag} ${JSON.stringify(text)}: expected a duration such as 500ms, 30s or 5m`);
  return Number(m[1]) * SHORT_UNIT_MS[m[2] as keyof typeof SHORT_UNIT_MS];
}

/** The job a `vaultra backup` command line describes. */
function jobFromFlags(source: string, options: BackupOptions): JobInput {
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
  const encryption: JobInput['encryption'] =
    options.encryption === false
      ? { mode: 'none' }
      : options.passphraseEnv
        ? { mode: 'passphrase', passphraseEnv: options.passphraseEnv }
        : options.recipient?.length
          ? { mode: 'recipients', recipients: options.recipient }
          : { mode: 'default-identity' };
  return {
    name: options.job ?? defaultJobName(source),
    source,
    destinations: options.to ?? [DEFAULT_STORAGE],
    compression: { id: options.compression, ...(level === undefined ? {} : { level }) },
    encryption,
  };
}

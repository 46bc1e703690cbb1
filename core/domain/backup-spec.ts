import * as z from 'zod';
import { ConfigError } from '../errors.js';
import { backupTypeSchema, jobNameSchema, runIdSchema } from './run.js';
import { keyServiceIdSchema, kmsKeyIdSchema } from './manifest.js';
import { ageRecipientSchema, urlCarriesPassword } from './shared-schemas.js';
import { parseAtEdge } from './validate.js';

/**
 * A backup spec: everything one backup run does, as data (DESIGN.md §3). `vaultra backup` builds
 * one from its flags, the config file's job becomes one for its environment (runner-commands.ts),
 * a launched runner receives one as `vaultra backup --spec <json>`, and the runner runs a spec.
 *
 * A spec holds references only: the source is a URL without password or a secret reference
 * (`secret+aws://…`, `env://VAR`) the runner resolves, a passphrase is the name of the variable
 * holding it, keys are key ids. So a spec may travel on a command line, in a task override or in
 * a log line.
 */

/** `aws-kms:<key ARN>`, `gcp-kms:<key version>`, `azure-keyvault:<key URL>`: a key-service key the file key is also wrapped under. */
export const kmsKeyReferenceSchema = z.string().refine((value) => {
  const colon = value.indexOf(':');
  return colon > 0 && keyServiceIdSchema.safeParse(value.slice(0, colon)).success && kmsKeyIdSchema.safeParse(value.slice(colon + 1)).success;
}, `a key service key: <service>:<key id> with service ${keyServiceIdSchema.options.join(', ')}, e.g. aws-kms:arn:aws:kms:eu-west-1:123456789012:key/…`);

const envVariableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name');

/** How the backup is encrypted. age cannot put a passphrase beside other recipients, hence the modes. */
export const specEncryptionSchema = z.discriminatedUnion('mode', [
  /** age recipients and key-service keys; at least one of the two. With keys alone, only the key service opens the backup. */
  z
    .strictObject({
      mode: z.literal('recipients'),
      recipients: z.array(ageRecipientSchema).default([]),
      kmsKeys: z.array(kmsKeyReferenceSchema).default([]),
    })
    .refine((encryption) => encryption.recipients.length + encryption.kmsKeys.length > 0, 'recipients mode needs at least one of recipients or kmsKeys'),
  /** The passphrase itself never enters a spec: only the name of the variable holding it. */
  z.strictObject({ mode: z.literal('passphrase'), passphraseEnv: envVariableName }),
  /** The runner's default identity ($VAULTRA_IDENTITY or ~/.config/vaultra/identity.txt), created on first use. */
  z.strictObject({ mode: z.literal('default-identity') }),
  z.strictObject({ mode: z.literal('none') }),
]);

export const backupSpecSchema = z.strictObject({
  /**
   * What the run stores. `full`: everything; `differential`: what changed since the job's last
   * chunked full; `incremental`: since its last chunked run. The last two are chunked snapshots
   * (docs/chunked-snapshots.md).
   */
  type: backupTypeSchema.default('full'),
  /** A full as a chunked snapshot, the start of a chain (differential and incremental runs always are). */
  chunked: z.boolean().optional(),
  /**
   * A scheduled chain (the config's `chain`): the runner takes a full when the newest chunked full
   * is older than `fullEveryMs`, a differential when the newest full or differential is older than
   * `differentialEveryMs`, else a run of `type`.
   */
  chain: z.strictObject({ fullEveryMs: z.number().int().positive(), differentialEveryMs: z.number().int().positive().optional() }).optional(),
  /**
   * `physical`: a copy of the server's files (PostgreSQL `pg_basebackup`), the base point-in-time
   * recovery replays archived WAL onto; `logical` (the default): the engine's dump.
   */
  method: z.enum(['logical', 'physical']).optional(),
  /** Streams dumped at once, for engines that dump table by table (chunked snapshots). */
  jobs: z.number().int().min(1).max(64).optional(),
  /**
   * The job's dedup key (chunk ids are HMACs under it): `env://VAR` or a key file. Default:
   * $VAULTRA_DEDUP_KEY, else the runner's default key file, created on first use.
   */
  dedupKey: z.string().min(1).optional(),
  /** The folder backups are grouped under. */
  job: jobNameSchema,
  /** A run id a scheduler recorded as pending; the runner claims it. Default: a new one. */
  runId: runIdSchema.optional(),
  /** A database URL (`postgres://…`, `sqlite:…`, `dir:…`) or a secret reference holding one; resolved by the runner. */
  source: z.string().min(1),
  /** Storage URLs; the same backup goes to each, from one dump (the first holds the run record). */
  destinations: z
    .array(z.string().min(1))
    .min(1)
    .max(8, 'at most 8 destinations per backup')
    .refine((urls) => new Set(urls).size === urls.length, 'the same destination is named twice'),
  compression: z
    .strictObject({
      id: z.enum(['zstd', 'gzip', 'none']),
      level: z.number().int().optional(),
    })
    .default({ id: 'zstd' }),
  encryption: specEncryptionSchema.default({ mode: 'default-identity' }),
  /** A key file or `aws-kms:<key ARN>`, `gcp-kms:…`, `azure-keyvault:…`. Default: the runner's default signing key. */
  signingKey: z.string().min(1).optional(),
  /** How long the run may take; recorded so a later repair can tell an abandoned run. */
  timeoutMs: z.number().int().positive().optional(),
  /**
   * Docker volume sources (`volume:<name>`): stop the running containers that use the volume for
   * the backup, and start exactly those again afterwards, also when it fails (`--stop-containers`,
   * a config job's `stopContainers`). The runner refuses it for any other source.
   */
  stopContainers: z.boolean().optional(),
  /** Engine options. */
  engine: z
    .strictObject({
      /** PostgreSQL: how long to wait for a table another session holds locked. */
      lockTimeoutMs: z.number().int().positive().optional(),
    })
    .default({}),
});
export type BackupSpec = z.infer<typeof backupSpecSchema>;
export type BackupSpecInput = z.input<typeof backupSpecSchema>;

/** The option a launched runner receives its spec in: `vaultra backup --spec <json>`. */
export const SPEC_OPTION = '--spec';

/** The JSON a launcher hands the runner; `parseBackupSpecJson` reads it back. */
export function backupSpecJson(spec: BackupSpec): string {
  return JSON.stringify(spec);
}

/**
 * Reads a spec received as JSON (a launched runner's `--spec`), with the schema every spec
 * passes. Errors are one line naming the field, e.g. `spec.compression.id: …`. A source URL with
 * a password is refused: a spec is visible (argv, task overrides), so it carries references only.
 */
export function parseBackupSpecJson(text: string): BackupSpec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse quotes the input in its message: not repeated here, whatever the input holds.
    throw new ConfigError(`${SPEC_OPTION}: not valid JSON: pass the spec a launcher wrote, e.g. {"job":"shop","source":"secret+aws://…","destinations":["s3://…"]}`);
  }
  const spec = parseAtEdge(backupSpecSchema, value, 'spec');
  if (urlCarriesPassword(spec.source)) {
    throw new ConfigError('spec.source: the URL carries a password, which a spec must not hold: give a secret reference (secret+aws://…, env://VAR) or a URL without password');
  }
  return spec;
}

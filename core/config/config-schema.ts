import * as z from 'zod';
import { jobNameSchema } from '../domain/run.js';
import { secretScheme } from '../domain/connection-secret.js';
import { durationSchema } from './durations.js';
import { checkCron } from './schedule.js';
import { logsConfigSchema } from './log-schedule.js';
import { drillConfigSchema } from './drill-config.js';
import { inlineSettingsSchema } from './inline-runtime.js';
import { ageRecipientSchema, isTimeZone, retentionKeepSchema, urlCarriesPassword, type RetentionKeep } from '../domain/shared-schemas.js';

/**
 * `vaultra.config.yaml` (DESIGN.md §8): environments, each with its cloud, storage, network,
 * runner size, notification targets and jobs. Validated once, at the edge, by `loadConfig`.
 * Secrets appear only as references (`secret+aws://…`, `env://…`); a password written into the
 * file is refused, not stored.
 */


/** The error of a field that takes a secret reference; `config validate` never echoes such a field's value. */
export const SECRET_REFERENCE_MESSAGE = 'a secret reference: secret+aws://…, secret+gcp://…, secret+azure://… or env://VAR';

const secretReference = z.string().refine((value) => secretScheme(value) !== undefined, SECRET_REFERENCE_MESSAGE);

function validCron(cron: string): boolean {
  try {
    checkCron(cron);
    return true;
  } catch {
    return false;
  }
}

export type { RetentionKeep };

/** Fargate's valid CPU units; memory is checked against them by the platform at deploy time. */
const fargateCpu = z.union([256, 512, 1024, 2048, 4096, 8192, 16384].map((n) => z.literal(n)) as [z.ZodLiteral<256>, ...z.ZodLiteral<number>[]]);

/**
 * Where and at what size a job's runs go. `runtime: inline` (or `runtime: { platform: inline }`)
 * runs the backup inside a Lambda function with the tools layer (inline-runtime.ts); the Fargate
 * size still applies when an inline run fails over to Fargate. The string form is read as the
 * object's `platform`, so every reader of `job.runtime` sees one shape.
 */
const runtimeSchema = z.preprocess(
  (value) => (typeof value === 'string' ? { platform: value } : value),
  z.strictObject({
    /** @default fargate */
    platform: z.enum(['fargate', 'inline']).optional(),
    cpu: fargateCpu.optional(),
    memoryMiB: z.number().int().min(512).max(122_880).optional(),
  }),
);

/** Fields a job may take from its environment's `defaults`. */
const jobFields = {
  schedule: z.strictObject({
    cron: z.string().refine(validCron, 'a five-field cron expression: minute hour day-of-month month day-of-week'),
    timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Paris').default('UTC'),
    /** EventBridge Scheduler's flexible time window: start any time within this many minutes. */
    flexibleWindowMinutes: z.number().int().min(0).max(1440).default(0),
  }),
  /** Alert when the newest successful backup is older than this. Default: the schedule's longest gap plus the timeout. */
  rpo: durationSchema.optional(),
  /** A run still `running` after this is stuck: the watchdog fails it and alerts. */
  timeout: durationSchema.default(7_200_000),
  compression: z.strictObject({ id: z.enum(['zstd', 'gzip', 'none']), level: z.number().int().optional() }).default({ id: 'zstd' }),
  encryption: z
    .strictObject({
      /** Public keys only: the runner can write backups it cannot read. */
      recipients: z.array(ageRecipientSchema).default([]),
      /** Also wrap each file key with the environment's KMS key, so restores need no identity file. */
      kms: z.boolean().default(true),
    })
    .default({ recipients: [], kms: true }),
  retention: retentionKeepSchema.optional(),
  /**
   * Chunked, deduplicated backups (docs/chunked-snapshots.md): each scheduled run is an
   * incremental (or a differential), a full when the chain's full is older than `fullEvery`, a
   * differential when `differentialEvery` has passed since the last full or differential. The
   * runner decides from what is stored, so a missed run never breaks the rhythm.
   */
  chain: z
    .strictObject({
      type: z.enum(['incremental', 'differential']).default('incremental'),
      fullEvery: durationSchema,
      differentialEvery: durationSchema.optional(),
      /** Tables dumped at once (PostgreSQL, MariaDB, MongoDB). */
      jobs: z.number().int().min(1).max(64).optional(),
    })
    .optional(),
  runtime: runtimeSchema.default({}),
  /** `runtime: inline` only: when an inline run fails over to Fargate (inline-runtime.ts). */
  inline: inlineSettingsSchema.optional(),
  /**
   * Point-in-time recovery: a log catch-up (`vaultra logs push`) every `every`, archiving the
   * server's change log (MariaDB/MySQL binlog, PostgreSQL WAL onto physical bases, MongoDB
   * oplog) so a restore reaches any time up to the last catch-up (log-schedule.ts).
   */
  logs: logsConfigSchema.optional(),
  /** Restore drills: the backup restored into a scratch target and checked (drill-config.ts, docs/drills.md). */
  drill: drillConfigSchema.optional(),
  notifyOnSuccess: z.boolean().default(false),
  enabled: z.boolean().default(true),
};

export const jobConfigSchema = z
  .strictObject({
    /** The database: a secret reference in a cloud environment, a URL without password locally. */
    source: z.string().min(1).refine((value) => !urlCarriesPassword(value), 'the URL carries a password, which a config file must not hold: put the connection in a secret and give its reference (secret+aws://…, env://VAR)'),
    /**
     * A `volume:<name>` job: stop the running containers that use the volume for each backup and
     * start exactly those again afterwards (`vaultra backup --stop-containers`). Refused for any
     * other engine (so set it on the job, not in `defaults`) and outside local environments (a
     * cloud runner has no Docker engine to ask): stop-containers.ts.
     */
    stopContainers: z.boolean().optional(),
    ...jobFields,
  })
  .refine((job) => job.encryption.kms || job.encryption.recipients.length > 0, {
    message: 'a scheduled backup needs a way back in: set encryption.kms: true or at least one encryption.recipients entry',
    path: ['encryption'],
  });
export type JobConfig = z.infer<typeof jobConfigSchema>;

/** A service's public API endpoint (not a secret): https, or http to this machine (a local relay, tests). */
const endpointUrl = z.url({ error: 'an https:// URL' }).refine((url) => /^https:\/\//.test(url) || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?\//.test(url), 'an https:// URL (http:// only to 127.0.0.1 or localhost)');

const webhookSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('slack'), url: secretReference }),
  z.strictObject({
    kind: z.literal('generic'),
    url: secretReference,
    /** HMAC-SHA256 key; the signature goes in `X-Vaultra-Signature`. */
    signingSecret: secretReference,
  }),
  /** A Teams channel's Workflows ("When a Teams webhook request is received") or incoming-webhook URL. */
  z.strictObject({ kind: z.literal('teams'), url: secretReference }),
  z.strictObject({ kind: z.literal('discord'), url: secretReference }),
  /**
   * PagerDuty Events API v2: critical alerts trigger an incident per environment and job, a
   * recovery resolves it. `routingKey`: the service integration's key.
   */
  z.strictObject({
    kind: z.literal('pagerduty'),
    routingKey: secretReference,
    /** @default https://events.pagerduty.com/v2/enqueue (EU service region: https://events.eu.pagerduty.com/v2/enqueue) */
    endpoint: endpointUrl.optional(),
  }),
  /**
   * healthchecks.io-style pings, a dead-man's switch outside the cloud account: `/start` when a
   * backup is launched, the success URL when it succeeds, `/fail` when it fails. `url`: the
   * project's ping URL with its ping key (`https://hc-ping.com/<ping-key>`), each job pinging
   * `<url>/<job>` (a slug); or a job's own check URL (`https://hc-ping.com/<uuid>`) in `jobs`.
   */
  z
    .strictObject({
      kind: z.literal('healthchecks'),
      url: secretReference.optional(),
      jobs: z.record(jobNameSchema, secretReference).default({}),
    })
    .refine((hook) => hook.url !== undefined || Object.keys(hook.jobs).length > 0, 'healthchecks needs url (pinging <url>/<job>) or per-job check URLs in jobs'),
]);
export type WebhookConfig = z.infer<typeof webhookSchema>;

/**
 * Email over SMTP, from any cloud (SNS email subscriptions exist on AWS only): one message per
 * alert, subject the alert's title, to every address in `to`.
 */
const smtpSchema = z
  .strictObject({
    host: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'a host name such as smtp.example.com'),
    /** @default 587 with starttls, 465 with tls, 25 with none */
    port: z.number().int().min(1).max(65_535).optional(),
    /** `starttls`: upgrade required (refuses a server without it); `tls`: TLS from the first byte; `none`: a relay on the same host or network. */
    security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
    username: z.string().min(1).optional(),
    /** A secret reference to the account's password. */
    password: secretReference.optional(),
    /** `Vaultra <vaultra@example.com>` or a bare address. */
    from: z.string().min(3),
    to: z.array(z.email()).min(1),
  })
  .refine((smtp) => (smtp.username === undefined) === (smtp.password === undefined), { message: 'username and password go together', path: ['password'] })
  .refine((smtp) => smtp.security !== 'none' || smtp.password === undefined, { message: 'a password is never sent without TLS: use security starttls or tls', path: ['security'] });
export type SmtpConfig = z.infer<typeof smtpSchema>;

/** A signer restores trust: a public key as vaultra keygen prints it, or a key service's signing key (its public key is fetched). */
const trustedSignerSchema = z
  .string()
  .regex(/^(ed25519|ecdsa-p256):[A-Za-z0-9+/]{40,400}={0,2}$|^(aws-kms|gcp-kms|azure-keyvault):[\x21-\x7e]{1,2048}$/, 'a public key (ed25519:…, ecdsa-p256:…) or a key service signing key (aws-kms:<key ARN>, gcp-kms:<key version>, azure-keyvault:<key version URL>)');

const storageClass = z.enum(['STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'GLACIER', 'DEEP_ARCHIVE']);

export const environmentSchema = z
  .strictObject({
    cloud: z.enum(['aws', 'gcp', 'azure', 'local']),
    /** Where the environment lives; required for a cloud. */
    region: z.string().regex(/^[a-z0-9-]+$/, 'a region name such as eu-west-1').optional(),
    /**
     * Where `vaultra tui` sends on-demand actions (backup now, verify, restore): on AWS the api
     * function's name (default `vaultra-<env>-api`, as the stack names it), on GCP and Azure the api
     * function's URL (default: derived from the module's names — set it when the URL differs,
     * e.g. a Flex Consumption app's host name).
     */
    api: z.string().min(1).max(2048).optional(),
    /** AWS account id; when set, `cdk deploy` refuses another account. */
    account: z.string().regex(/^\d{12}$/, 'a 12-digit AWS account id').optional(),
    /** GCP: the project everything lives in, and the VPC the runner job egresses through (direct VPC egress). */
    gcp: z
      .strictObject({
        project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id'),
        network: z.string().min(1).optional(),
        subnetwork: z.string().min(1).optional(),
      })
      .optional(),
    /** Azure: the resource group and storage account the Terraform module creates or uses, and the runner's subnet. */
    azure: z
      .strictObject({
        resourceGroup: z.string().regex(/^[-\w._()]{1,90}$/, 'an Azure resource group name'),
        storageAccount: z.string().regex(/^[a-z0-9]{3,24}$/, 'a storage account name: 3-24 lowercase letters and digits'),
        container: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'a blob container name').default('vaultra'),
        subnetId: z.string().min(1).optional(),
        /** The Log Analytics workspace id (a GUID, Terraform's `customer_id`) the runner's console logs go to: `vaultra tui` reads a run's log lines there. */
        logWorkspace: z.uuid('the workspace id, a GUID (az monitor log-analytics workspace show --query customerId)').optional(),
      })
      .optional(),
    storage: z
      .strictObject({
        /** The bucket's name; default: generated by the stack. */
        bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name').optional(),
        /** Key prefix for every job: `<prefix>/<job>/<YYYY>/<MM>/<DD>/<runId>/`. */
        prefix: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'a simple key prefix such as vaultra').default('vaultra'),
        /** For a local environment: where backups go. */
        url: z.string().optional(),
        objectLock: z.strictObject({ mode: z.enum(['GOVERNANCE', 'COMPLIANCE']), days: z.number().int().min(1).max(36_500) }).optional(),
        transitions: z.array(z.strictObject({ afterDays: z.number().int().min(1), storageClass })).default([]),
        /** Old object versions (after a retention delete) are removed this many days later. */
        noncurrentVersionExpirationDays: z.number().int().min(1).default(30),
      })
      .default({ prefix: 'vaultra', transitions: [], noncurrentVersionExpirationDays: 30 }),
    network: z
      .strictObject({
        vpcId: z.string().regex(/^vpc-[0-9a-f]{8,17}$/, 'a VPC id such as vpc-0abc12345').optional(),
        subnetIds: z.array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'a subnet id')).default([]),
        securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'a security group id')).default([]),
        /** Give tasks a public IP: only for public subnets with no NAT (a public IP exposes the task). */
        assignPublicIp: z.boolean().default(false),
      })
      .default({ subnetIds: [], securityGroupIds: [], assignPublicIp: false })
      .refine((network) => network.vpcId !== undefined || (network.subnetIds.length === 0 && network.securityGroupIds.length === 0), {
        message: 'subnetIds and securityGroupIds need the vpcId they belong to',
      })
      .refine((network) => network.vpcId === undefined || network.subnetIds.length > 0, { message: 'with a vpcId, name the subnets the runner starts in (subnetIds)' })
      .refine((network) => network.vpcId !== undefined || !network.assignPublicIp, { message: 'assignPublicIp applies to the subnets of your own vpcId; a created VPC runs tasks in private subnets' }),
    runner: z
      .strictObject({
        cpu: fargateCpu.default(1024),
        memoryMiB: z.number().int().min(512).max(122_880).default(2048),
        logRetentionDays: z.number().int().min(1).default(30),
        /**
         * AWS: the runner's CPU architecture, for the Fargate task and the image `cdk deploy`
         * builds. Default `arm64` (Graviton); `x86_64` where the build host cannot emulate arm64
         * or the account wants x86. Cloud Run and Container Apps run linux/amd64 only.
         */
        architecture: z.enum(['arm64', 'x86_64']).optional(),
      })
      .default({ cpu: 1024, memoryMiB: 2048, logRetentionDays: 30 }),
    notifications: z
      .strictObject({
        /** AWS: subscriptions of the stack's alert topic (SNS email); other clouds: Cloud Monitoring / Azure Monitor mail on function errors. */
        email: z.array(z.email()).default([]),
        smtp: smtpSchema.optional(),
        webhooks: z.array(webhookSchema).default([]),
      })
      .default({ email: [], webhooks: [] }),
    /**
     * Manifest signatures. Restores and verifies of this environment's backups trust the
     * environment's own signing key (the cloud stack's KMS key; locally `key`, or the default
     * signing key) and every `trusted` signer: add the new key here before rotating to it, and
     * keep the old one as long as its backups are kept.
     */
    signing: z
      .strictObject({
        /** A local environment's signing key: a key file or a key service key. Cloud environments sign with the key their stack creates. */
        key: z.string().min(1).optional(),
        trusted: z.array(trustedSignerSchema).default([]),
      })
      .default({ trusted: [] }),
    /**
     * The runner's traces in the cloud's own tracing service. AWS: `xray: true` adds an ADOT
     * collector sidecar to the runner task that forwards its spans to X-Ray (infra/aws/otel-sidecar.ts).
     * Off by default: the sidecar costs every run memory and start-up time, and the functions'
     * metrics and alarms do not need it.
     */
    telemetry: z.strictObject({ xray: z.boolean().default(false) }).default({ xray: false }),
    /** Job fields every job of this environment starts from (a job's own field replaces one here). */
    defaults: z.record(z.string(), z.unknown()).default({}),
    jobs: z.record(jobNameSchema, z.record(z.string(), z.unknown())).refine((jobs) => Object.keys(jobs).length > 0, 'an environment needs at least one job'),
  })
  .refine((environment) => environment.cloud === 'local' || environment.region !== undefined, { message: 'a cloud environment needs its region', path: ['region'] })
  .refine((environment) => environment.cloud === 'local' || environment.signing.key === undefined, {
    message: 'a cloud environment signs with the key its stack creates: list other keys under signing.trusted instead',
    path: ['signing', 'key'],
  })
  .refine((environment) => !environment.telemetry.xray || environment.cloud === 'aws', { message: 'X-Ray is AWS tracing: leave telemetry.xray out on gcp, azure and local (set OTEL_* for the runner there)', path: ['telemetry', 'xray'] })
  .refine((environment) => environment.cloud !== 'gcp' || environment.gcp !== undefined, { message: 'a gcp environment needs gcp.project', path: ['gcp'] })
  .refine((environment) => environment.cloud !== 'azure' || environment.azure !== undefined, { message: 'an azure environment needs azure.resourceGroup and azure.storageAccount', path: ['azure'] })
  .refine((environment) => environment.runner.architecture !== 'arm64' || environment.cloud === 'aws' || environment.cloud === 'local', {
    message: 'Cloud Run and Container Apps run linux/amd64 containers only: leave runner.architecture out, or set x86_64',
    path: ['runner', 'architecture'],
  });

export const configSchema = z.strictObject({
  version: z.literal(1),
  environments: z.record(z.string().regex(/^[a-z][a-z0-9-]{0,30}$/, 'environment names are 1-31 chars of a-z, 0-9, "-"'), environmentSchema),
});
export type VaultraConfigFile = z.infer<typeof configSchema>;

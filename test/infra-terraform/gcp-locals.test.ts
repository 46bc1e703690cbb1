/**
 * infra/gcp/locals.tf evaluated by terraform itself (`terraform console`, no provider needed)
 * against the shipped vaultra.config.yaml and a variant, and compared with what core makes of
 * the same config: the jobs and their schedules, the functions' config JSON, the runner's size and
 * timeout, storage classes, secrets, the Firestore indexes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firestoreCatalogIndexes } from '../../core/adapters/catalog/firestore-catalog.js';
import { bundledEnvironmentJson, environmentOf, parseConfig, resolveConfig } from '../../core/config/load-config.js';
import { unmet } from '../support/requirements.js';
import { CONFIG_TEXT, evaluateLocals, findTerraform, runConsole } from './support/terraform-module.js';

const EXPRESSIONS = {
  jobs: 'keys(local.jobs)',
  backup_schedules: 'local.backup_schedules',
  maintenance_schedules: 'local.maintenance_schedules',
  config_json: 'local.config_json',
  job_timeout_seconds: 'local.job_timeout_seconds',
  runner_timeout_seconds: 'local.runner_timeout_seconds',
  runner_cpu: 'local.runner_cpu',
  runner_memory: 'local.runner_memory',
  bucket_name: 'local.bucket_name',
  prefix: 'local.prefix',
  transitions: 'local.transitions',
  noncurrent_version_days: 'local.noncurrent_version_days',
  retention_seconds: 'local.retention_seconds',
  versioning: 'local.versioning',
  source_secrets: 'local.source_secrets',
  webhook_secrets: 'local.webhook_secrets',
  catalog_indexes: 'local.catalog_indexes',
  catalog_collection: 'local.catalog_collection',
  // The module's service accounts (google_service_account.*.account_id), and the functions' image
  // repository, whose id has its own rules.
  account_ids: '[for suffix in ["runner", "functions", "scheduler", "builder"] : "${local.account_prefix}-${suffix}"]',
  functions_repository: '"${local.name}-functions"',
  emails: 'local.emails',
};

interface GcpLocals {
  jobs: string[];
  backup_schedules: Record<string, { cron: string; time_zone: string; body: string }>;
  maintenance_schedules: Record<string, { schedule: string; description: string; retry_count: number }>;
  config_json: string;
  job_timeout_seconds: Record<string, number>;
  runner_timeout_seconds: number;
  runner_cpu: number;
  runner_memory: string;
  bucket_name: string;
  prefix: string;
  transitions: { age_days: number; storage_class: string }[];
  noncurrent_version_days: number;
  retention_seconds: number | null;
  versioning: boolean;
  source_secrets: Record<string, { project: string; location: string | null; secret: string }>;
  webhook_secrets: Record<string, { project: string; location: string | null; secret: string }>;
  catalog_indexes: { field_path: string; order: string }[][];
  catalog_collection: string;
  account_ids: string[];
  functions_repository: string;
  emails: string[];
}

/** A gcp environment that exercises what the shipped one does not. */
const VARIANT = `
version: 1
environments:
  prod-eu-west-with-a-long-name:
    cloud: gcp
    region: europe-west4
    gcp: { project: acme-backups-prod, network: projects/acme-net/global/networks/db, subnetwork: projects/acme-net/regions/europe-west4/subnetworks/db }
    storage:
      bucket: acme-vaultra-prod
      prefix: backups
      objectLock: { mode: COMPLIANCE, days: 30 }
      transitions:
        - { afterDays: 30, storageClass: STANDARD_IA }
        - { afterDays: 90, storageClass: GLACIER_IR }
        - { afterDays: 365, storageClass: DEEP_ARCHIVE }
      noncurrentVersionExpirationDays: 7
    runner: { cpu: 512, memoryMiB: 1024 }
    notifications:
      webhooks:
        - { kind: generic, url: "secret+gcp://projects/acme-backups-prod/locations/europe-west4/secrets/hook", signingSecret: "env://HOOK_KEY" }
    defaults: { timeout: 90m, encryption: { kms: true } }
    jobs:
      orders:
        source: "secret+gcp://projects/acme-db/secrets/orders/versions/3"
        schedule: { cron: "0 1 * * *" }
        timeout: 1d
        runtime: { cpu: 4096, memoryMiB: 16384 }
      orders-replica:
        source: "secret+gcp://projects/acme-db/secrets/orders/versions/4"
        schedule: { cron: "0 13 * * *", timeZone: Asia/Tokyo }
      retired:
        source: "secret+gcp://projects/acme-db/locations/europe-west4/secrets/legacy"
        schedule: { cron: "0 2 * * 0" }
        enabled: false
`;

describe('infra/gcp locals, evaluated by terraform', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  let example: GcpLocals;
  let variant: GcpLocals;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vaultra-gcp-config-'));
    writeFileSync(path.join(work, 'vaultra.config.yaml'), VARIANT);
    [example, variant] = (await Promise.all([
      evaluateLocals(terraform, 'infra/gcp', { environment: 'gcp-example' }, EXPRESSIONS),
      evaluateLocals(terraform, 'infra/gcp', { environment: 'prod-eu-west-with-a-long-name', configPath: path.join(work, 'vaultra.config.yaml') }, EXPRESSIONS),
    ])) as unknown as [GcpLocals, GcpLocals];
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('schedules every enabled job of the shipped gcp-example with its cron and time zone, posting its name', () => {
    const environment = environmentOf(parseConfig(CONFIG_TEXT), 'gcp-example');
    expect(example.backup_schedules).toEqual(
      Object.fromEntries(environment.jobs.filter((job) => job.enabled).map((job) => [job.name, { cron: job.schedule.cron, time_zone: job.schedule.timeZone, body: JSON.stringify({ job: job.name }) }])),
    );
    expect(example.maintenance_schedules.reconcile?.schedule).toBe('*/5 * * * *');
    expect(example.maintenance_schedules.watchdog?.schedule).toBe('0 * * * *');
  });

  it('leaves disabled jobs unscheduled, and a job without a time zone in UTC', () => {
    expect(variant.jobs).toEqual(['orders', 'orders-replica', 'retired']);
    expect(Object.keys(variant.backup_schedules)).toEqual(['orders', 'orders-replica']);
    expect(variant.backup_schedules.orders?.time_zone).toBe('UTC');
    expect(variant.backup_schedules['orders-replica']?.time_zone).toBe('Asia/Tokyo');
  });

  it('hands the functions the environment exactly as bundledEnvironmentJson() does, and it validates', () => {
    expect(JSON.parse(example.config_json)).toEqual(JSON.parse(bundledEnvironmentJson(CONFIG_TEXT, 'gcp-example')));
    const config = resolveConfig(JSON.parse(example.config_json), 'VAULTRA_CONFIG_JSON');
    expect([...config.environments.keys()]).toEqual(['gcp-example']);
    expect(() => resolveConfig(JSON.parse(variant.config_json))).not.toThrow();
  });

  it('reads each job timeout as core does, and gives the runner job the longest plus ten minutes', () => {
    const environment = environmentOf(parseConfig(CONFIG_TEXT), 'gcp-example');
    expect(example.job_timeout_seconds).toEqual(Object.fromEntries(environment.jobs.map((job) => [job.name, job.timeoutMs / 1000])));
    expect(example.runner_timeout_seconds).toBe(Math.max(...environment.jobs.map((job) => job.timeoutMs / 1000)) + 600);
    expect(variant.job_timeout_seconds).toEqual({ orders: 86_400, 'orders-replica': 5400, retired: 5400 });
    // Cloud Run tasks run 24 hours at most.
    expect(variant.runner_timeout_seconds).toBe(86_400);
  });

  it('sizes the runner job for the largest job, in sizes Cloud Run takes', () => {
    // billing-mariadb asks for 2048 CPU units and 4 GiB.
    expect([example.runner_cpu, example.runner_memory]).toEqual([2, '4096Mi']);
    // 4096 units and 16 GiB: 4 CPUs hold at most 16 GiB.
    expect([variant.runner_cpu, variant.runner_memory]).toEqual([4, '16384Mi']);
  });

  it('maps storage to the bucket: versioning and old versions, or a retention policy for objectLock; S3 classes to GCS ones', () => {
    expect(example).toMatchObject({ bucket_name: 'vaultra-example-vaultra-gcp-example', prefix: 'vaultra', versioning: true, retention_seconds: null, noncurrent_version_days: 30 });
    expect(example.transitions).toEqual([{ age_days: 30, storage_class: 'COLDLINE' }]);
    expect(variant).toMatchObject({ bucket_name: 'acme-vaultra-prod', prefix: 'backups', versioning: false, retention_seconds: 30 * 86_400, noncurrent_version_days: 7 });
    expect(variant.transitions).toEqual([
      { age_days: 30, storage_class: 'NEARLINE' },
      { age_days: 90, storage_class: 'COLDLINE' },
      { age_days: 365, storage_class: 'ARCHIVE' },
    ]);
  });

  it('grants exactly the secrets the sources and webhooks name, once per secret, regional ones apart', () => {
    expect(example.source_secrets).toEqual({
      'vaultra-example/shop-postgres': { project: 'vaultra-example', location: null, secret: 'shop-postgres' },
      'vaultra-example/billing-mariadb': { project: 'vaultra-example', location: null, secret: 'billing-mariadb' },
    });
    expect(example.webhook_secrets).toEqual({ 'vaultra-example/slack-webhook': { project: 'vaultra-example', location: null, secret: 'slack-webhook' } });
    // Two versions of one secret are one grant; a disabled job's source stays readable (restores).
    expect(variant.source_secrets).toEqual({
      'acme-db/orders': { project: 'acme-db', location: null, secret: 'orders' },
      'acme-db/europe-west4/legacy': { project: 'acme-db', location: 'europe-west4', secret: 'legacy' },
    });
    // env:// references are not Secret Manager's.
    expect(variant.webhook_secrets).toEqual({ 'acme-backups-prod/europe-west4/hook': { project: 'acme-backups-prod', location: 'europe-west4', secret: 'hook' } });
  });

  it('creates the composite indexes firestoreCatalogIndexes() lists, in order', () => {
    const expected = firestoreCatalogIndexes(example.catalog_collection).indexes.map((index) => index.fields.map(({ fieldPath, order }) => ({ field_path: fieldPath, order })));
    expect(example.catalog_indexes).toEqual(expected);
  });

  it('keeps service account ids within 6-30 characters, even for a long environment name', () => {
    for (const id of [...example.account_ids, ...variant.account_ids]) expect(id).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    expect(example.account_ids).toEqual(['vaultra-gcp-example-runner', 'vaultra-gcp-example-functions', 'vaultra-gcp-example-scheduler', 'vaultra-gcp-example-builder']);
    // Artifact Registry repository ids: a letter first, lowercase letters, digits and hyphens, at most 63.
    for (const id of [example.functions_repository, variant.functions_repository]) expect(id).toMatch(/^[a-z][a-z0-9-]{0,61}[a-z0-9]$/);
    // Cut, with a hash of the environment's name: two long names sharing a start stay apart.
    expect(variant.account_ids[0]).toMatch(/^vaultra-prod-eu-[0-9a-f]{4}-runner$/);
    expect(example.emails).toEqual(['oncall@example.com']);
    expect(variant.emails).toEqual([]);
  });

  it('refuses an environment that is not on gcp, naming the module to use', async () => {
    const result = await runConsole(terraform, 'infra/gcp', { environment: 'example' }, { env: 'local.env' });
    expect(result.code).not.toBe(0);
    expect(result.stderr.replace(/\s+/g, ' ')).toContain('The environment must be a `cloud: gcp` environment of the config file');
  });
});

/**
 * infra/azure/locals.tf evaluated by terraform itself (`terraform console`, no provider needed)
 * against the shipped vaultra.config.yaml and a variant, and compared with what core makes of the
 * same config: the functions' config JSON, the runner's size and timeout, tiers, secrets, names.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerAppsSizeProblem } from '../../core/config/container-apps-sizes.js';
import { bundledEnvironmentJson, environmentOf, parseConfig, resolveConfig } from '../../core/config/load-config.js';
import { unmet } from '../support/requirements.js';
import { CONFIG_TEXT, evaluateLocals, findTerraform, runConsole } from './support/terraform-module.js';

const EXPRESSIONS = {
  enabled_jobs: 'keys(local.enabled_jobs)',
  config_json: 'local.config_json',
  job_timeout_seconds: 'local.job_timeout_seconds',
  runner_timeout_seconds: 'local.runner_timeout_seconds',
  runner_cpu: 'local.runner_cpu',
  runner_memory: 'local.runner_memory',
  resource_group_name: 'local.resource_group_name',
  storage_account_name: 'local.storage_account_name',
  container_name: 'local.container_name',
  subnet_id: 'local.subnet_id',
  prefix: 'local.prefix',
  tier_after_days: 'local.tier_after_days',
  noncurrent_version_days: 'local.noncurrent_version_days',
  immutability_days: 'local.immutability_days',
  source_secrets: 'local.source_secrets',
  webhook_secrets: 'local.webhook_secrets',
  referenced_vaults: 'local.referenced_vaults',
  key_vault_name: 'local.key_vault_name',
  functions_storage_account_name: 'local.functions_storage_account_name',
  runner_job_name: '"${local.short_name}-runner"',
  emails: 'local.emails',
  runtime_size_problems: 'local.runtime_size_problems',
  own_vault_secrets: 'local.own_vault_secrets',
};

interface AzureLocals {
  enabled_jobs: string[];
  config_json: string;
  job_timeout_seconds: Record<string, number>;
  runner_timeout_seconds: number;
  runner_cpu: number;
  runner_memory: string;
  resource_group_name: string;
  storage_account_name: string;
  container_name: string;
  subnet_id: string | null;
  prefix: string;
  tier_after_days: { cool: number | null; cold: number | null; archive: number | null };
  noncurrent_version_days: number;
  immutability_days: number | null;
  source_secrets: Record<string, { vault: string; secret: string }>;
  webhook_secrets: Record<string, { vault: string; secret: string }>;
  referenced_vaults: string[];
  key_vault_name: string;
  functions_storage_account_name: string;
  runner_job_name: string;
  emails: string[];
  runtime_size_problems: string[];
  own_vault_secrets: Record<string, { vault: string; secret: string }>;
}

/** An azure environment that exercises what the shipped one does not. */
const VARIANT = `
version: 1
environments:
  production-west-europe-main:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-backups, storageAccount: acmebackupsproduction01, subnetId: /subscriptions/0000/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/db/subnets/vaultra }
    storage:
      prefix: backups
      objectLock: { mode: GOVERNANCE, days: 14 }
      transitions:
        - { afterDays: 60, storageClass: ONEZONE_IA }
        - { afterDays: 30, storageClass: STANDARD_IA }
        - { afterDays: 180, storageClass: DEEP_ARCHIVE }
      noncurrentVersionExpirationDays: 10
    runner: { cpu: 512, memoryMiB: 1024 }
    notifications:
      email: [a@example.com, b@example.com]
      webhooks:
        - { kind: slack, url: "secret+azure://shared-hooks.vault.azure.net/slack" }
    defaults: { timeout: 45m, encryption: { kms: true } }
    jobs:
      crm:
        source: "secret+azure://Acme-Secrets/crm-db"
        schedule: { cron: "*/30 * * * *" }
      crm-old:
        source: "secret+azure://acme-secrets/crm-db/0123456789abcdef0123456789abcdef"
        schedule: { cron: "0 4 * * *" }
        timeout: 3h
        runtime: { cpu: 2048, memoryMiB: 4096 }
        enabled: false
`;

describe('infra/azure locals, evaluated by terraform', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  let example: AzureLocals;
  let variant: AzureLocals;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vaultra-azure-config-'));
    writeFileSync(path.join(work, 'vaultra.config.yaml'), VARIANT);
    [example, variant] = (await Promise.all([
      evaluateLocals(terraform, 'infra/azure', { environment: 'azure-example' }, EXPRESSIONS),
      evaluateLocals(terraform, 'infra/azure', { environment: 'production-west-europe-main', configPath: path.join(work, 'vaultra.config.yaml') }, EXPRESSIONS),
    ])) as unknown as [AzureLocals, AzureLocals];
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('hands the function app the environment exactly as bundledEnvironmentJson() does, and it validates', () => {
    expect(JSON.parse(example.config_json)).toEqual(JSON.parse(bundledEnvironmentJson(CONFIG_TEXT, 'azure-example')));
    const config = resolveConfig(JSON.parse(example.config_json), 'VAULTRA_CONFIG_JSON');
    expect([...config.environments.keys()]).toEqual(['azure-example']);
    expect(resolveConfig(JSON.parse(variant.config_json)).environments.get('production-west-europe-main')?.jobs.map((job) => job.name)).toEqual(['crm', 'crm-old']);
  });

  it('reads the enabled jobs and their timeouts as core does, and gives the runner job the longest plus ten minutes', () => {
    const environment = environmentOf(parseConfig(CONFIG_TEXT), 'azure-example');
    expect(example.enabled_jobs.sort()).toEqual(environment.jobs.filter((job) => job.enabled).map((job) => job.name).sort());
    expect(example.job_timeout_seconds).toEqual(Object.fromEntries(environment.jobs.map((job) => [job.name, job.timeoutMs / 1000])));
    expect(example.runner_timeout_seconds).toBe(7200 + 600);
    expect(variant.enabled_jobs).toEqual(['crm']);
    expect(variant.job_timeout_seconds).toEqual({ crm: 2700, 'crm-old': 10_800 });
    expect(variant.runner_timeout_seconds).toBe(10_800 + 600);
  });

  it('sizes the runner job for the largest job in the vCPU/GiB pairs Container Apps take, 2 vCPU at most', () => {
    expect([example.runner_cpu, example.runner_memory]).toEqual([1, '2Gi']);
    expect([variant.runner_cpu, variant.runner_memory]).toEqual([2, '4Gi']);
  });

  it('finds the sizes Container Apps would refuse exactly where core does, for the runner job’s precondition', async () => {
    expect(example.runtime_size_problems).toEqual([]);
    expect(variant.runtime_size_problems).toEqual([]);
    const runtimes: Record<string, Record<string, number> | undefined> = {
      'pair-quarter': { cpu: 256, memoryMiB: 512 },
      'pair-two': { cpu: 2048, memoryMiB: 4096 },
      'no-override': undefined,
      'fargate-only': { cpu: 1024, memoryMiB: 4096 },
      'above-consumption': { cpu: 4096, memoryMiB: 8192 },
      'cpu-only': { cpu: 512 },
      'memory-only': { memoryMiB: 1024 },
    };
    const jobs = Object.entries(runtimes)
      .map(([name, runtime]) => `      ${name}:\n        source: "secret+azure://kv/${name}"\n        schedule: { cron: "0 3 * * *" }\n${runtime ? `        runtime: ${JSON.stringify(runtime)}\n` : ''}`)
      .join('');
    const file = path.join(work, 'sizes.yaml');
    writeFileSync(file, `version: 1\nenvironments:\n  sizes:\n    cloud: azure\n    region: westeurope\n    azure: { resourceGroup: rg, storageAccount: sizes }\n    runner: { cpu: 4096, memoryMiB: 8192 }\n    jobs:\n${jobs}`);
    const { problems } = (await evaluateLocals(terraform, 'infra/azure', { environment: 'sizes', configPath: file }, { problems: 'local.runtime_size_problems' })) as { problems: string[] };
    const refusedByCore = Object.entries(runtimes).filter(([, runtime]) => containerAppsSizeProblem(runtime ?? {}) !== undefined).map(([name]) => name);
    expect(refusedByCore.sort()).toEqual(['above-consumption', 'cpu-only', 'fargate-only', 'memory-only']);
    expect(problems.filter((problem) => problem.startsWith('jobs.')).map((problem) => /^jobs\.([\w-]+)\.runtime: /.exec(problem)?.[1]).sort()).toEqual(refusedByCore);
    expect(problems).toContain('runner: on azure the runner takes at most cpu 2048 and memoryMiB 4096 (got {"cpu":4096,"memoryMiB":8192})');
  });

  it('takes the account, container, group and subnet from azure:, and tiers from S3 classes (the earliest day per tier)', () => {
    expect(example).toMatchObject({ resource_group_name: 'vaultra-example', storage_account_name: 'vaultraexample', container_name: 'vaultra', subnet_id: null, prefix: 'vaultra' });
    expect(example.tier_after_days).toEqual({ cool: 30, cold: null, archive: null });
    expect(example).toMatchObject({ noncurrent_version_days: 30, immutability_days: null });
    expect(variant).toMatchObject({ container_name: 'vaultra', subnet_id: '/subscriptions/0000/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/db/subnets/vaultra', prefix: 'backups' });
    expect(variant.tier_after_days).toEqual({ cool: 30, cold: null, archive: 180 });
    expect(variant).toMatchObject({ noncurrent_version_days: 10, immutability_days: 14 });
  });

  it('grants exactly the secrets the sources and webhooks name, once per secret, whatever the vault’s spelling', () => {
    expect(example.source_secrets).toEqual({
      'kvvaultraexample/shop-postgres': { vault: 'kvvaultraexample', secret: 'shop-postgres' },
      'kvvaultraexample/events-mongodb': { vault: 'kvvaultraexample', secret: 'events-mongodb' },
    });
    expect(Object.keys(example.webhook_secrets).sort()).toEqual(['kvvaultraexample/alert-webhook', 'kvvaultraexample/alert-webhook-key']);
    // The shipped secrets live in the environment's own vault: no other vault is looked up.
    expect(example.key_vault_name).toBe('kvvaultraexample');
    expect(example.referenced_vaults).toEqual([]);
    // A versioned reference and another spelling of the vault are the same grant.
    expect(variant.source_secrets).toEqual({ 'acme-secrets/crm-db': { vault: 'acme-secrets', secret: 'crm-db' } });
    expect(variant.webhook_secrets).toEqual({ 'shared-hooks/slack': { vault: 'shared-hooks', secret: 'slack' } });
    expect(variant.referenced_vaults.sort()).toEqual(['acme-secrets', 'shared-hooks']);
  });

  it('creates a placeholder for every secret of the environment’s own vault, and for no other vault’s', () => {
    // The shipped environment keeps all four in its vault: each gets a placeholder, so the
    // per-secret role assignments can be made in the apply that creates the vault.
    expect(example.own_vault_secrets).toEqual({ ...example.source_secrets, ...example.webhook_secrets });
    expect(Object.keys(example.own_vault_secrets).sort()).toEqual([
      'kvvaultraexample/alert-webhook',
      'kvvaultraexample/alert-webhook-key',
      'kvvaultraexample/events-mongodb',
      'kvvaultraexample/shop-postgres',
    ]);
    // Secrets in vaults the module does not own are never written: they must exist beforehand.
    expect(variant.own_vault_secrets).toEqual({});
  });

  it('keeps names within Azure’s limits', () => {
    for (const locals of [example, variant]) {
      expect(locals.key_vault_name).toMatch(/^[a-z][a-z0-9-]{2,23}$/);
      expect(locals.functions_storage_account_name).toMatch(/^[a-z0-9]{3,24}$/);
      expect(locals.functions_storage_account_name).not.toBe(locals.storage_account_name);
      expect(locals.runner_job_name).toMatch(/^[a-z][a-z0-9-]{0,30}[a-z0-9]$/);
    }
    expect(example.runner_job_name).toBe('vaultra-azure-example-runner');
    expect(variant.runner_job_name).toMatch(/^vaultra-production-[0-9a-f]{4}-runner$/);
    expect(variant.emails).toEqual(['a@example.com', 'b@example.com']);
  });

  it('refuses an environment that is not on azure, naming the module to use', async () => {
    const result = await runConsole(terraform, 'infra/azure', { environment: 'gcp-example' }, { env: 'local.env' });
    expect(result.code).not.toBe(0);
    expect(result.stderr.replace(/\s+/g, ' ')).toContain('The environment must be a `cloud: azure` environment of the config file');
  });
});

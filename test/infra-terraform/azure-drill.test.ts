/**
 * Scheduled drills in infra/azure (issue 20): per enabled job with drill.schedule, a Container
 * Apps job with the runner and, with drill.server, the official PostgreSQL image as a second
 * container with a TCP startup probe; a separate drill identity that reads the backups and
 * unwraps their keys, and nothing the backup runner has besides. Read three ways: the module as
 * Terraform parses it, its locals evaluated by `terraform console` against a config with drills
 * (and compared with what core computes: job names, the sidecar's port and database), and the
 * scratch server's stop script run by a real `sh` with stand-ins for the image's programs.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { containerAppsDrillJobName } from '../../core/adapters/launchers/container-apps-drill-job.js';
import { DRILL_SERVER_CONTAINER_NAME, drillSidecarOf } from '../../core/config/drill-sidecar.js';
import { unmet } from '../support/requirements.js';
import { dynamicBlocks, evaluateLocals, findTerraform, loadModule, nested, resource, type Block, type TerraformModule } from './support/terraform-module.js';

let azure: TerraformModule;

beforeAll(async () => {
  azure = await loadModule('infra/azure');
});

describe('the drill jobs', () => {
  it('are one manual Container Apps job per drilled job, named by the launcher\'s convention, as the drill identity, with no retry', () => {
    const job = resource(azure, 'azurerm_container_app_job', 'drill');
    expect(job).toMatchObject({
      for_each: '${local.drill_jobs}',
      name: '${local.drill_job_names[each.key]}',
      replica_timeout_in_seconds: '${local.job_timeout_seconds[each.key] + 600}',
      replica_retry_limit: 0,
      container_app_environment_id: '${azurerm_container_app_environment.vaultra.id}',
    });
    expect(nested(job, 'manual_trigger_config')).toEqual({ parallelism: 1, replica_completion_count: 1 });
    expect(nested(job, 'identity')).toEqual({ type: 'UserAssigned', identity_ids: ['${azurerm_user_assigned_identity.drill[0].id}'] });
    expect(azure.locals.drill_jobs).toBe('${{ for name, job in local.enabled_jobs : name => job if try(job.drill.schedule, null) != null }}');
    // No dedup key: a drill reads chunks by the index, it never computes a chunk id.
    expect(job).not.toHaveProperty('secret');
  });

  it('run the runner, as the drill identity, beside the scratch server: the drill.server image, the stop script, trust on loopback, a TCP startup probe on its port', () => {
    const template = nested(resource(azure, 'azurerm_container_app_job', 'drill'), 'template');
    const [runner] = template.container as Block[];
    expect(runner).toMatchObject({ name: 'runner', image: '${var.runner_image}' });
    expect(runner!.env).toEqual([
      { name: 'VAULTRA_CATALOG', value: '${local.catalog_url}' },
      { name: 'AZURE_CLIENT_ID', value: '${azurerm_user_assigned_identity.drill[0].client_id}' },
    ]);
    const [server] = dynamicBlocks(template, 'container');
    expect(server!.forEach).toBe('${try(each.value.drill.server, null) == null ? [] : [each.value.drill.server]}');
    expect(server!.content).toMatchObject({
      name: DRILL_SERVER_CONTAINER_NAME,
      image: '${container.value}',
      command: ['sh', '-c', '${local.drill_server_script}'],
      env: [{ name: 'POSTGRES_HOST_AUTH_METHOD', value: 'trust' }],
    });
    expect(nested(server!.content, 'startup_probe')).toMatchObject({ transport: 'TCP', port: '${local.drill_server_port}' });
    expect(nested(nested(resource(azure, 'azurerm_container_app_job', 'drill'), 'lifecycle'), 'precondition').condition).toBe('${length(local.drill_size_problems) == 0}');
  });
});

describe('the drill identity', () => {
  const assignments = () =>
    Object.entries(azure.resources.azurerm_role_assignment ?? {}).map(([name, block]) => ({ name, principal: String(block.principal_id), grant: `${String(block.role_definition_name ?? block.role_definition_id)} @ ${String(block.scope)}` }));

  it('reads the backup container, records its run, unwraps with the environment key and reads the signing key\'s public half: nothing more', () => {
    const drill = assignments().filter((one) => one.principal === '${azurerm_user_assigned_identity.drill[0].principal_id}');
    expect(drill.map((one) => one.grant).sort()).toEqual(
      [
        'Storage Blob Data Reader @ ${local.backup_container_scope}',
        'Storage Table Data Contributor @ ${local.catalog_table_scope}',
        '${azurerm_role_definition.key_unwrapper.role_definition_resource_id} @ ${local.key_scope}',
        '${azurerm_role_definition.key_reader.role_definition_resource_id} @ ${local.signing_key_scope}',
        'AcrPull @ ${var.runner_registry.id}',
      ].sort(),
    );
    expect(nested(resource(azure, 'azurerm_role_definition', 'key_unwrapper'), 'permissions')).toEqual({ actions: [], data_actions: ['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/unwrap/action'] });
    expect(nested(resource(azure, 'azurerm_role_definition', 'key_reader'), 'permissions')).toEqual({ actions: [], data_actions: ['Microsoft.KeyVault/vaults/keys/read'] });
    // Made only when a job drills.
    for (const name of ['drill_blobs', 'drill_catalog', 'drill_key', 'drill_signing_key']) expect(resource(azure, 'azurerm_role_assignment', name).count).toBe('${length(local.drill_jobs) > 0 ? 1 : 0}');
    expect(resource(azure, 'azurerm_user_assigned_identity', 'drill').count).toBe('${length(local.drill_jobs) > 0 ? 1 : 0}');
  });

  it('is apart from the runner\'s: the drill file grants the runner nothing, and the runner keeps exactly its roles (no blob reader or key reader of the drill\'s)', () => {
    const runner = assignments().filter((one) => one.principal === '${azurerm_user_assigned_identity.runner.principal_id}');
    expect(runner.map((one) => one.name).sort()).toEqual(['runner_blobs', 'runner_catalog', 'runner_dedup_key', 'runner_key', 'runner_pulls_image', 'runner_signs', 'runner_sources']);
    expect(runner.map((one) => one.grant).join('\n')).not.toMatch(/key_unwrapper|key_reader|Blob Data Reader/);
    const drillFile = azure.files.get('drill-jobs.tf')!;
    expect(drillFile).not.toMatch(/azurerm_user_assigned_identity\.runner/);
    // The functions may start each drill job (and read its executions), as they do the runner's.
    expect(resource(azure, 'azurerm_role_assignment', 'functions_start_drills')).toMatchObject({
      for_each: '${azurerm_container_app_job.drill}',
      scope: '${each.value.id}',
      role_definition_id: '${azurerm_role_definition.job_starter.role_definition_resource_id}',
      principal_id: '${azurerm_user_assigned_identity.functions.principal_id}',
    });
  });
});

const DRILL_CONFIG = `
version: 1
environments:
  drills:
    cloud: azure
    region: westeurope
    azure: { resourceGroup: rg-drills, storageAccount: acmedrills01 }
    defaults: { encryption: { kms: true } }
    jobs:
      shop:
        source: "secret+azure://acme/shop-db"
        schedule: { cron: "0 3 * * *" }
        drill: { schedule: { cron: "0 5 * * 0" }, server: "postgres:17" }
      crm.eu:
        source: "secret+azure://acme/crm-db"
        schedule: { cron: "0 4 * * *" }
        drill: { schedule: { cron: "0 6 * * 0" }, server: "postgres:16", cpu: 2048, memoryMiB: 4096 }
      files:
        source: "secret+azure://acme/files"
        schedule: { cron: "0 2 * * *" }
        drill: { schedule: { cron: "0 7 * * 0" }, cpu: 256, memoryMiB: 512 }
      tiny:
        source: "secret+azure://acme/tiny-db"
        schedule: { cron: "0 1 * * *" }
        drill: { schedule: { cron: "0 8 * * 0" }, server: "postgres:17", cpu: 256, memoryMiB: 512 }
      paused:
        source: "secret+azure://acme/paused-db"
        schedule: { cron: "0 1 * * *" }
        enabled: false
        drill: { schedule: { cron: "0 8 * * 0" }, server: "postgres:17" }
      adhoc:
        source: "secret+azure://acme/adhoc-db"
        schedule: { cron: "0 1 * * *" }
        drill: { rto: 30m }
`;

interface DrillLocals {
  short_name: string;
  drill_job_names: Record<string, string>;
  drill_sizes: Record<string, { cpu: number; server_cpu: number }>;
  drill_size_problems: string[];
  drill_server_port: number;
  drill_server_database: string;
  drill_server_script: string;
}

describe('drill locals, evaluated by terraform', () => {
  const terraform = findTerraform();
  if (!terraform) return unmet('terraform', 'no terraform binary (TERRAFORM_BIN, PATH or the setup cache): run scripts/setup-terraform.sh');

  let locals: DrillLocals;
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vaultra-azure-drills-'));
    writeFileSync(path.join(work, 'vaultra.config.yaml'), DRILL_CONFIG);
    const names = ['short_name', 'drill_job_names', 'drill_sizes', 'drill_size_problems', 'drill_server_port', 'drill_server_database', 'drill_server_script'];
    locals = (await evaluateLocals(terraform, 'infra/azure', { environment: 'drills', configPath: path.join(work, 'vaultra.config.yaml') }, Object.fromEntries(names.map((name) => [name, `local.${name}`])))) as unknown as DrillLocals;
  });

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('names each enabled drilled job\'s Container Apps job exactly as the launcher will look it up', () => {
    const runnerJob = `${locals.short_name}-runner`;
    expect(Object.keys(locals.drill_job_names).sort()).toEqual(['crm.eu', 'files', 'shop', 'tiny']);
    for (const [job, name] of Object.entries(locals.drill_job_names)) expect(name, job).toBe(containerAppsDrillJobName(runnerJob, job));
    expect(locals.drill_job_names.shop).toBe('vaultra-drills-drill-shop');
    expect(locals.drill_job_names['crm.eu']).toMatch(/^vaultra-drills-d[0-9a-f]{6}$/);
  });

  it('splits the drill size between the runner and its server, and refuses at plan time what Container Apps would refuse', () => {
    expect(locals.drill_sizes).toEqual({ shop: { cpu: 1, server_cpu: 0.5 }, 'crm.eu': { cpu: 2, server_cpu: 1 }, files: { cpu: 0.25, server_cpu: 0 }, tiny: { cpu: 0.25, server_cpu: 0 } });
    expect(locals.drill_size_problems).toEqual([
      'jobs.tiny.drill: on azure a drill\'s cpu/memoryMiB is a Container Apps Consumption pair, one of 512/1024, 1024/2048, 2048/4096 (the runner and its scratch server share it) (got 256/512)',
    ]);
  });

  it('serves the scratch URL the runner is given (drillSidecarOf): its port and database', () => {
    const scratch = new URL(drillSidecarOf({ server: 'postgres:17' })!.scratchUrl);
    expect(locals.drill_server_port).toBe(Number(scratch.port));
    expect(`/${locals.drill_server_database}`).toBe(scratch.pathname);
    expect(locals.drill_server_script).toContain(`-p ${scratch.port} -U ${scratch.username}`);
    expect(locals.drill_server_script).toContain(`datname = '${locals.drill_server_database}'`);
    // Trust for loopback only, whatever the image's own pg_hba.conf says.
    expect(locals.drill_server_script).toContain("printf 'local all all trust\\nhost all all 127.0.0.1/32 trust\\nhost all all ::1/128 trust\\n' > /tmp/vaultra-hba.conf");
    expect(locals.drill_server_script).toContain('-c hba_file=/tmp/vaultra-hba.conf');
  });

  describe('the scratch server\'s stop script, run by sh with stand-ins for the image\'s programs', () => {
    /** Runs the script with `docker-entrypoint.sh`, `psql` and `sleep` stand-ins: psql answers `answers` in turn (`down`: fails), then its last. */
    async function runScript(answers: string[]): Promise<{ code: number | null; stopped: boolean; polls: number; ms: number }> {
      const dir = mkdtempSync(path.join(tmpdir(), 'vaultra-drill-sidecar-'));
      try {
        const shim = (name: string, body: string) => {
          writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`);
          chmodSync(path.join(dir, name), 0o755);
        };
        writeFileSync(path.join(dir, 'answers'), answers.join('\n') + '\n');
        // The server: runs until SIGTERM, then notes it was stopped.
        shim('docker-entrypoint.sh', `trap 'touch ${dir}/stopped; exit 0' TERM\nwhile :; do /bin/sleep 0.05; done`);
        shim('sleep', 'exit 0');
        shim(
          'psql',
          [
            `n=$(cat ${dir}/polls 2>/dev/null || echo 0); n=$((n + 1)); echo $n > ${dir}/polls`,
            `answer=$(sed -n "\${n}p" ${dir}/answers); [ -n "$answer" ] || answer=$(tail -n 1 ${dir}/answers)`,
            '[ "$answer" = down ] && exit 2',
            'echo "$answer"',
          ].join('\n'),
        );
        const started = Date.now();
        const child = spawn('sh', ['-c', locals.drill_server_script], { env: { ...process.env, PATH: `${dir}:${process.env.PATH ?? ''}` }, stdio: 'ignore' });
        const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
        return { code, stopped: existsSync(path.join(dir, 'stopped')), polls: Number(readFileSync(path.join(dir, 'polls'), 'utf8')), ms: Date.now() - started };
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it('stops the server and exits 0 once the drill\'s database came and went', async () => {
      const result = await runScript(['down', 'down', '0', '0', '1', '1', '1', '0', '0']);
      expect(result).toMatchObject({ code: 0, stopped: true, polls: 8 });
    });

    it('stops after 15 minutes of polls when no drill ever created its database (the drill failed before restoring)', async () => {
      const result = await runScript(['0']);
      expect(result).toMatchObject({ code: 0, stopped: true, polls: 180 });
    });
  });
});

/**
 * infra/azure, read as Terraform reads it (every .tf parsed): the function app's settings, the
 * runner job, storage, Key Vault, alerting, and role assignments holding only what each identity
 * needs, scoped to the one resource it concerns. What the locals evaluate to is in
 * azure-locals.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AZURE_FUNCTION_ENV, FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { allResources, dynamicBlocks, loadModule, nested, resource, type Block, type TerraformModule } from './support/terraform-module.js';

let azure: TerraformModule;

beforeAll(async () => {
  azure = await loadModule('infra/azure');
});

describe('the function app', () => {
  it('gets every variable of FUNCTION_ENV and AZURE_FUNCTION_ENV, wired to the resources', () => {
    const app = resource(azure, 'azurerm_function_app_flex_consumption', 'vaultra');
    expect(app.app_settings).toBe('${local.function_app_settings}');
    const settings = azure.locals.function_app_settings as Record<string, string>;
    for (const name of [...Object.values(FUNCTION_ENV), ...Object.values(AZURE_FUNCTION_ENV)]) expect(settings, name).toHaveProperty(name);
    expect(settings).toMatchObject({
      [FUNCTION_ENV.environmentName]: '${var.environment}',
      [FUNCTION_ENV.configJson]: '${local.config_json}',
      [FUNCTION_ENV.storageUrl]: '${local.storage_url}',
      [FUNCTION_ENV.catalogUrl]: '${local.catalog_url}',
      [FUNCTION_ENV.kmsKey]: 'azure-keyvault:${azurerm_key_vault_key.vaultra.id}',
      [FUNCTION_ENV.signingKey]: 'azure-keyvault:${azurerm_key_vault_key.signing.id}',
      [AZURE_FUNCTION_ENV.subscriptionId]: '${data.azurerm_client_config.current.subscription_id}',
      [AZURE_FUNCTION_ENV.resourceGroup]: '${local.resource_group.name}',
      [AZURE_FUNCTION_ENV.containerAppsJob]: '${azurerm_container_app_job.runner_jobs["runner"].name}',
      [AZURE_FUNCTION_ENV.containerAppsRestoreJob]: '${azurerm_container_app_job.runner_jobs["restore"].name}',
      [AZURE_FUNCTION_ENV.managedIdentityClientId]: '${azurerm_user_assigned_identity.functions.client_id}',
    });
    expect(azure.locals.storage_url).toBe('azblob://${azurerm_storage_account.backups.name}/${azurerm_storage_container.backups.name}/${local.prefix}');
    // The table's name through terraform_data.catalog_table: the app and the runner wait for the table.
    expect(azure.locals.catalog_url).toBe('aztable://${azurerm_storage_account.backups.name}/${terraform_data.catalog_table.input.name}');
    expect(azure.locals.config_json).toBe('${jsonencode({ version = local.config.version, environments = { (var.environment) = local.env } })}');
  });

  it('reaches its own storage through its managed identity: Flex Consumption, Node', () => {
    const app = resource(azure, 'azurerm_function_app_flex_consumption', 'vaultra');
    expect(app).toMatchObject({
      storage_authentication_type: 'UserAssignedIdentity',
      storage_user_assigned_identity_id: '${azurerm_user_assigned_identity.functions.id}',
      runtime_name: 'node',
      runtime_version: '${var.functions_runtime_version}',
      https_only: true,
    });
    expect(nested(app, 'identity')).toEqual({ type: 'UserAssigned', identity_ids: ['${azurerm_user_assigned_identity.functions.id}'] });
    expect(resource(azure, 'azurerm_service_plan', 'functions').sku_name).toBe('FC1');
    expect((azure.variables.functions_runtime_version as Block).default).toMatch(/^(20|22)$/);
    expect(azure.data.archive_file?.functions?.source_dir).toBe('${local.functions_source_dir}');
    expect(azure.locals.functions_source_dir).toBe('${coalesce(var.functions_source_dir, "${path.module}/../../dist/functions-azure")}');
    const settings = azure.locals.function_app_settings as Record<string, string>;
    expect(settings).toMatchObject({
      AzureWebJobsStorage__accountName: '${azurerm_storage_account.functions.name}',
      AzureWebJobsStorage__credential: 'managedidentity',
      AzureWebJobsStorage__clientId: '${azurerm_user_assigned_identity.functions.client_id}',
    });
    // Only the identity-based connection: a plain AzureWebJobsStorage, even empty, is read as a
    // connection string (Azure/azure-functions-host#11796). The one azurerm adds anyway is deleted
    // by scripts/publish-functions.sh (azure-scripts.test.ts), rerun after every update of the app.
    expect(Object.keys(settings).filter((name) => name.toLowerCase().startsWith('azurewebjobsstorage')).sort()).toEqual([
      'AzureWebJobsStorage__accountName',
      'AzureWebJobsStorage__clientId',
      'AzureWebJobsStorage__credential',
    ]);
    expect(nested(resource(azure, 'terraform_data', 'publish_functions'), 'lifecycle').replace_triggered_by).toEqual(['${azurerm_function_app_flex_consumption.vaultra}']);
  });

  it('is published with OneDeploy by the Azure CLI, not with zip_deploy_file (Kudu /api/zipdeploy, which Flex Consumption lacks)', () => {
    expect(resource(azure, 'azurerm_function_app_flex_consumption', 'vaultra')).not.toHaveProperty('zip_deploy_file');
    const publish = resource(azure, 'terraform_data', 'publish_functions');
    // Again when the package changes, and after the provider creates, replaces or updates the app.
    expect(publish.triggers_replace).toEqual({ package: '${data.archive_file.functions.output_base64sha256}' });
    expect(nested(publish, 'lifecycle').replace_triggered_by).toEqual(['${azurerm_function_app_flex_consumption.vaultra}']);
    const exec = nested(publish.provisioner as Block, 'local-exec');
    expect(exec.command).toBe('${path.module}/scripts/publish-functions.sh');
    expect(exec.environment).toEqual({
      SUBSCRIPTION: '${data.azurerm_client_config.current.subscription_id}',
      RESOURCE_GROUP: '${local.resource_group.name}',
      FUNCTION_APP: '${azurerm_function_app_flex_consumption.vaultra.name}',
      PACKAGE: '${data.archive_file.functions.output_path}',
    });
    expect(publish.depends_on).toEqual(['${azurerm_role_assignment.functions_host_storage}']);
    expect(azure.data.archive_file?.functions?.source_dir).toBe('${local.functions_source_dir}');
  });

  it('has no schedule resource: the dispatcher timer reads every job’s cron and time zone from VAULTRA_CONFIG_JSON', () => {
    const types = allResources(azure).map((entry) => entry.type);
    expect(types.filter((type) => /logic_app|scheduler|automation/.test(type))).toEqual([]);
    expect(azure.files.get('functions.tf')).toContain('dispatcher timer');
  });
});

describe('no storage key anywhere', () => {
  it('turns shared keys off on both accounts and never reads, outputs or passes a key or connection string', () => {
    for (const name of ['backups', 'functions']) {
      expect(resource(azure, 'azurerm_storage_account', name)).toMatchObject({ shared_access_key_enabled: false, min_tls_version: 'TLS1_2', allow_nested_items_to_be_public: false, https_traffic_only_enabled: true });
    }
    for (const [file, text] of azure.files) {
      const code = text.replace(/#.*$/gm, '');
      expect(code, file).not.toMatch(/primary_access_key|secondary_access_key|primary_connection_string|secondary_connection_string|storage_access_key|storage_account_access_key|sas\b/);
    }
    const app = resource(azure, 'azurerm_function_app_flex_consumption', 'vaultra');
    expect(app).not.toHaveProperty('storage_access_key');
    const values = JSON.stringify(Object.values(azure.outputs).map((output) => output.value));
    expect(values).not.toMatch(/access_key|connection_string|azurerm_storage_account\.\w+\.(?!name\b|id\b)/);
  });
});

describe('the runner job (and the restore job, the same block: write-only-clouds.test.ts)', () => {
  it('is a manually triggered Container Apps job of the pushed image, as the runner identity, with the catalog and no retry', () => {
    const job = resource(azure, 'azurerm_container_app_job', 'runner_jobs');
    expect(job.name).toBe('${local.short_name}-${each.key}');
    expect((azure.locals.runner_jobs as Record<string, Block>).runner).toEqual({ identity: '${azurerm_user_assigned_identity.runner}' });
    expect(job).toMatchObject({ replica_retry_limit: 0, replica_timeout_in_seconds: '${local.runner_timeout_seconds}', container_app_environment_id: '${azurerm_container_app_environment.vaultra.id}' });
    expect(nested(job, 'manual_trigger_config')).toEqual({ parallelism: 1, replica_completion_count: 1 });
    expect(job).not.toHaveProperty('schedule_trigger_config');
    expect(nested(job, 'identity')).toEqual({ type: 'UserAssigned', identity_ids: ['${each.value.identity.id}'] });
    const container = nested(nested(job, 'template'), 'container');
    expect(container).toMatchObject({ name: 'runner', image: '${var.runner_image}', cpu: '${local.runner_cpu}', memory: '${local.runner_memory}' });
    expect(container.env).toEqual([
      { name: 'VAULTRA_CATALOG', value: '${local.catalog_url}' },
      { name: 'AZURE_CLIENT_ID', value: '${each.value.identity.client_id}' },
      { name: 'VAULTRA_DEDUP_KEY', secret_name: '${local.dedup_key_job_secret}' },
    ]);
  });

  it('gets the dedup key from Key Vault with its own identity, once that identity may read it', () => {
    const job = resource(azure, 'azurerm_container_app_job', 'runner_jobs');
    expect(job.secret).toEqual([{ name: '${local.dedup_key_job_secret}', identity: '${each.value.identity.id}', key_vault_secret_id: '${azurerm_key_vault_secret.dedup_key.id}' }]);
    expect(azure.locals.dedup_key_job_secret).toMatch(/^[a-z0-9-]+$/);
    expect(job.depends_on).toContain('${azurerm_role_assignment.runner_dedup_key}');
  });

  it('refuses at plan time a job size Container Apps would refuse at run time', () => {
    const precondition = nested(nested(resource(azure, 'azurerm_container_app_job', 'runner_jobs'), 'lifecycle'), 'precondition');
    expect(precondition.condition).toBe('${length(local.runtime_size_problems) == 0}');
    expect(precondition.error_message).toContain('${join("; ", local.runtime_size_problems)}');
  });

  it('runs in the configured subnet when azure.subnetId is set', () => {
    expect(resource(azure, 'azurerm_container_app_environment', 'vaultra').infrastructure_subnet_id).toBe('${local.subnet_id}');
    expect(azure.locals.subnet_id).toBe('${try(local.env.azure.subnetId, null)}');
  });
});

describe('storage and catalog', () => {
  it('versions the backup container, deletes old versions after noncurrentVersionExpirationDays and tiers along storage.transitions', () => {
    const account = resource(azure, 'azurerm_storage_account', 'backups');
    expect(account.name).toBe('${local.storage_account_name}');
    expect(nested(account, 'blob_properties').versioning_enabled).toBe(true);
    expect(nested(account, 'lifecycle').prevent_destroy).toBe(true);
    expect(resource(azure, 'azurerm_storage_container', 'backups')).toMatchObject({ name: '${local.container_name}', container_access_type: 'private' });
    const rule = nested(resource(azure, 'azurerm_storage_management_policy', 'backups'), 'rule');
    expect(nested(rule, 'filters').prefix_match).toEqual(['${local.container_name}/${local.prefix}/']);
    const actions = nested(rule, 'actions');
    expect(nested(actions, 'version')).toEqual({ delete_after_days_since_creation: '${local.noncurrent_version_days}' });
    expect(dynamicBlocks(actions, 'base_blob')[0]?.content).toEqual({
      tier_to_cool_after_days_since_modification_greater_than: '${base_blob.value.cool}',
      tier_to_cold_after_days_since_modification_greater_than: '${base_blob.value.cold}',
      tier_to_archive_after_days_since_modification_greater_than: '${base_blob.value.archive}',
    });
  });

  it('turns storage.objectLock into a version-level immutability policy, locked only when asked', () => {
    const [policy] = dynamicBlocks(resource(azure, 'azurerm_storage_account', 'backups'), 'immutability_policy');
    expect(policy?.forEach).toBe('${local.immutability_days == null ? [] : [local.immutability_days]}');
    expect(policy?.content).toMatchObject({ period_since_creation_in_days: '${immutability_policy.value}', state: '${var.lock_immutability_policy ? "Locked" : "Unlocked"}' });
  });

  it('keeps the catalog in the vaultraruns table, created through Resource Manager by a script', () => {
    expect(azure.locals.catalog_table).toBe('vaultraruns');
    expect(azure.locals.catalog_table_id).toBe('${azurerm_storage_account.backups.id}/tableServices/default/tables/${local.catalog_table}');
    const table = resource(azure, 'terraform_data', 'catalog_table');
    expect(table.triggers_replace).toEqual(['${local.catalog_table_id}']);
    expect(table.input).toEqual({ id: '${local.catalog_table_id}', name: '${local.catalog_table}' });
    const exec = nested(table.provisioner as Block, 'local-exec');
    expect(exec).toEqual({ command: '${path.module}/scripts/create-catalog-table.sh', environment: { TABLE_ID: '${local.catalog_table_id}' } });
  });

  it('has no azurerm_storage_table: azurerm 5.2 reads and writes its ACLs with the account key, which the account refuses', () => {
    expect(resource(azure, 'azurerm_storage_account', 'backups').shared_access_key_enabled).toBe(false);
    expect(azure.resources.azurerm_storage_table).toBeUndefined();
    // A state that holds the old resource forgets it (no refresh, which would fail with 403) and keeps the table and its runs.
    expect(azure.removed).toEqual([{ from: '${azurerm_storage_table.catalog}', lifecycle: [{ destroy: false }] }]);
  });
});

describe('Key Vault', () => {
  it('uses Azure RBAC and purge protection, and holds a rotated RSA key for wrapKey/unwrapKey that is never destroyed', () => {
    expect(resource(azure, 'azurerm_key_vault', 'vaultra')).toMatchObject({ rbac_authorization_enabled: true, purge_protection_enabled: true });
    expect(resource(azure, 'azurerm_key_vault', 'vaultra')).not.toHaveProperty('access_policy');
    const key = resource(azure, 'azurerm_key_vault_key', 'vaultra');
    expect(key).toMatchObject({ key_type: 'RSA', key_opts: ['wrapKey', 'unwrapKey'] });
    expect(nested(nested(key, 'rotation_policy'), 'automatic')).toHaveProperty('time_after_creation');
    expect(nested(key, 'rotation_policy')).not.toHaveProperty('expire_after');
    expect(nested(key, 'lifecycle').prevent_destroy).toBe(true);
  });

  it('holds an EC P-256 signing key for sign/verify only, without rotation policy (a new version is a new key to trust), never destroyed', () => {
    const key = resource(azure, 'azurerm_key_vault_key', 'signing');
    expect(key).toMatchObject({ key_type: 'EC', curve: 'P-256', key_opts: ['sign', 'verify'], key_vault_id: '${azurerm_key_vault.vaultra.id}' });
    expect(key).not.toHaveProperty('rotation_policy');
    expect(nested(key, 'lifecycle').prevent_destroy).toBe(true);
    expect(azure.locals.signing_key_scope).toBe('${azurerm_key_vault.vaultra.id}/keys/${azurerm_key_vault_key.signing.name}');
    expect(azure.outputs.signing_key?.value).toBe('${local.function_app_settings.VAULTRA_SIGNING_KEY}');
  });
});

describe('role assignments', () => {
  interface Assignment {
    readonly resource: string;
    readonly role: string;
    readonly scope: string;
  }

  function assignmentsByPrincipal(module: TerraformModule): Map<string, Assignment[]> {
    const byPrincipal = new Map<string, Assignment[]>();
    for (const [name, block] of Object.entries(module.resources.azurerm_role_assignment ?? {})) {
      // `drill[0]`: the drill identity exists only when a job schedules drills.
      const principal = /^\$\{azurerm_user_assigned_identity\.(\w+)(?:\[0\])?\.principal_id\}$/.exec(String(block.principal_id))?.[1] ?? String(block.principal_id);
      const list = byPrincipal.get(principal) ?? [];
      list.push({ resource: name, role: String(block.role_definition_name ?? block.role_definition_id), scope: String(block.scope) });
      byPrincipal.set(principal, list);
    }
    return byPrincipal;
  }

  const sorted = (list: Assignment[] | undefined) => (list ?? []).map(({ role, scope }) => `${role} @ ${scope}`).sort();

  it('gives the runner the backup container (no delete), the catalog table, the key (wrap only) and exactly the job sources’ secrets (and the registry it pulls from)', () => {
    expect(sorted(assignmentsByPrincipal(azure).get('runner'))).toEqual(
      [
        '${azurerm_role_definition.backup_writer.role_definition_resource_id} @ ${local.backup_container_scope}',
        'Storage Table Data Contributor @ ${local.catalog_table_scope}',
        '${azurerm_role_definition.key_wrapper.role_definition_resource_id} @ ${local.key_scope}',
        'Key Vault Crypto User @ ${local.signing_key_scope}',
        'Key Vault Secrets User @ ${local.vault_ids[each.value.vault]}/secrets/${each.value.secret}',
        'Key Vault Secrets User @ ${azurerm_key_vault.vaultra.id}/secrets/${azurerm_key_vault_secret.dedup_key.name}',
        'AcrPull @ ${var.runner_registry.id}',
      ].sort(),
    );
    expect(resource(azure, 'azurerm_role_assignment', 'runner_sources').for_each).toBe('${local.source_secrets}');
    expect(resource(azure, 'azurerm_role_assignment', 'runner_pulls_image').count).toBe('${var.runner_registry == null ? 0 : 1}');
  });

  it('gives the functions the container, the table, starting the runner job, the webhook secrets, their own host storage and telemetry', () => {
    expect(sorted(assignmentsByPrincipal(azure).get('functions'))).toEqual(
      [
        'Storage Blob Data Contributor @ ${local.backup_container_scope}',
        'Storage Table Data Contributor @ ${local.catalog_table_scope}',
        // The runner and restore jobs (runner.tf), and each drill job (drill-jobs.tf, azure-drill.test.ts).
        '${azurerm_role_definition.job_starter.role_definition_resource_id} @ ${each.value.id}',
        '${azurerm_role_definition.job_starter.role_definition_resource_id} @ ${each.value.id}',
        'Key Vault Secrets User @ ${local.vault_ids[each.value.vault]}/secrets/${each.value.secret}',
        'Storage Blob Data Owner @ ${azurerm_storage_account.functions.id}',
        'Monitoring Metrics Publisher @ ${azurerm_application_insights.functions.id}',
      ].sort(),
    );
    expect(resource(azure, 'azurerm_role_assignment', 'functions_webhooks').for_each).toBe('${local.webhook_secrets}');
    const starter = resource(azure, 'azurerm_role_definition', 'job_starter');
    expect(nested(starter, 'permissions')).toEqual({ actions: ['Microsoft.App/jobs/start/action', 'Microsoft.App/jobs/read', 'Microsoft.App/jobs/executions/read'], not_actions: [] });
    expect(starter.assignable_scopes).toEqual(['${local.resource_group_id}']);
  });

  it('scopes each role to the one resource: the container, the table, the key, each secret', () => {
    expect(azure.locals.backup_container_scope).toBe('${azurerm_storage_account.backups.id}/blobServices/default/containers/${azurerm_storage_container.backups.name}');
    // Through terraform_data.catalog_table: the grants on the table are made once it exists.
    expect(azure.locals.catalog_table_scope).toBe('${terraform_data.catalog_table.input.id}');
    expect(azure.locals.key_scope).toBe('${azurerm_key_vault.vaultra.id}/keys/${azurerm_key_vault_key.vaultra.name}');
  });

  it('assigns nothing else: the deployer only gets to create the key and set secrets, and no identity has a subscription or group role', () => {
    const byPrincipal = assignmentsByPrincipal(azure);
    expect([...byPrincipal.keys()].sort()).toEqual(['${data.azurerm_client_config.current.object_id}', 'drill', 'functions', 'restore', 'runner']);
    expect(sorted(byPrincipal.get('${data.azurerm_client_config.current.object_id}'))).toEqual([
      'Key Vault Crypto Officer @ ${azurerm_key_vault.vaultra.id}',
      'Key Vault Secrets Officer @ ${azurerm_key_vault.vaultra.id}',
    ]);
    for (const [, list] of byPrincipal) for (const assignment of list) expect(assignment.scope, assignment.resource).not.toMatch(/resource_group_id|subscription/);
    for (const { type } of allResources(azure)) expect(type).not.toMatch(/key_vault_access_policy/);
  });
});

describe('the dedup key (chunked snapshots)', () => {
  it('is one secret of the environment’s vault, written once with 64 random hex digits that never enter the state', () => {
    const secret = resource(azure, 'azurerm_key_vault_secret', 'dedup_key');
    expect(secret).toMatchObject({ name: '${local.dedup_key_secret_name}', key_vault_id: '${azurerm_key_vault.vaultra.id}', value_wo_version: 1, depends_on: ['${terraform_data.deployer_vault_access}'] });
    // Write-only at a fixed version: a later plan (where uuid() differs) rewrites nothing.
    expect(secret.value_wo).toBe('${replace("${uuid()}${uuid()}", "-", "")}');
    expect(secret).not.toHaveProperty('value');
    expect(azure.outputs.dedup_key_secret?.value).toBe('${azurerm_key_vault_secret.dedup_key.versionless_id}');
  });

  it('refuses a config that names a connection or webhook secret with the dedup key’s name', () => {
    const precondition = nested(nested(resource(azure, 'azurerm_key_vault_secret', 'dedup_key'), 'lifecycle'), 'precondition');
    expect(precondition.condition).toBe('${!local.dedup_key_name_taken}');
  });

  it('is read by the runner and restore identities only; the functions (retention) need no key to delete unreferenced packs', () => {
    const readers = Object.entries(azure.resources.azurerm_role_assignment ?? {}).filter(([, block]) => String(block.scope).includes('dedup_key'));
    expect(readers.map(([name, block]) => [name, block.role_definition_name, block.principal_id]).sort()).toEqual([
      ['restore_dedup_key', 'Key Vault Secrets User', '${azurerm_user_assigned_identity.restore.principal_id}'],
      ['runner_dedup_key', 'Key Vault Secrets User', '${azurerm_user_assigned_identity.runner.principal_id}'],
    ]);
  });
});

describe('the connection secrets on a first apply', () => {
  it('exist before the per-secret role assignments: a placeholder for each secret of the environment’s vault', () => {
    const placeholder = resource(azure, 'azurerm_key_vault_secret', 'connection');
    expect(placeholder).toMatchObject({
      for_each: '${local.own_vault_secrets}',
      name: '${each.value.secret}',
      key_vault_id: '${azurerm_key_vault.vaultra.id}',
      value_wo_version: 1,
      depends_on: ['${terraform_data.deployer_vault_access}'],
    });
    expect(placeholder.value_wo).toContain('az keyvault secret set --vault-name ${local.key_vault_name} --name ${each.value.secret}');
    for (const name of ['runner_sources', 'functions_webhooks']) {
      expect(resource(azure, 'azurerm_role_assignment', name).depends_on, name).toEqual(['${azurerm_key_vault_secret.connection}']);
    }
    expect(azure.locals.own_vault_secrets).toBe('${{ for key, secret in merge(local.source_secrets, local.webhook_secrets) : key => secret if secret.vault == lower(local.key_vault_name) }}');
  });

  it('never puts a secret value in the state: write-only placeholder, written once, real values set outside Terraform', () => {
    const placeholder = resource(azure, 'azurerm_key_vault_secret', 'connection');
    // `value` (even with ignore_changes) is read back from the latest version on every refresh.
    expect(placeholder).not.toHaveProperty('value');
    expect(placeholder).not.toHaveProperty('lifecycle');
    // Write-only attributes need Terraform 1.11.
    expect(azure.terraform[0]!.required_version).toBe('>= 1.11');
  });
});

describe('the deployer on the vault', () => {
  it('may set the connection secrets: Key Vault Secrets Officer, since on an RBAC vault Crypto Officer covers keys only', () => {
    expect(resource(azure, 'azurerm_role_assignment', 'deployer_secrets_officer')).toMatchObject({
      count: '${var.grant_deployer_secret_access ? 1 : 0}',
      scope: '${azurerm_key_vault.vaultra.id}',
      role_definition_name: 'Key Vault Secrets Officer',
      principal_id: '${data.azurerm_client_config.current.object_id}',
    });
    expect((azure.variables.grant_deployer_secret_access as Block).default).toBe(true);
  });

  it('waits until its new vault roles work before creating the key (no 403 on a first apply)', () => {
    const wait = resource(azure, 'terraform_data', 'deployer_vault_access');
    expect(wait.triggers_replace).toEqual(['${azurerm_key_vault.vaultra.id}', '${azurerm_role_assignment.deployer_key_officer[*].id}', '${azurerm_role_assignment.deployer_secrets_officer[*].id}']);
    const exec = nested(wait.provisioner as Block, 'local-exec');
    expect(exec).toMatchObject({ command: '${path.module}/scripts/wait-for-vault-access.sh', environment: { VAULT: '${azurerm_key_vault.vaultra.name}' } });
    expect(resource(azure, 'azurerm_key_vault_key', 'vaultra').depends_on).toEqual(['${terraform_data.deployer_vault_access}']);
  });
});

describe('alerting', () => {
  it('mails notifications.email through an Action Group when a function invocation fails', () => {
    const group = resource(azure, 'azurerm_monitor_action_group', 'alerts');
    const [receiver] = dynamicBlocks(group, 'email_receiver');
    expect(receiver?.forEach).toBe('${{ for index, email in local.emails : tostring(index) => email }}');
    expect(receiver?.content).toMatchObject({ email_address: '${email_receiver.value}' });
    const alert = resource(azure, 'azurerm_monitor_scheduled_query_rules_alert_v2', 'function_failures');
    expect(alert.scopes).toEqual(['${azurerm_application_insights.functions.id}']);
    expect(nested(alert, 'action').action_groups).toEqual(['${azurerm_monitor_action_group.alerts.id}']);
    expect(nested(alert, 'criteria').query).toContain('success == false');
  });
});

describe('module inputs', () => {
  it('reads the config itself and refuses an environment of another cloud', () => {
    expect(azure.locals.config).toBe('${yamldecode(file(var.config_path))}');
    expect(azure.locals.env).toBe('${local.config.environments[var.environment]}');
    expect(nested(azure.variables.environment!, 'validation').condition).toBe('${try(yamldecode(file(var.config_path)).environments[var.environment].cloud, "") == "azure"}');
  });

  it('pins its providers and reaches storage with Entra ID', () => {
    expect(nested(azure.terraform[0]!, 'required_providers')).toMatchObject({ azurerm: { source: 'hashicorp/azurerm', version: expect.stringMatching(/^~> \d+\.\d+$/) }, archive: { source: 'hashicorp/archive' } });
    expect(azure.providers.azurerm).toMatchObject({ storage_use_azuread: true });
  });
});

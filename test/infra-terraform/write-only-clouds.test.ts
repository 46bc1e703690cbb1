/**
 * Write-only backups on GCP and Azure (docs/architecture.md, "Write-only backups"): every .tf file
 * of infra/gcp and infra/azure parsed for what each identity is granted. The runner identity (the
 * runner job's, which runs backups) creates and reads objects and wraps file keys, and can delete
 * nothing and unwrap nothing; the restore identity (the restore job's, which runs restores and
 * verifies) reads and unwraps, and writes, deletes and signs nothing. The runner and restore jobs are
 * one resource block, an instance per identity (so they cannot drift apart), and the functions are
 * told the restore job's name and may start it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AZURE_FUNCTION_ENV, GCP_FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { allResources, dynamicBlocks, loadModule, nested, resource, type TerraformModule } from './support/terraform-module.js';

let gcp: TerraformModule;
let azure: TerraformModule;

beforeAll(async () => {
  [gcp, azure] = await Promise.all([loadModule('infra/gcp'), loadModule('infra/azure')]);
});

/** The module's `moved` blocks as `from → to` addresses, without hcl2json's `${…}`. */
function moves(module: TerraformModule): Record<string, string> {
  const address = (value: unknown) => String(value).replace(/^\$\{(.*)\}$/, '$1');
  return Object.fromEntries(module.moved.map((block) => [address(block.from), address(block.to)]));
}

describe('GCP', () => {
  const member = (account: string) => `serviceAccount:\${google_service_account.${account}.email}`;
  const grantsOf = (account: string) =>
    allResources(gcp)
      .filter(({ type, block }) => type.endsWith('_iam_member') && block.member === member(account))
      .map(({ type, name, block }) => ({ address: `${type}.${name}`, role: String(block.role), target: String(block.bucket ?? block.crypto_key_id ?? block.secret_id ?? block.name ?? block.project), conditioned: Array.isArray(block.condition) }));

  describe('the runner service account (backups)', () => {
    it('creates, reads and lists objects under the prefix, and cannot delete (or so overwrite) one', () => {
      const objects = resource(gcp, 'google_storage_bucket_iam_member', 'runner_objects');
      expect(objects).toMatchObject({ role: '${google_project_iam_custom_role.backup_writer.name}', member: member('runner') });
      expect(objects.condition).toEqual([expect.objectContaining({ expression: '${local.prefix_condition}' })]);
      const permissions = resource(gcp, 'google_project_iam_custom_role', 'backup_writer').permissions as string[];
      expect(permissions).toEqual(['storage.objects.create', 'storage.objects.get', 'storage.objects.list']);
      expect(permissions.filter((permission) => /delete|update|setIamPolicy|admin/i.test(permission))).toEqual([]);
    });

    it('wraps file keys and cannot unwrap one: encrypt only on the environment key', () => {
      const onKey = grantsOf('runner').filter((grant) => grant.target === '${google_kms_crypto_key.vaultra.id}');
      expect(onKey.map((grant) => grant.role)).toEqual(['roles/cloudkms.cryptoKeyEncrypter']);
    });

    it('holds no role that deletes objects or decrypts', () => {
      const roles = grantsOf('runner').map((grant) => grant.role);
      for (const forbidden of ['roles/storage.objectUser', 'roles/storage.objectAdmin', 'roles/storage.admin', 'roles/cloudkms.cryptoKeyDecrypter', 'roles/cloudkms.cryptoKeyEncrypterDecrypter', '${google_project_iam_custom_role.retention.name}']) {
        expect(roles, forbidden).not.toContain(forbidden);
      }
    });
  });

  describe('the restore service account (restores and verifies)', () => {
    it('is its own account, always made', () => {
      const account = resource(gcp, 'google_service_account', 'restore');
      expect(account.account_id).toBe('${local.account_prefix}-restore');
      expect(account).not.toHaveProperty('count');
    });

    it('reads backups under the prefix, decrypts with the key, reads the signing public key, records runs, reads the sources and the dedup key: nothing else', () => {
      expect(grantsOf('restore').map(({ role, target, conditioned }) => `${role} on ${target}${conditioned ? ' (conditioned)' : ''}`).sort()).toEqual(
        [
          'roles/cloudkms.cryptoKeyDecrypter on ${google_kms_crypto_key.vaultra.id}',
          'roles/cloudkms.publicKeyViewer on ${google_kms_crypto_key.signing.id}',
          'roles/datastore.user on ${local.project} (conditioned)',
          'roles/storage.objectViewer on ${google_storage_bucket.backups.name} (conditioned)',
          // The job sources' secrets (global and regional), the restore targets.
          'roles/secretmanager.secretAccessor on ${each.value.secret}',
          'roles/secretmanager.secretAccessor on ${each.value.secret}',
          'roles/secretmanager.secretAccessor on ${google_secret_manager_secret.dedup_key.secret_id}',
        ].sort(),
      );
      // Exactly the runner's source secrets, no webhook secret.
      for (const type of ['google_secret_manager_secret_iam_member', 'google_secret_manager_regional_secret_iam_member']) {
        expect(resource(gcp, type, 'restore_sources').for_each).toBe(resource(gcp, type, 'runner_sources').for_each);
      }
      expect(resource(gcp, 'google_storage_bucket_iam_member', 'restore_objects').condition).toEqual([expect.objectContaining({ expression: '${local.prefix_condition}' })]);
    });

    it('can neither write, delete, encrypt nor sign', () => {
      const roles = grantsOf('restore').map((grant) => grant.role);
      for (const forbidden of ['roles/storage.objectUser', 'roles/storage.objectCreator', 'roles/storage.objectAdmin', '${google_project_iam_custom_role.backup_writer.name}', 'roles/cloudkms.cryptoKeyEncrypter', 'roles/cloudkms.cryptoKeyEncrypterDecrypter', 'roles/cloudkms.signer']) {
        expect(roles, forbidden).not.toContain(forbidden);
      }
    });
  });

  describe('the runner and restore jobs', () => {
    it('are one block with an instance per account: `runner` as the runner account, `restore` as the restore account', () => {
      const jobs = resource(gcp, 'google_cloud_run_v2_job', 'runner_jobs');
      expect(jobs.for_each).toBe('${local.runner_jobs}');
      expect(jobs.name).toBe('${local.name}-${each.key}');
      expect(nested(nested(jobs, 'template'), 'template').service_account).toBe('${each.value.service_account}');
      expect(gcp.locals.runner_jobs).toEqual({
        runner: { service_account: '${google_service_account.runner.email}' },
        restore: { service_account: '${google_service_account.restore.email}' },
      });
      // No second block that could drift from this one.
      expect(Object.keys(gcp.resources.google_cloud_run_v2_job ?? {}).sort()).toEqual(['drill', 'runner_jobs']);
    });

    it('is created after both accounts may read the dedup key it references', () => {
      expect(resource(gcp, 'google_cloud_run_v2_job', 'runner_jobs').depends_on).toEqual(
        expect.arrayContaining(['${google_secret_manager_secret_iam_member.runner_dedup_key}', '${google_secret_manager_secret_iam_member.restore_dedup_key}']),
      );
    });

    it('are named to the functions, which may execute both with overrides and follow their executions', () => {
      const environment = gcp.locals.function_environment as Record<string, string>;
      expect(environment[GCP_FUNCTION_ENV.runJob]).toBe('${google_cloud_run_v2_job.runner_jobs["runner"].id}');
      expect(environment[GCP_FUNCTION_ENV.restoreJob]).toBe('${google_cloud_run_v2_job.runner_jobs["restore"].id}');
      for (const [name, role] of [
        ['functions_execute', 'roles/run.jobsExecutorWithOverrides'],
        ['functions_observe', 'roles/run.viewer'],
      ] as const) {
        expect(resource(gcp, 'google_cloud_run_v2_job_iam_member', name)).toMatchObject({ for_each: '${google_cloud_run_v2_job.runner_jobs}', name: '${each.value.name}', role, member: member('functions') });
      }
      expect(gcp.outputs.runner_job?.value).toBe('${google_cloud_run_v2_job.runner_jobs["runner"].id}');
      expect(gcp.outputs.restore_job?.value).toBe('${google_cloud_run_v2_job.runner_jobs["restore"].id}');
    });

    it('move a deployment applied before they shared a block, and the functions’ grants on them, to their new addresses instead of replacing them', () => {
      expect(moves(gcp)).toMatchObject({
        'google_cloud_run_v2_job.runner': 'google_cloud_run_v2_job.runner_jobs["runner"]',
        'google_cloud_run_v2_job.restore': 'google_cloud_run_v2_job.runner_jobs["restore"]',
        'google_cloud_run_v2_job_iam_member.functions_execute': 'google_cloud_run_v2_job_iam_member.functions_execute["runner"]',
        'google_cloud_run_v2_job_iam_member.functions_observe': 'google_cloud_run_v2_job_iam_member.functions_observe["runner"]',
        'google_cloud_run_v2_job_iam_member.functions_execute_restore': 'google_cloud_run_v2_job_iam_member.functions_execute["restore"]',
        'google_cloud_run_v2_job_iam_member.functions_observe_restore': 'google_cloud_run_v2_job_iam_member.functions_observe["restore"]',
      });
    });
  });
});

describe('Azure', () => {
  const assignmentsOf = (identity: string) =>
    Object.entries(azure.resources.azurerm_role_assignment ?? {})
      .filter(([, block]) => block.principal_id === `\${azurerm_user_assigned_identity.${identity}.principal_id}`)
      .map(([name, block]) => ({ name, role: String(block.role_definition_name ?? block.role_definition_id), scope: String(block.scope) }));
  const dataActionsOf = (definition: string) => nested(resource(azure, 'azurerm_role_definition', definition), 'permissions').data_actions as string[];

  describe('the runner identity (backups)', () => {
    it('writes, reads and lists blobs in the backup container, and deletes none', () => {
      const blobs = resource(azure, 'azurerm_role_assignment', 'runner_blobs');
      expect(blobs).toMatchObject({ scope: '${local.backup_container_scope}', role_definition_id: '${azurerm_role_definition.backup_writer.role_definition_resource_id}' });
      expect(blobs).not.toHaveProperty('role_definition_name');
      expect(dataActionsOf('backup_writer')).toEqual([
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
      ]);
      expect(nested(resource(azure, 'azurerm_role_definition', 'backup_writer'), 'permissions').actions).toEqual([]);
    });

    it('wraps with the environment key and cannot unwrap', () => {
      expect(resource(azure, 'azurerm_role_assignment', 'runner_key')).toMatchObject({ scope: '${local.key_scope}', role_definition_id: '${azurerm_role_definition.key_wrapper.role_definition_resource_id}' });
      expect(dataActionsOf('key_wrapper')).toEqual(['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/wrap/action']);
    });

    it('holds no role that deletes blobs or unwraps keys', () => {
      const roles = assignmentsOf('runner').map((assignment) => assignment.role);
      for (const forbidden of ['Storage Blob Data Contributor', 'Storage Blob Data Owner', 'Key Vault Crypto Service Encryption User', '${azurerm_role_definition.key_unwrapper.role_definition_resource_id}']) {
        expect(roles, forbidden).not.toContain(forbidden);
      }
      for (const definition of ['backup_writer', 'key_wrapper']) expect(dataActionsOf(definition).join(' '), definition).not.toMatch(/delete|unwrap|decrypt/i);
    });
  });

  describe('the restore identity (restores and verifies)', () => {
    it('reads the container, records runs, unwraps with the key, reads the signing key’s public half, the sources and the dedup key: nothing else', () => {
      expect(assignmentsOf('restore').map(({ role, scope }) => `${role} @ ${scope}`).sort()).toEqual(
        [
          'Storage Blob Data Reader @ ${local.backup_container_scope}',
          'Storage Table Data Contributor @ ${local.catalog_table_scope}',
          '${azurerm_role_definition.key_unwrapper.role_definition_resource_id} @ ${local.key_scope}',
          '${azurerm_role_definition.key_reader.role_definition_resource_id} @ ${local.signing_key_scope}',
          'Key Vault Secrets User @ ${local.vault_ids[each.value.vault]}/secrets/${each.value.secret}',
          'Key Vault Secrets User @ ${azurerm_key_vault.vaultra.id}/secrets/${azurerm_key_vault_secret.dedup_key.name}',
          'AcrPull @ ${var.runner_registry.id}',
        ].sort(),
      );
      expect(resource(azure, 'azurerm_role_assignment', 'restore_sources').for_each).toBe(resource(azure, 'azurerm_role_assignment', 'runner_sources').for_each);
      expect(dataActionsOf('key_unwrapper')).toEqual(['Microsoft.KeyVault/vaults/keys/read', 'Microsoft.KeyVault/vaults/keys/unwrap/action']);
      expect(dataActionsOf('key_reader')).toEqual(['Microsoft.KeyVault/vaults/keys/read']);
    });

    it('can neither write, delete, wrap nor sign', () => {
      const roles = assignmentsOf('restore').map((assignment) => assignment.role);
      for (const forbidden of ['Storage Blob Data Contributor', 'Storage Blob Data Owner', '${azurerm_role_definition.backup_writer.role_definition_resource_id}', 'Key Vault Crypto User', 'Key Vault Crypto Service Encryption User', '${azurerm_role_definition.key_wrapper.role_definition_resource_id}']) {
        expect(roles, forbidden).not.toContain(forbidden);
      }
    });

    it('shares the unwrapper and key reader roles with the drill identity, moved from their drill-only addresses so an apply keeps them', () => {
      for (const definition of ['key_unwrapper', 'key_reader']) {
        expect(resource(azure, 'azurerm_role_definition', definition)).not.toHaveProperty('count');
        expect(azure.files.get('iam.tf')).toContain(`from = azurerm_role_definition.${definition}[0]\n  to   = azurerm_role_definition.${definition}\n`);
      }
    });
  });

  describe('the runner and restore jobs', () => {
    it('are one block with an instance per identity, which also pulls the image and reads the dedup key reference', () => {
      const jobs = resource(azure, 'azurerm_container_app_job', 'runner_jobs');
      expect(jobs.for_each).toBe('${local.runner_jobs}');
      expect(jobs.name).toBe('${local.short_name}-${each.key}');
      expect(nested(jobs, 'identity').identity_ids).toEqual(['${each.value.identity.id}']);
      expect(nested(jobs, 'secret').identity).toBe('${each.value.identity.id}');
      expect(dynamicBlocks(jobs, 'registry').map(({ content }) => content.identity)).toEqual(['${each.value.identity.id}']);
      expect(azure.locals.runner_jobs).toEqual({
        runner: { identity: '${azurerm_user_assigned_identity.runner}' },
        restore: { identity: '${azurerm_user_assigned_identity.restore}' },
      });
      // No second block that could drift from this one.
      expect(Object.keys(azure.resources.azurerm_container_app_job ?? {}).sort()).toEqual(['drill', 'runner_jobs']);
    });

    it('are created after both identities may pull the image and read the dedup key', () => {
      expect(resource(azure, 'azurerm_container_app_job', 'runner_jobs').depends_on).toEqual([
        '${azurerm_role_assignment.runner_pulls_image}',
        '${azurerm_role_assignment.runner_dedup_key}',
        '${azurerm_role_assignment.restore_pulls_image}',
        '${azurerm_role_assignment.restore_dedup_key}',
      ]);
    });

    it('are named to the functions, which may start both and read their executions', () => {
      const settings = azure.locals.function_app_settings as Record<string, string>;
      expect(settings[AZURE_FUNCTION_ENV.containerAppsJob]).toBe('${azurerm_container_app_job.runner_jobs["runner"].name}');
      expect(settings[AZURE_FUNCTION_ENV.containerAppsRestoreJob]).toBe('${azurerm_container_app_job.runner_jobs["restore"].name}');
      expect(resource(azure, 'azurerm_role_assignment', 'functions_start_jobs')).toMatchObject({
        for_each: '${azurerm_container_app_job.runner_jobs}',
        scope: '${each.value.id}',
        role_definition_id: '${azurerm_role_definition.job_starter.role_definition_resource_id}',
        principal_id: '${azurerm_user_assigned_identity.functions.principal_id}',
      });
      expect(azure.outputs.runner_job?.value).toBe('${azurerm_container_app_job.runner_jobs["runner"].id}');
      expect(azure.outputs.restore_job?.value).toBe('${azurerm_container_app_job.runner_jobs["restore"].id}');
    });

    it('move a deployment applied before they shared a block, and the functions’ grants on them, to their new addresses instead of replacing them', () => {
      expect(moves(azure)).toMatchObject({
        'azurerm_container_app_job.runner': 'azurerm_container_app_job.runner_jobs["runner"]',
        'azurerm_container_app_job.restore': 'azurerm_container_app_job.runner_jobs["restore"]',
        'azurerm_role_assignment.functions_start_runner': 'azurerm_role_assignment.functions_start_jobs["runner"]',
        'azurerm_role_assignment.functions_start_restore': 'azurerm_role_assignment.functions_start_jobs["restore"]',
      });
    });
  });
});

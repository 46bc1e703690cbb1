/**
 * Write-only backups on GCP and Azure (docs/architecture.md, "Write-only backups"): every .tf file
 * of infra/gcp and infra/azure parsed for what each identity is granted. The runner identity (the
 * runner job's, which runs backups) creates and reads objects and wraps file keys, and can delete
 * nothing and unwrap nothing; the restore identity (the restore job's, which runs restores and
 * verifies) reads and unwraps, and writes, deletes and signs nothing. The restore job is the runner
 * job's twin apart from its name and identity, and the functions are told its name and may start it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { AZURE_FUNCTION_ENV, GCP_FUNCTION_ENV } from '../../core/platform/function-deployment.js';
import { allResources, loadModule, nested, resource, type Block, type TerraformModule } from './support/terraform-module.js';

let gcp: TerraformModule;
let azure: TerraformModule;

beforeAll(async () => {
  [gcp, azure] = await Promise.all([loadModule('infra/gcp'), loadModule('infra/azure')]);
});

/** A job's block with its identity's name written as `<identity>`, so the runner's and the restore's compare equal. */
function withIdentityErased(block: Block, identity: string): unknown {
  const text = JSON.stringify(block)
    .replace(new RegExp(`(google_service_account|azurerm_user_assigned_identity)\\.${identity}\\.`, 'g'), '$1.<identity>.')
    .replace(new RegExp(`(_iam_member|azurerm_role_assignment)\\.${identity}_`, 'g'), '$1.<identity>_')
    .replaceAll(`-${identity}"`, '-<identity>"');
  return JSON.parse(text) as unknown;
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

  describe('the restore job', () => {
    it('runs as the restore account', () => {
      const job = resource(gcp, 'google_cloud_run_v2_job', 'restore');
      expect(job.name).toBe('${local.name}-restore');
      expect(nested(nested(job, 'template'), 'template').service_account).toBe('${google_service_account.restore.email}');
    });

    it('is the runner job’s twin apart from its name and account: image, size, timeout, catalog, dedup key, network', () => {
      const runner = resource(gcp, 'google_cloud_run_v2_job', 'runner');
      const restore = resource(gcp, 'google_cloud_run_v2_job', 'restore');
      expect(withIdentityErased(restore, 'restore')).toEqual(withIdentityErased(runner, 'runner'));
    });

    it('is named to the functions, which may execute it with overrides and follow its executions', () => {
      expect((gcp.locals.function_environment as Record<string, string>)[GCP_FUNCTION_ENV.restoreJob]).toBe('${google_cloud_run_v2_job.restore.id}');
      for (const [name, role] of [
        ['functions_execute_restore', 'roles/run.jobsExecutorWithOverrides'],
        ['functions_observe_restore', 'roles/run.viewer'],
      ] as const) {
        expect(resource(gcp, 'google_cloud_run_v2_job_iam_member', name)).toMatchObject({ name: '${google_cloud_run_v2_job.restore.name}', role, member: member('functions') });
      }
      expect(gcp.outputs.restore_job?.value).toBe('${google_cloud_run_v2_job.restore.id}');
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

  describe('the restore job', () => {
    it('runs as the restore identity, which also pulls the image and reads the dedup key reference', () => {
      const job = resource(azure, 'azurerm_container_app_job', 'restore');
      expect(job.name).toBe('${local.short_name}-restore');
      expect(nested(job, 'identity').identity_ids).toEqual(['${azurerm_user_assigned_identity.restore.id}']);
      expect(nested(job, 'secret').identity).toBe('${azurerm_user_assigned_identity.restore.id}');
      expect(job.depends_on).toEqual(['${azurerm_role_assignment.restore_pulls_image}', '${azurerm_role_assignment.restore_dedup_key}']);
    });

    it('is the runner job’s twin apart from its name and identity (the runner’s precondition already refuses the sizes both use)', () => {
      const { lifecycle: _sizesChecked, ...runner } = resource(azure, 'azurerm_container_app_job', 'runner');
      const restore = resource(azure, 'azurerm_container_app_job', 'restore');
      expect(withIdentityErased(restore, 'restore')).toEqual(withIdentityErased(runner, 'runner'));
    });

    it('is named to the functions, which may start it and read its executions', () => {
      expect((azure.locals.function_app_settings as Record<string, string>)[AZURE_FUNCTION_ENV.containerAppsRestoreJob]).toBe('${azurerm_container_app_job.restore.name}');
      expect(resource(azure, 'azurerm_role_assignment', 'functions_start_restore')).toMatchObject({
        scope: '${azurerm_container_app_job.restore.id}',
        role_definition_id: '${azurerm_role_definition.job_starter.role_definition_resource_id}',
        principal_id: '${azurerm_user_assigned_identity.functions.principal_id}',
      });
      expect(azure.outputs.restore_job?.value).toBe('${azurerm_container_app_job.restore.id}');
    });
  });
});

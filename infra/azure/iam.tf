# Managed identities, each with only what it does, every role on the one resource it concerns: the
# runner (backups, write-only), the restore identity (restore-job.tf), the functions, and the drill
# identity (drill-jobs.tf). No secret, key or connection string is handed to any: they authenticate
# with Entra ID.
locals {
  backup_container_scope = "${azurerm_storage_account.backups.id}/blobServices/default/containers/${azurerm_storage_container.backups.name}"
  catalog_table_scope    = terraform_data.catalog_table.input.id
  key_scope              = "${azurerm_key_vault.vaultra.id}/keys/${azurerm_key_vault_key.vaultra.name}"
  signing_key_scope      = "${azurerm_key_vault.vaultra.id}/keys/${azurerm_key_vault_key.signing.name}"
}

# ---- runner -------------------------------------------------------------------------------

# Backups are write-only: the runner writes blobs (blocks and their commit), lists the container and
# reads blobs, and deletes none. Read is needed: the upload reads each committed blob's properties
# back to check its size and checksum, and a chunked backup reads earlier runs' manifests,
# signatures and indexes and checks that the packs it reuses exist; Azure grants properties, listing
# and content with the one read action, so the runner can also fetch packs and data objects: age
# ciphertext, whose file keys it cannot unwrap (wrap-only on the key below). What a failed run
# leaves, its cleanup can no longer delete: reconcile removes the run folder when it settles the
# run, and retention's pack sweep its unreferenced packs. Azure has no create-only write: the
# container's immutability policy (storage.objectLock) is what keeps a committed blob from being
# replaced. No built-in role writes without deleting (Storage Blob Data Contributor deletes).
resource "azurerm_role_definition" "backup_writer" {
  name        = "Vaultra ${var.environment} backup writer"
  scope       = local.resource_group_id
  description = "Write, read and list Vaultra backup blobs, never delete one: write-only backups."

  permissions {
    actions = []
    data_actions = [
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
      "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
    ]
  }

  assignable_scopes = [local.resource_group_id]
}

resource "azurerm_role_assignment" "runner_blobs" {
  scope              = local.backup_container_scope
  role_definition_id = azurerm_role_definition.backup_writer.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.runner.principal_id
  principal_type     = "ServicePrincipal"
}

resource "azurerm_role_assignment" "runner_catalog" {
  scope                = local.catalog_table_scope
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"
}

# wrapKey only (the age `vaultra-kms` stanza of each backup), and reading the key to address it;
# unwrapKey is the restore identity's, so the runner cannot open the backups it writes. No built-in
# role wraps without unwrapping (Crypto Service Encryption User does both).
resource "azurerm_role_definition" "key_wrapper" {
  name        = "Vaultra ${var.environment} key wrapper"
  scope       = local.resource_group_id
  description = "Read a Key Vault key and wrap with it, never unwrap: how a Vaultra backup seals its file key."

  permissions {
    actions = []
    data_actions = [
      "Microsoft.KeyVault/vaults/keys/read",
      "Microsoft.KeyVault/vaults/keys/wrap/action",
    ]
  }

  assignable_scopes = [local.resource_group_id]
}

resource "azurerm_role_assignment" "runner_key" {
  scope              = local.key_scope
  role_definition_id = azurerm_role_definition.key_wrapper.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.runner.principal_id
  principal_type     = "ServicePrincipal"
}

# unwrapKey on the environment key opens the age vaultra-kms stanza: the restore and drill
# identities'. No built-in role has it without wrapKey (Crypto Service Encryption User) or every key
# operation (Crypto User).
resource "azurerm_role_definition" "key_unwrapper" {
  name        = "Vaultra ${var.environment} key unwrapper"
  scope       = local.resource_group_id
  description = "Read a Key Vault key and unwrap with it: how a Vaultra restore, verify or drill opens a backup's file key."

  permissions {
    actions = []
    data_actions = [
      "Microsoft.KeyVault/vaults/keys/read",
      "Microsoft.KeyVault/vaults/keys/unwrap/action",
    ]
  }

  assignable_scopes = [local.resource_group_id]
}

# The signing key's public half, to check a backup's signature (--trust azure-keyvault:…): the
# restore and drill identities'. No built-in role reads a key without also signing or unwrapping.
resource "azurerm_role_definition" "key_reader" {
  name        = "Vaultra ${var.environment} key reader"
  scope       = local.resource_group_id
  description = "Read a Key Vault key's public half: how a Vaultra restore, verify or drill checks a backup's signature."

  permissions {
    actions      = []
    data_actions = ["Microsoft.KeyVault/vaults/keys/read"]
  }

  assignable_scopes = [local.resource_group_id]
}

# Both were made only for drills before the restore identity needed them too.
moved {
  from = azurerm_role_definition.key_unwrapper[0]
  to   = azurerm_role_definition.key_unwrapper
}

moved {
  from = azurerm_role_definition.key_reader[0]
  to   = azurerm_role_definition.key_reader
}

# Signs every manifest (backup) and reads the signing key's public half (on-demand restores and
# verifies trust it by name). No built-in role is narrower than Crypto User; on an EC key with
# key_opts sign/verify, and scoped to that one key, it allows signing, verifying and reading it.
resource "azurerm_role_assignment" "runner_signs" {
  scope                = local.signing_key_scope
  role_definition_name = "Key Vault Crypto User"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"
}

# Exactly the secrets the jobs' sources name. A secret of the environment's own vault exists from
# the first apply on (its placeholder, keyvault.tf); one of another vault must exist before it.
resource "azurerm_role_assignment" "runner_sources" {
  for_each = local.source_secrets

  scope                = "${local.vault_ids[each.value.vault]}/secrets/${each.value.secret}"
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"

  depends_on = [azurerm_key_vault_secret.connection]
}

resource "azurerm_role_assignment" "runner_pulls_image" {
  count = var.runner_registry == null ? 0 : 1

  scope                = var.runner_registry.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"
}

# ---- functions ------------------------------------------------------------------------------

# Manifest checks read and list run folders; retention deletes them.
resource "azurerm_role_assignment" "functions_blobs" {
  scope                = local.backup_container_scope
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.functions.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "functions_catalog" {
  scope                = local.catalog_table_scope
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = azurerm_user_assigned_identity.functions.principal_id
  principal_type       = "ServicePrincipal"
}

# Start the runner job (with the run's command line) and follow its executions; no built-in role
# is that narrow (Container Apps Jobs Operator can also stop and read every job's secrets).
resource "azurerm_role_definition" "job_starter" {
  name        = "Vaultra ${var.environment} runner starter"
  scope       = local.resource_group_id
  description = "Start the Vaultra runner job and read its executions."

  permissions {
    actions = [
      "Microsoft.App/jobs/start/action",
      "Microsoft.App/jobs/read",
      "Microsoft.App/jobs/executions/read",
    ]
    not_actions = []
  }

  assignable_scopes = [local.resource_group_id]
}

# The scheduled functions start backups and log pushes on the runner job, the api function restores
# and verifies on the restore job (runner.tf); reconcile reads both jobs' executions.
resource "azurerm_role_assignment" "functions_start_jobs" {
  for_each = azurerm_container_app_job.runner_jobs

  scope              = each.value.id
  role_definition_id = azurerm_role_definition.job_starter.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.functions.principal_id
  principal_type     = "ServicePrincipal"
}

# Where the grants were before they followed the jobs' one block: moved, not recreated.
moved {
  from = azurerm_role_assignment.functions_start_runner
  to   = azurerm_role_assignment.functions_start_jobs["runner"]
}

moved {
  from = azurerm_role_assignment.functions_start_restore
  to   = azurerm_role_assignment.functions_start_jobs["restore"]
}

# Exactly the webhook URLs and signing keys the notifiers resolve (created as for runner_sources).
resource "azurerm_role_assignment" "functions_webhooks" {
  for_each = local.webhook_secrets

  scope                = "${local.vault_ids[each.value.vault]}/secrets/${each.value.secret}"
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.functions.principal_id
  principal_type       = "ServicePrincipal"

  depends_on = [azurerm_key_vault_secret.connection]
}

# The host's own storage account (timer leases, deployment packages): the Functions host needs
# Blob Data Owner on it for identity-based AzureWebJobsStorage. It holds no backup.
resource "azurerm_role_assignment" "functions_host_storage" {
  scope                = azurerm_storage_account.functions.id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_user_assigned_identity.functions.principal_id
  principal_type       = "ServicePrincipal"
}

# Telemetry to Application Insights with Entra ID (its local, key-based ingestion is off).
resource "azurerm_role_assignment" "functions_telemetry" {
  scope                = azurerm_application_insights.functions.id
  role_definition_name = "Monitoring Metrics Publisher"
  principal_id         = azurerm_user_assigned_identity.functions.principal_id
  principal_type       = "ServicePrincipal"
}

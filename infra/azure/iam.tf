# Two managed identities, each with only what it does, every role on the one resource it concerns.
# No secret, key or connection string is handed to either: they authenticate with Entra ID.
locals {
  backup_container_scope = "${azurerm_storage_account.backups.id}/blobServices/default/containers/${azurerm_storage_container.backups.name}"
  catalog_table_scope    = terraform_data.catalog_table.input.id
  key_scope              = "${azurerm_key_vault.vaultra.id}/keys/${azurerm_key_vault_key.vaultra.name}"
  signing_key_scope      = "${azurerm_key_vault.vaultra.id}/keys/${azurerm_key_vault_key.signing.name}"
}

# ---- runner -------------------------------------------------------------------------------

# Writes the backup blobs, reads them back (verify, restore), deletes what a failed run left.
resource "azurerm_role_assignment" "runner_blobs" {
  scope                = local.backup_container_scope
  role_definition_name = "Storage Blob Data Contributor"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "runner_catalog" {
  scope                = local.catalog_table_scope
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"
}

# wrapKey (backup) and unwrapKey (restore, verify) on the one key: the narrowest built-in role.
resource "azurerm_role_assignment" "runner_key" {
  scope                = local.key_scope
  role_definition_name = "Key Vault Crypto Service Encryption User"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"
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

resource "azurerm_role_assignment" "functions_start_runner" {
  scope              = azurerm_container_app_job.runner.id
  role_definition_id = azurerm_role_definition.job_starter.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.functions.principal_id
  principal_type     = "ServicePrincipal"
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

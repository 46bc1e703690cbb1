# Restores and verifies run as the `restore` identity, on the restore job (runner.tf, the `restore`
# instance of the runner image's jobs): a Container Apps execution cannot switch identity, so the
# identity that may read backups and unwrap their file keys is a second job's. The api function
# starts restores and verifies there, backups on the runner job, whose identity is write-only. This
# file holds the identity and what it may do.

resource "azurerm_user_assigned_identity" "restore" {
  name                = "${local.name}-restore"
  location            = local.location
  resource_group_name = local.resource_group.name
  tags                = local.tags
}

# ---- what a restore may do ------------------------------------------------------------------

# Reads the backup blobs (manifests, signatures, data); writes and deletes none.
resource "azurerm_role_assignment" "restore_blobs" {
  scope                = local.backup_container_scope
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_user_assigned_identity.restore.principal_id
  principal_type       = "ServicePrincipal"
}

# Records its restore or verify run.
resource "azurerm_role_assignment" "restore_catalog" {
  scope                = local.catalog_table_scope
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = azurerm_user_assigned_identity.restore.principal_id
  principal_type       = "ServicePrincipal"
}

# Unwraps each backup's file key; never wraps.
resource "azurerm_role_assignment" "restore_key" {
  scope              = local.key_scope
  role_definition_id = azurerm_role_definition.key_unwrapper.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.restore.principal_id
  principal_type     = "ServicePrincipal"
}

# Checks the backup's signature against the signing key's public half; signs nothing.
resource "azurerm_role_assignment" "restore_signing_key" {
  scope              = local.signing_key_scope
  role_definition_id = azurerm_role_definition.key_reader.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.restore.principal_id
  principal_type     = "ServicePrincipal"
}

# The job sources' secrets: a restore writes into the job's database (or a target the request names
# with one of these). No webhook secret: alerts are the functions'.
resource "azurerm_role_assignment" "restore_sources" {
  for_each = local.source_secrets

  scope                = "${local.vault_ids[each.value.vault]}/secrets/${each.value.secret}"
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.restore.principal_id
  principal_type       = "ServicePrincipal"

  depends_on = [azurerm_key_vault_secret.connection]
}

resource "azurerm_role_assignment" "restore_dedup_key" {
  scope                = "${azurerm_key_vault.vaultra.id}/secrets/${azurerm_key_vault_secret.dedup_key.name}"
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.restore.principal_id
  principal_type       = "ServicePrincipal"
}

resource "azurerm_role_assignment" "restore_pulls_image" {
  count = var.runner_registry == null ? 0 : 1

  scope                = var.runner_registry.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.restore.principal_id
  principal_type       = "ServicePrincipal"
}

# Restores and verifies: a Container Apps job of their own, running as the `restore` identity. A
# Container Apps execution cannot switch identity (a start overrides containers, not the identity),
# so the identity that may read backups and unwrap their file keys is a second job's, and the
# launcher picks the job per run (core/adapters/launchers/container-apps-job-launcher.ts,
# `readsBackups`): the api function starts restores and verifies here, backups on the runner job,
# whose identity is write-only.
#
# The job is the runner job's twin — image, size, timeout, catalog, dedup key, environment (and so
# its subnet) — apart from its name and identity (test/infra-terraform/write-only-clouds.test.ts holds
# the two together).

resource "azurerm_user_assigned_identity" "restore" {
  name                = "${local.name}-restore"
  location            = local.location
  resource_group_name = local.resource_group.name
  tags                = local.tags
}

resource "azurerm_container_app_job" "restore" {
  name                         = "${local.short_name}-restore"
  location                     = local.location
  resource_group_name          = local.resource_group.name
  container_app_environment_id = azurerm_container_app_environment.vaultra.id
  replica_timeout_in_seconds   = local.runner_timeout_seconds
  # A failed restore is recorded and reported; a retry would reuse the run id it closed.
  replica_retry_limit = 0
  tags                = local.tags

  manual_trigger_config {
    parallelism              = 1
    replica_completion_count = 1
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.restore.id]
  }

  dynamic "registry" {
    for_each = var.runner_registry == null ? [] : [var.runner_registry]
    content {
      server   = registry.value.server
      identity = azurerm_user_assigned_identity.restore.id
    }
  }

  # A restore or verify of a chunked snapshot checks each chunk's id with the dedup key.
  secret {
    name                = local.dedup_key_job_secret
    identity            = azurerm_user_assigned_identity.restore.id
    key_vault_secret_id = azurerm_key_vault_secret.dedup_key.id
  }

  template {
    container {
      name   = "runner"
      image  = var.runner_image
      cpu    = local.runner_cpu
      memory = local.runner_memory

      env {
        name  = "VAULTRA_CATALOG"
        value = local.catalog_url
      }

      env {
        name  = "AZURE_CLIENT_ID"
        value = azurerm_user_assigned_identity.restore.client_id
      }

      env {
        name        = "VAULTRA_DEDUP_KEY"
        secret_name = local.dedup_key_job_secret
      }
    }
  }

  # Container Apps refuses a Key Vault reference its identity cannot read yet.
  depends_on = [azurerm_role_assignment.restore_pulls_image, azurerm_role_assignment.restore_dedup_key]
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

# The runner: a Container Apps job with a manual trigger, started by the functions once per backup
# or log push with the run's command line (jobs/start with a template override). It runs as the
# `runner` identity, which holds what a backup touches and no more: it writes blobs (no delete),
# records runs in the catalog table, wraps file keys (no unwrap), signs, reads the jobs' secrets and
# the dedup key. Restores and verifies run on the restore job (restore-job.tf), a copy of this one
# under the restore identity: a Container Apps execution cannot switch identity.
resource "azurerm_log_analytics_workspace" "vaultra" {
  name                = "${local.name}-logs"
  location            = local.location
  resource_group_name = local.resource_group.name
  sku                 = "PerGB2018"
  retention_in_days   = max(30, try(local.env.runner.logRetentionDays, 30))
  tags                = local.tags
}

resource "azurerm_container_app_environment" "vaultra" {
  name                       = "${local.name}-apps"
  location                   = local.location
  resource_group_name        = local.resource_group.name
  logs_destination           = "log-analytics"
  log_analytics_workspace_id = azurerm_log_analytics_workspace.vaultra.id
  # azure.subnetId: the runner reaches the databases from that subnet.
  infrastructure_subnet_id = local.subnet_id
  tags                     = local.tags
}

resource "azurerm_user_assigned_identity" "runner" {
  name                = "${local.name}-runner"
  location            = local.location
  resource_group_name = local.resource_group.name
  tags                = local.tags
}

resource "azurerm_container_app_job" "runner" {
  name                         = "${local.short_name}-runner"
  location                     = local.location
  resource_group_name          = local.resource_group.name
  container_app_environment_id = azurerm_container_app_environment.vaultra.id
  replica_timeout_in_seconds   = local.runner_timeout_seconds
  # A failed backup is recorded and alerted; the next schedule runs it again. A retry would reuse
  # the run id the catalog already closed.
  replica_retry_limit = 0
  tags                = local.tags

  manual_trigger_config {
    parallelism              = 1
    replica_completion_count = 1
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.runner.id]
  }

  dynamic "registry" {
    for_each = var.runner_registry == null ? [] : [var.runner_registry]
    content {
      server   = registry.value.server
      identity = azurerm_user_assigned_identity.runner.id
    }
  }

  # The dedup key (dedup-key.tf), at the version Terraform last read: Container Apps fetches it
  # with the runner's identity when an execution starts.
  secret {
    name                = local.dedup_key_job_secret
    identity            = azurerm_user_assigned_identity.runner.id
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

      # DefaultAzureCredential picks the user-assigned identity by its client id.
      env {
        name  = "AZURE_CLIENT_ID"
        value = azurerm_user_assigned_identity.runner.client_id
      }

      env {
        name        = "VAULTRA_DEDUP_KEY"
        secret_name = local.dedup_key_job_secret
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.runtime_size_problems) == 0
      error_message = "Sizes Container Apps would refuse in environment ${var.environment}: ${join("; ", local.runtime_size_problems)}."
    }
  }

  # Container Apps refuses a Key Vault reference its identity cannot read yet.
  depends_on = [azurerm_role_assignment.runner_pulls_image, azurerm_role_assignment.runner_dedup_key]
}

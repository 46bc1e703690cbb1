# Where the runner image's jobs run: a Container Apps environment (on azure.subnetId when set) with
# its Log Analytics workspace, and the two jobs started by the functions once per run with the run's
# command line (jobs/start with a template override), one block: alike in image, size, timeout,
# catalog, dedup key and environment (and so subnet), apart in name and identity.
#
# - `runner` (`vaultra-<env>-runner`): backups and log pushes, as the `runner` identity, which holds
#   what a backup touches and no more: it writes blobs (no delete), records runs in the catalog
#   table, wraps file keys (no unwrap), signs, reads the jobs' secrets and the dedup key.
# - `restore` (`vaultra-<env>-restore`): restores and verifies, as the `restore` identity
#   (restore-job.tf), which reads backups and unwraps their file keys and writes nothing. A Container
#   Apps execution cannot switch identity (a start overrides containers, not the identity), so the
#   identity that may read backups is a second job's, and the launcher picks the job per run
#   (core/adapters/launchers/container-apps-job-launcher.ts, `readsBackups`).
#
# (A long <env> is shortened: local.short_name.) The drill jobs (drill-jobs.tf) run the same image with
# a database sidecar: a block of their own.
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

# One job per identity, keyed by the job's name suffix.
locals {
  runner_jobs = {
    runner  = { identity = azurerm_user_assigned_identity.runner }
    restore = { identity = azurerm_user_assigned_identity.restore }
  }
}

resource "azurerm_container_app_job" "runner_jobs" {
  for_each = local.runner_jobs

  name                         = "${local.short_name}-${each.key}"
  location                     = local.location
  resource_group_name          = local.resource_group.name
  container_app_environment_id = azurerm_container_app_environment.vaultra.id
  replica_timeout_in_seconds   = local.runner_timeout_seconds
  # A failed run is recorded and reported (a backup's next schedule runs it again); a retry would
  # reuse the run id the catalog already closed.
  replica_retry_limit = 0
  tags                = local.tags

  manual_trigger_config {
    parallelism              = 1
    replica_completion_count = 1
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [each.value.identity.id]
  }

  dynamic "registry" {
    for_each = var.runner_registry == null ? [] : [var.runner_registry]
    content {
      server   = registry.value.server
      identity = each.value.identity.id
    }
  }

  # The dedup key (dedup-key.tf), at the version Terraform last read: backups derive chunk ids with
  # it, restores and verifies check them. Container Apps fetches it with the job's identity when an
  # execution starts.
  secret {
    name                = local.dedup_key_job_secret
    identity            = each.value.identity.id
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
        value = each.value.identity.client_id
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

  # Container Apps refuses a Key Vault reference its identity cannot read yet. depends_on cannot
  # differ per instance, so each job waits for both identities' grants.
  depends_on = [
    azurerm_role_assignment.runner_pulls_image,
    azurerm_role_assignment.runner_dedup_key,
    azurerm_role_assignment.restore_pulls_image,
    azurerm_role_assignment.restore_dedup_key,
  ]
}

# Where the two jobs were before they shared this block: an apply moves them in the state instead of
# destroying and recreating them.
moved {
  from = azurerm_container_app_job.runner
  to   = azurerm_container_app_job.runner_jobs["runner"]
}

moved {
  from = azurerm_container_app_job.restore
  to   = azurerm_container_app_job.runner_jobs["restore"]
}

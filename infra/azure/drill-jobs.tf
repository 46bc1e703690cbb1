# Scheduled restore drills (docs/drills.md, "In the cloud"): per enabled job with drill.schedule, a
# Container Apps job the dispatcher starts at the drill's fire times (dueRuns, kind drill) with
# `vaultra drill latest --scratch <server>`. The runner runs beside the job's scratch server
# (drill.server: an official PostgreSQL image) under its own identity, the only one made to
# restore: it reads the backups and unwraps their file keys, and writes nothing but its catalog
# record.

resource "azurerm_user_assigned_identity" "drill" {
  count = length(local.drill_jobs) > 0 ? 1 : 0

  name                = "${local.name}-drill"
  location            = local.location
  resource_group_name = local.resource_group.name
  tags                = local.tags
}

# ---- what a drill may do ----------------------------------------------------------------------

# Reads the backup blobs (manifests, signatures, data); writes and deletes none.
resource "azurerm_role_assignment" "drill_blobs" {
  count = length(local.drill_jobs) > 0 ? 1 : 0

  scope                = local.backup_container_scope
  role_definition_name = "Storage Blob Data Reader"
  principal_id         = azurerm_user_assigned_identity.drill[0].principal_id
  principal_type       = "ServicePrincipal"
}

# Records its own run (kind drill) in the catalog.
resource "azurerm_role_assignment" "drill_catalog" {
  count = length(local.drill_jobs) > 0 ? 1 : 0

  scope                = local.catalog_table_scope
  role_definition_name = "Storage Table Data Contributor"
  principal_id         = azurerm_user_assigned_identity.drill[0].principal_id
  principal_type       = "ServicePrincipal"
}

# Unwraps with the environment key and reads the signing key's public half: the roles of iam.tf.
resource "azurerm_role_assignment" "drill_key" {
  count = length(local.drill_jobs) > 0 ? 1 : 0

  scope              = local.key_scope
  role_definition_id = azurerm_role_definition.key_unwrapper.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.drill[0].principal_id
  principal_type     = "ServicePrincipal"
}

resource "azurerm_role_assignment" "drill_signing_key" {
  count = length(local.drill_jobs) > 0 ? 1 : 0

  scope              = local.signing_key_scope
  role_definition_id = azurerm_role_definition.key_reader.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.drill[0].principal_id
  principal_type     = "ServicePrincipal"
}

resource "azurerm_role_assignment" "drill_pulls_image" {
  count = var.runner_registry != null && length(local.drill_jobs) > 0 ? 1 : 0

  scope                = var.runner_registry.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_user_assigned_identity.drill[0].principal_id
  principal_type       = "ServicePrincipal"
}

# The dispatcher starts each drill job, and the reconciler reads its executions.
resource "azurerm_role_assignment" "functions_start_drills" {
  for_each = azurerm_container_app_job.drill

  scope              = each.value.id
  role_definition_id = azurerm_role_definition.job_starter.role_definition_resource_id
  principal_id       = azurerm_user_assigned_identity.functions.principal_id
  principal_type     = "ServicePrincipal"
}

# ---- the drill jobs ---------------------------------------------------------------------------

resource "azurerm_container_app_job" "drill" {
  for_each = local.drill_jobs

  name                         = local.drill_job_names[each.key]
  location                     = local.location
  resource_group_name          = local.resource_group.name
  container_app_environment_id = azurerm_container_app_environment.vaultra.id
  # A drill runs within its job's timeout (the dispatcher records it so), plus time to record it.
  replica_timeout_in_seconds = local.job_timeout_seconds[each.key] + 600
  # A failed drill is recorded and alerted; a retry would reuse the run id the drill closed.
  replica_retry_limit = 0
  tags                = local.tags

  manual_trigger_config {
    parallelism              = 1
    replica_completion_count = 1
  }

  identity {
    type         = "UserAssigned"
    identity_ids = [azurerm_user_assigned_identity.drill[0].id]
  }

  dynamic "registry" {
    for_each = var.runner_registry == null ? [] : [var.runner_registry]
    content {
      server   = registry.value.server
      identity = azurerm_user_assigned_identity.drill[0].id
    }
  }

  template {
    # The launcher replaces the runner's arguments per run and repeats this container as defined.
    container {
      name   = "runner"
      image  = var.runner_image
      cpu    = local.drill_sizes[each.key].cpu - local.drill_sizes[each.key].server_cpu
      memory = "${(local.drill_sizes[each.key].cpu - local.drill_sizes[each.key].server_cpu) * 2}Gi"

      env {
        name  = "VAULTRA_CATALOG"
        value = local.catalog_url
      }

      env {
        name  = "AZURE_CLIENT_ID"
        value = azurerm_user_assigned_identity.drill[0].client_id
      }
    }

    # Container Apps jobs have no start order: the probe tells the platform when the server is up,
    # and the runner's `--scratch` waits for it to accept connections anyway (pg-scratch.ts).
    dynamic "container" {
      for_each = try(each.value.drill.server, null) == null ? [] : [each.value.drill.server]
      content {
        name    = "scratch-server"
        image   = container.value
        cpu     = local.drill_sizes[each.key].server_cpu
        memory  = "${local.drill_sizes[each.key].server_cpu * 2}Gi"
        command = ["sh", "-c", local.drill_server_script]

        env {
          name  = "POSTGRES_HOST_AUTH_METHOD"
          value = "trust"
        }

        startup_probe {
          transport               = "TCP"
          port                    = local.drill_server_port
          interval_seconds        = 3
          failure_count_threshold = 10
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.drill_size_problems) == 0
      error_message = "Drill sizes Container Apps would refuse in environment ${var.environment}: ${join("; ", local.drill_size_problems)}."
    }
  }

  depends_on = [azurerm_role_assignment.drill_pulls_image]
}

# A deployment as infra/azure left it while the runner and restore jobs were two blocks, with the
# functions' grants on each: just those addresses, for moved-jobs.test.ts.
terraform {
  required_providers {
    azurerm = { source = "hashicorp/azurerm" }
  }
}

resource "azurerm_container_app_job" "runner" {
  name                         = "vaultra-azure-example-runner"
  location                     = "westeurope"
  resource_group_name          = "vaultra-example"
  container_app_environment_id = "/subscriptions/0/resourceGroups/vaultra-example/providers/Microsoft.App/managedEnvironments/vaultra"
  replica_timeout_in_seconds   = 600
  manual_trigger_config {}
  template {
    container {
      name   = "runner"
      image  = "example.invalid/vaultra/runner:test"
      cpu    = 1
      memory = "2Gi"
    }
  }
}

resource "azurerm_container_app_job" "restore" {
  name                         = "vaultra-azure-example-restore"
  location                     = "westeurope"
  resource_group_name          = "vaultra-example"
  container_app_environment_id = "/subscriptions/0/resourceGroups/vaultra-example/providers/Microsoft.App/managedEnvironments/vaultra"
  replica_timeout_in_seconds   = 600
  manual_trigger_config {}
  template {
    container {
      name   = "runner"
      image  = "example.invalid/vaultra/runner:test"
      cpu    = 1
      memory = "2Gi"
    }
  }
}

resource "azurerm_role_assignment" "functions_start_runner" {
  scope                = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vaultra-example/providers/Microsoft.App/jobs/vaultra-azure-example-runner"
  role_definition_name = "Reader"
  principal_id         = "00000000-0000-0000-0000-000000000000"
}

resource "azurerm_role_assignment" "functions_start_restore" {
  scope                = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/vaultra-example/providers/Microsoft.App/jobs/vaultra-azure-example-restore"
  role_definition_name = "Reader"
  principal_id         = "00000000-0000-0000-0000-000000000000"
}

output "ids" {
  value = {
    runner_job    = azurerm_container_app_job.runner.id
    restore_job   = azurerm_container_app_job.restore.id
    start_runner  = azurerm_role_assignment.functions_start_runner.id
    start_restore = azurerm_role_assignment.functions_start_restore.id
  }
}

output "names" {
  value = {
    runner_job  = azurerm_container_app_job.runner.name
    restore_job = azurerm_container_app_job.restore.name
  }
}

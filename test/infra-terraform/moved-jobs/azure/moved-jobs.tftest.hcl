# Run by moved-jobs.test.ts in a copy of infra/azure, with mock providers (no credentials, no cloud):
# "before" applies the old addresses into a state; "after" plans this module against that state.
# A resource the plan would create rather than move has an unknown id at plan time, so every id
# assertion below fails unless the moved blocks carry the old object over. Mock providers know no
# attribute that forces a replacement, so the names (which would) are compared too.
mock_provider "azurerm" {
  # The provider checks these are UUIDs; a mock's random strings are not.
  mock_data "azurerm_client_config" {
    defaults = {
      tenant_id       = "00000000-0000-0000-0000-000000000001"
      subscription_id = "00000000-0000-0000-0000-000000000002"
      object_id       = "00000000-0000-0000-0000-000000000003"
      client_id       = "00000000-0000-0000-0000-000000000004"
    }
  }
}
mock_provider "archive" {}

run "before" {
  state_key = "deployment"
  module {
    source = "./tests/before"
  }

  # Job ids the function app's grants can parse as scopes, one per job.
  override_resource {
    target = azurerm_container_app_job.runner
    values = { id = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/vaultra-example/providers/Microsoft.App/jobs/vaultra-azure-example-runner" }
  }
  override_resource {
    target = azurerm_container_app_job.restore
    values = { id = "/subscriptions/00000000-0000-0000-0000-000000000002/resourceGroups/vaultra-example/providers/Microsoft.App/jobs/vaultra-azure-example-restore" }
  }
}

run "after" {
  state_key = "deployment"
  command   = plan

  assert {
    condition     = azurerm_container_app_job.runner_jobs["runner"].name == run.before.names.runner_job && azurerm_container_app_job.runner_jobs["restore"].name == run.before.names.restore_job
    error_message = "A job would be renamed, and so replaced."
  }
  assert {
    condition     = azurerm_container_app_job.runner_jobs["runner"].id == run.before.ids.runner_job
    error_message = "The runner job would be replaced, not moved."
  }
  assert {
    condition     = azurerm_container_app_job.runner_jobs["restore"].id == run.before.ids.restore_job
    error_message = "The restore job would be replaced, not moved."
  }
  assert {
    condition     = azurerm_role_assignment.functions_start_jobs["runner"].id == run.before.ids.start_runner
    error_message = "The functions' grant on the runner job would be replaced, not moved."
  }
  assert {
    condition     = azurerm_role_assignment.functions_start_jobs["restore"].id == run.before.ids.start_restore
    error_message = "The functions' grant on the restore job would be replaced, not moved."
  }
}

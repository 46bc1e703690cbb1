output "storage_url" {
  description = "The --to / --from of `vaultra backup` and `vaultra restore` against this environment."
  value       = local.storage_url
}

output "catalog_url" {
  description = "The --catalog of the vaultra CLI against this environment."
  value       = local.catalog_url
}

output "kms_key" {
  description = "The --kms key of the age vaultra-kms stanza (a key version)."
  value       = local.function_app_settings.VAULTRA_KMS_KEY
}

output "signing_key" {
  description = "Signs every manifest (a key version): restore elsewhere with --trust <this> (needs the key's get permission), or put its public key in signing.trusted."
  value       = local.function_app_settings.VAULTRA_SIGNING_KEY
}

output "key_vault_uri" {
  description = "Put the jobs' connection secrets here: secret+azure://<vault>/<secret>."
  value       = azurerm_key_vault.vaultra.vault_uri
}

output "dedup_key_secret" {
  description = "The dedup key every runner shares (VAULTRA_DEDUP_KEY): a vaultra outside this module that backs up into these jobs needs the same one."
  value       = azurerm_key_vault_secret.dedup_key.versionless_id
}

output "runner_job" {
  value = azurerm_container_app_job.runner_jobs["runner"].id
}

output "restore_job" {
  description = "The Container Apps job on-demand restores and verifies run on, as the restore identity."
  value       = azurerm_container_app_job.runner_jobs["restore"].id
}

output "drill_jobs" {
  description = "Each drilled job's Container Apps job (drill-jobs.tf), by config job name."
  value       = { for name, job in azurerm_container_app_job.drill : name => job.name }
}

output "function_app" {
  value = azurerm_function_app_flex_consumption.vaultra.name
}

output "identities" {
  value = {
    runner    = azurerm_user_assigned_identity.runner.client_id
    restore   = azurerm_user_assigned_identity.restore.client_id
    functions = azurerm_user_assigned_identity.functions.client_id
    drill     = try(azurerm_user_assigned_identity.drill[0].client_id, null)
  }
}

output "bucket" {
  description = "Backups live under gs://<this>/<prefix>/."
  value       = google_storage_bucket.backups.name
}

output "storage_url" {
  description = "The --to / --from of `vaultra backup` and `vaultra restore` against this environment."
  value       = local.storage_url
}

output "catalog_url" {
  description = "The --catalog of the vaultra CLI against this environment."
  value       = local.catalog_url
}

output "kms_key" {
  description = "The --kms key of the age vaultra-kms stanza."
  value       = local.function_environment.VAULTRA_KMS_KEY
}

output "signing_key" {
  description = "Signs every manifest: restore elsewhere with --trust <this> (needs roles/cloudkms.publicKeyViewer), or put its public key in signing.trusted."
  value       = local.signing_key
}

output "dedup_key_secret" {
  description = "The dedup key every runner shares (VAULTRA_DEDUP_KEY): a vaultra outside this module that backs up into these jobs needs the same one."
  value       = google_secret_manager_secret.dedup_key.id
}

output "runner_job" {
  value = google_cloud_run_v2_job.runner_jobs["runner"].id
}

output "restore_job" {
  description = "The Cloud Run job on-demand restores and verifies run on, as the restore service account."
  value       = google_cloud_run_v2_job.runner_jobs["restore"].id
}

output "drill_jobs" {
  description = "Each drilled job's Cloud Run job: `gcloud run jobs executions list --job=<name>` shows its drills."
  value       = { for name, job in google_cloud_run_v2_job.drill : name => job.id }
}

output "alert_topic" {
  description = "Subscribe to this topic for every alert the functions send."
  value       = google_pubsub_topic.alerts.id
}

output "api_function_uri" {
  description = "POST here with an identity token of an api_invokers principal (gcloud auth print-identity-token); from outside the project's VPC networks only with api_ingress = ALLOW_ALL."
  value       = google_cloudfunctions2_function.vaultra["api"].service_config[0].uri
}

output "service_accounts" {
  value = {
    runner    = google_service_account.runner.email
    restore   = google_service_account.restore.email
    functions = google_service_account.functions.email
    scheduler = google_service_account.scheduler.email
    builder   = google_service_account.builder.email
    # Only when a job schedules a drill.
    drill = one(google_service_account.drill[*].email)
  }
}

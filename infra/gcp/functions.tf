# The four functions (functions-framework, Cloud Functions gen2), one source zip with one entry
# point each: scheduledBackup (Cloud Scheduler, one schedule per job), reconcile (every five
# minutes: finalizes runs whose Cloud Run execution ended, applies retention, alerts), watchdog
# (hourly: RPO and stuck runs), api (on-demand backup, restore, verify, list, status).
locals {
  functions_source_dir = coalesce(var.functions_source_dir, "${path.module}/../../dist/functions-gcp")

  functions = {
    scheduledBackup = { name = "scheduled-backup", timeout_seconds = 120, description = "a job's schedule fired: record the run, take the lock, execute the runner job" }
    reconcile       = { name = "reconcile", timeout_seconds = 300, description = "finalize finished runner executions, apply retention, alert on failure" }
    watchdog        = { name = "watchdog", timeout_seconds = 300, description = "hourly RPO and stuck-run check" }
    api             = { name = "api", timeout_seconds = 120, description = "on-demand backup, restore, verify, list, status (IAM-authenticated)" }
  }

  storage_url = "gs://${google_storage_bucket.backups.name}/${local.prefix}"
  catalog_url = "firestore://${local.project}/${local.catalog_collection}?database=${google_firestore_database.catalog.name}"

  # The names in core/platform/function-deployment.ts (FUNCTION_ENV, GCP_FUNCTION_ENV).
  function_environment = {
    VAULTRA_ENVIRONMENT   = var.environment
    VAULTRA_CONFIG_JSON   = local.config_json
    VAULTRA_STORAGE_URL   = local.storage_url
    VAULTRA_CATALOG_URL   = local.catalog_url
    VAULTRA_KMS_KEY       = "gcp-kms:${google_kms_crypto_key.vaultra.id}"
    VAULTRA_SIGNING_KEY   = local.signing_key
    VAULTRA_CLOUD_RUN_JOB = google_cloud_run_v2_job.runner_jobs["runner"].id
    # Restores and verifies run here, as the restore account (restore-job.tf).
    VAULTRA_CLOUD_RUN_RESTORE_JOB = google_cloud_run_v2_job.runner_jobs["restore"].id
    # Job name → its drill job (drill.tf); `{}` when no job schedules a drill.
    VAULTRA_CLOUD_RUN_DRILL_JOBS = jsonencode({ for name, job in google_cloud_run_v2_job.drill : name => job.id })
    VAULTRA_ALERT_TOPIC          = google_pubsub_topic.alerts.id
    NODE_OPTIONS                 = "--enable-source-maps"
  }
}

data "archive_file" "functions" {
  type        = "zip"
  source_dir  = local.functions_source_dir
  output_path = "${path.root}/.terraform/vaultra-functions-gcp.zip"
}

# Where Cloud Build reads the functions' source from.
resource "google_storage_bucket" "functions_source" {
  project                     = local.project
  name                        = "${local.bucket_base_name}-fn"
  location                    = upper(local.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_object" "functions_source" {
  # The content hash in the name: a new package is a new object, which redeploys the functions.
  name   = "functions-${data.archive_file.functions.output_md5}.zip"
  bucket = google_storage_bucket.functions_source.name
  source = data.archive_file.functions.output_path
}

# The functions' container images, in a repository of this environment's own: the builder can
# then be granted exactly it (Cloud Functions would otherwise create `gcf-artifacts` on the first
# build, a repository no grant can name beforehand).
resource "google_artifact_registry_repository" "functions" {
  project       = local.project
  location      = local.region
  repository_id = "${local.name}-functions"
  format        = "DOCKER"
  description   = "Vaultra ${var.environment}: the functions' images, built by Cloud Build"

  depends_on = [google_project_service.apis]
}

resource "google_cloudfunctions2_function" "vaultra" {
  for_each = local.functions

  project     = local.project
  name        = "${local.name}-${each.value.name}"
  location    = local.region
  description = "Vaultra ${var.environment}: ${each.value.description}"

  build_config {
    runtime     = var.functions_runtime
    entry_point = each.key
    source {
      storage_source {
        bucket = google_storage_bucket.functions_source.name
        object = google_storage_bucket_object.functions_source.name
      }
    }
    service_account   = google_service_account.builder.id
    docker_repository = google_artifact_registry_repository.functions.id
  }

  service_config {
    service_account_email            = google_service_account.functions.email
    available_memory                 = "512Mi"
    timeout_seconds                  = each.value.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = 10
    max_instance_request_concurrency = 1
    # Cloud Scheduler in the same project counts as internal traffic; nothing reaches the
    # functions from the internet unless api_ingress opens the api function.
    ingress_settings               = each.key == "api" ? var.api_ingress : "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    environment_variables          = local.function_environment
  }

  # The build runs as the builder as soon as the function is created: its grants come first (IAM
  # is eventually consistent; see infra/gcp/README.md for a build that still finds none).
  depends_on = [
    google_project_service.apis,
    google_storage_bucket_iam_member.builder_source,
    google_artifact_registry_repository_iam_member.builder_images,
    google_project_iam_member.builder_logs,
  ]
}

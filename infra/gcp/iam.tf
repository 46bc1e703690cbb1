# Five identities, each with only what it does; every grant is on the one resource it concerns.
# The workloads run as attached service accounts (credentials from the metadata server): no service
# account key exists anywhere in this module. The runner writes backups and cannot read one back
# (the restore account of restore-job.tf does that).
resource "google_service_account" "runner" {
  project      = local.project
  account_id   = "${local.account_prefix}-runner"
  display_name = "Vaultra ${var.environment} runner"
  description  = "Write-only backups under ${local.prefix}/ (create, no delete, no decrypt), catalog records, wrapping and signing with the environment keys, the jobs' connection secrets, the dedup key"

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "functions" {
  project      = local.project
  account_id   = "${local.account_prefix}-functions"
  display_name = "Vaultra ${var.environment} functions"
  description  = "Catalog, runner executions, retention deletes under ${local.prefix}/, alerts"

  depends_on = [google_project_service.apis]
}

resource "google_service_account" "scheduler" {
  project      = local.project
  account_id   = "${local.account_prefix}-scheduler"
  display_name = "Vaultra ${var.environment} scheduler"
  description  = "Cloud Scheduler's OIDC identity: invokes the scheduled functions, nothing else"

  depends_on = [google_project_service.apis]
}

# Cloud Build's identity when it builds the functions. Without one of its own, Cloud Build uses
# the project's default build account, which in projects created since mid-2024 has no role
# (and may not exist unless the Compute Engine API is on): the first function build would fail.
resource "google_service_account" "builder" {
  project      = local.project
  account_id   = "${local.account_prefix}-builder"
  display_name = "Vaultra ${var.environment} functions builder"
  description  = "Cloud Build's identity for the functions: reads their source zip, writes their images and its build logs"

  depends_on = [google_project_service.apis]
}

locals {
  # Objects under the prefix, and listings of it: run folders are named at run time, so the prefix
  # is the narrowest pattern that names them.
  prefix_condition = join(" || ", [
    "resource.name.startsWith(\"projects/_/buckets/${local.bucket_name}/objects/${local.prefix}/\")",
    "api.getAttribute(\"storage.googleapis.com/objectListPrefix\", \"\").startsWith(\"${local.prefix}/\")",
  ])
  catalog_condition = "resource.name == \"projects/${local.project}/databases/${local.firestore_database}\""
}

# ---- runner -------------------------------------------------------------------------------

# Backups are write-only: the runner creates objects, lists the prefix and gets objects, and can
# neither delete nor overwrite one (Cloud Storage asks for delete to replace an existing object).
# get is needed: the upload reads each finished object's metadata back to check its size and
# CRC32C, and a chunked backup reads earlier runs' manifests, signatures and indexes and checks
# that the packs it reuses exist. Cloud Storage authorizes a metadata read and a media read with the
# same permission, so the runner can also fetch packs and data objects: age ciphertext, whose file
# keys it cannot unwrap (encrypt-only on the key below). What a failed run leaves behind, its
# cleanup can no longer delete: reconcile removes the run folder when it settles the run, and
# retention's pack sweep removes its unreferenced packs (docs/architecture.md, "Write-only backups").
# No predefined role is create + get + list without delete (objectCreator cannot get, objectUser
# can delete).
resource "google_project_iam_custom_role" "backup_writer" {
  project     = local.project
  role_id     = "vaultra_${replace(var.environment, "-", "_")}_backup_writer"
  title       = "Vaultra ${var.environment} backup writer"
  description = "Create, read and list backup objects; no delete, so no overwrite: write-only backups"
  permissions = ["storage.objects.create", "storage.objects.get", "storage.objects.list"]

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "runner_objects" {
  bucket = google_storage_bucket.backups.name
  role   = google_project_iam_custom_role.backup_writer.name
  member = "serviceAccount:${google_service_account.runner.email}"

  condition {
    title       = "vaultra-prefix"
    description = "Objects under ${local.prefix}/ only"
    expression  = local.prefix_condition
  }
}

resource "google_project_iam_member" "runner_catalog" {
  project = local.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.runner.email}"

  condition {
    title       = "vaultra-catalog"
    description = "The Vaultra catalog database only"
    expression  = local.catalog_condition
  }
}

# Wraps each backup's file key (the age `vaultra-kms` stanza is a Cloud KMS Encrypt): encrypt only.
# Unwrapping is the restore account's, so the runner cannot open the backups it writes.
resource "google_kms_crypto_key_iam_member" "runner_key" {
  crypto_key_id = google_kms_crypto_key.vaultra.id
  role          = "roles/cloudkms.cryptoKeyEncrypter"
  member        = "serviceAccount:${google_service_account.runner.email}"
}

# Signs every manifest (backup), and reads the signing key's public key to trust earlier runs'
# signatures (a chunked backup reads its base's manifest). No decrypt, no verify: verifying is local.
resource "google_kms_crypto_key_iam_member" "runner_signs" {
  crypto_key_id = google_kms_crypto_key.signing.id
  role          = "roles/cloudkms.signer"
  member        = "serviceAccount:${google_service_account.runner.email}"
}

resource "google_kms_crypto_key_iam_member" "runner_reads_signing_public_key" {
  crypto_key_id = google_kms_crypto_key.signing.id
  role          = "roles/cloudkms.publicKeyViewer"
  member        = "serviceAccount:${google_service_account.runner.email}"
}

# Exactly the secrets the jobs' sources name.
resource "google_secret_manager_secret_iam_member" "runner_sources" {
  for_each = { for key, secret in local.source_secrets : key => secret if secret.location == null }

  project   = each.value.project
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runner.email}"
}

resource "google_secret_manager_regional_secret_iam_member" "runner_sources" {
  for_each = { for key, secret in local.source_secrets : key => secret if secret.location != null }

  project   = each.value.project
  location  = each.value.location
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runner.email}"
}

# ---- functions ------------------------------------------------------------------------------

# Retention deletes whole run folders and the manifest check reads and lists them: get, list and
# delete, and no write (no predefined role is that narrow).
resource "google_project_iam_custom_role" "retention" {
  project     = local.project
  role_id     = "vaultra_${replace(var.environment, "-", "_")}_retention"
  title       = "Vaultra ${var.environment} retention"
  description = "Read, list and delete backup objects: manifest checks and retention deletes"
  permissions = ["storage.objects.get", "storage.objects.list", "storage.objects.delete"]

  depends_on = [google_project_service.apis]
}

resource "google_storage_bucket_iam_member" "functions_objects" {
  bucket = google_storage_bucket.backups.name
  role   = google_project_iam_custom_role.retention.name
  member = "serviceAccount:${google_service_account.functions.email}"

  condition {
    title       = "vaultra-prefix"
    description = "Objects under ${local.prefix}/ only"
    expression  = local.prefix_condition
  }
}

resource "google_project_iam_member" "functions_catalog" {
  project = local.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.functions.email}"

  condition {
    title       = "vaultra-catalog"
    description = "The Vaultra catalog database only"
    expression  = local.catalog_condition
  }
}

# Execute the runner and restore jobs (runner.tf) with the run's arguments
# (run.jobs.runWithOverrides) and follow their executions (run.viewer: executions get and list): the
# scheduled functions start backups and log pushes on the runner job, the api function restores and
# verifies on the restore job, reconcile follows both. Executing a job needs no actAs on its service
# account: only creating or updating the job does.
resource "google_cloud_run_v2_job_iam_member" "functions_execute" {
  for_each = google_cloud_run_v2_job.runner_jobs

  project  = local.project
  location = local.region
  name     = each.value.name
  role     = "roles/run.jobsExecutorWithOverrides"
  member   = "serviceAccount:${google_service_account.functions.email}"
}

resource "google_cloud_run_v2_job_iam_member" "functions_observe" {
  for_each = google_cloud_run_v2_job.runner_jobs

  project  = local.project
  location = local.region
  name     = each.value.name
  role     = "roles/run.viewer"
  member   = "serviceAccount:${google_service_account.functions.email}"
}

# Where the grants were before they followed the jobs' one block: moved, not recreated.
moved {
  from = google_cloud_run_v2_job_iam_member.functions_execute
  to   = google_cloud_run_v2_job_iam_member.functions_execute["runner"]
}

moved {
  from = google_cloud_run_v2_job_iam_member.functions_observe
  to   = google_cloud_run_v2_job_iam_member.functions_observe["runner"]
}

moved {
  from = google_cloud_run_v2_job_iam_member.functions_execute_restore
  to   = google_cloud_run_v2_job_iam_member.functions_execute["restore"]
}

moved {
  from = google_cloud_run_v2_job_iam_member.functions_observe_restore
  to   = google_cloud_run_v2_job_iam_member.functions_observe["restore"]
}

resource "google_pubsub_topic_iam_member" "functions_publish" {
  project = local.project
  topic   = google_pubsub_topic.alerts.name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.functions.email}"
}

# Exactly the webhook URLs and signing keys the notifiers resolve.
resource "google_secret_manager_secret_iam_member" "functions_webhooks" {
  for_each = { for key, secret in local.webhook_secrets : key => secret if secret.location == null }

  project   = each.value.project
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.functions.email}"
}

resource "google_secret_manager_regional_secret_iam_member" "functions_webhooks" {
  for_each = { for key, secret in local.webhook_secrets : key => secret if secret.location != null }

  project   = each.value.project
  location  = each.value.location
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.functions.email}"
}

# ---- builder -------------------------------------------------------------------------------

# What Cloud Functions' custom build account needs: the source, the image repository, the logs.
resource "google_storage_bucket_iam_member" "builder_source" {
  bucket = google_storage_bucket.functions_source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.builder.email}"
}

resource "google_artifact_registry_repository_iam_member" "builder_images" {
  project    = local.project
  location   = local.region
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.builder.email}"
}

# Build logs: Cloud Logging has no narrower scope than the project for writing entries.
resource "google_project_iam_member" "builder_logs" {
  project = local.project
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.builder.email}"
}

# ---- scheduler -----------------------------------------------------------------------------

# Invokes the three scheduled functions (their Cloud Run services); never the api function.
resource "google_cloud_run_v2_service_iam_member" "scheduler_invokes" {
  for_each = toset(["scheduledBackup", "reconcile", "watchdog"])

  project  = local.project
  location = local.region
  name     = google_cloudfunctions2_function.vaultra[each.key].service_config[0].service
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.scheduler.email}"
}

# ---- api callers ---------------------------------------------------------------------------

resource "google_cloud_run_v2_service_iam_member" "api_invokers" {
  for_each = toset(var.api_invokers)

  project  = local.project
  location = local.region
  name     = google_cloudfunctions2_function.vaultra["api"].service_config[0].service
  role     = "roles/run.invoker"
  member   = each.value
}

# Restores and verifies: a Cloud Run job of their own, running as the `restore` service account. A
# Cloud Run execution cannot switch identity (its overrides are arguments, environment and task
# count), so the identity that may read and decrypt backups is a second job's, and the launcher
# picks the job per run (core/adapters/launchers/cloud-run-job-launcher.ts, `readsBackups`): the
# api function starts restores and verifies here, backups on the runner job, whose account is
# write-only.
#
# The job is the runner job's twin — image, size, timeout, catalog, dedup key, network — apart
# from its name and its account (test/infra-terraform/write-only-clouds.test.ts holds the two together).

resource "google_service_account" "restore" {
  project      = local.project
  account_id   = "${local.account_prefix}-restore"
  display_name = "Vaultra ${var.environment} restores"
  description  = "On-demand restores and verifies: read and decrypt backups under ${local.prefix}/, record runs, the jobs' connection secrets (restore targets); no write, no delete, no signing"

  depends_on = [google_project_service.apis]
}

resource "google_cloud_run_v2_job" "restore" {
  project             = local.project
  name                = "${local.name}-restore"
  location            = local.region
  deletion_protection = false

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.restore.email
      timeout         = "${local.runner_timeout_seconds}s"
      # A failed restore is recorded and reported; a retry would reuse the run id it closed.
      max_retries           = 0
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

      containers {
        name  = "runner"
        image = var.runner_image

        resources {
          limits = {
            cpu    = tostring(local.runner_cpu)
            memory = local.runner_memory
          }
        }

        env {
          name  = "VAULTRA_CATALOG"
          value = local.catalog_url
        }

        # A restore or verify of a chunked snapshot checks each chunk's id with it.
        env {
          name = "VAULTRA_DEDUP_KEY"
          value_source {
            secret_key_ref {
              secret  = google_secret_manager_secret.dedup_key.secret_id
              version = google_secret_manager_secret_version.dedup_key.version
            }
          }
        }
      }

      # The restore target is the job's database: the same network as the runner's.
      dynamic "vpc_access" {
        for_each = local.network == null && local.subnetwork == null ? [] : [1]
        content {
          egress = "PRIVATE_RANGES_ONLY"
          network_interfaces {
            network    = local.network
            subnetwork = local.subnetwork
          }
        }
      }
    }
  }

  # Cloud Run refuses a job whose service account cannot read a secret it references.
  depends_on = [google_project_service.apis, google_secret_manager_secret_iam_member.restore_dedup_key]
}

# ---- what a restore may do ------------------------------------------------------------------

# Reads backups (get, list) under the prefix; never writes or deletes one.
resource "google_storage_bucket_iam_member" "restore_objects" {
  bucket = google_storage_bucket.backups.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.restore.email}"

  condition {
    title       = "vaultra-prefix"
    description = "Objects under ${local.prefix}/ only"
    expression  = local.prefix_condition
  }
}

# Records its restore or verify run.
resource "google_project_iam_member" "restore_catalog" {
  project = local.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.restore.email}"

  condition {
    title       = "vaultra-catalog"
    description = "The Vaultra catalog database only"
    expression  = local.catalog_condition
  }
}

# Unwraps each backup's file key from its `vaultra-kms` stanza: decrypt only, never encrypt.
resource "google_kms_crypto_key_iam_member" "restore_decrypts" {
  crypto_key_id = google_kms_crypto_key.vaultra.id
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = "serviceAccount:${google_service_account.restore.email}"
}

# Trusts the deployment's signatures (restores and verifies get --trust with the signing key).
resource "google_kms_crypto_key_iam_member" "restore_reads_signing_public_key" {
  crypto_key_id = google_kms_crypto_key.signing.id
  role          = "roles/cloudkms.publicKeyViewer"
  member        = "serviceAccount:${google_service_account.restore.email}"
}

# The job sources' secrets: a restore writes into the job's database (or a target the request names
# with one of these). No webhook secret: alerts are the functions'.
resource "google_secret_manager_secret_iam_member" "restore_sources" {
  for_each = { for key, secret in local.source_secrets : key => secret if secret.location == null }

  project   = each.value.project
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.restore.email}"
}

resource "google_secret_manager_regional_secret_iam_member" "restore_sources" {
  for_each = { for key, secret in local.source_secrets : key => secret if secret.location != null }

  project   = each.value.project
  location  = each.value.location
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.restore.email}"
}

resource "google_secret_manager_secret_iam_member" "restore_dedup_key" {
  project   = local.project
  secret_id = google_secret_manager_secret.dedup_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.restore.email}"
}

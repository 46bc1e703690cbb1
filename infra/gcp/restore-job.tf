# Restores and verifies run as the `restore` service account, on the restore job (runner.tf, the
# `restore` instance of the runner image's jobs): a Cloud Run execution cannot switch identity, so the
# identity that may read and decrypt backups is a second job's. The api function starts restores
# and verifies there, backups on the runner job, whose account is write-only. This file holds the
# account and what it may do.

resource "google_service_account" "restore" {
  project      = local.project
  account_id   = "${local.account_prefix}-restore"
  display_name = "Vaultra ${var.environment} restores"
  description  = "On-demand restores and verifies: read and decrypt backups under ${local.prefix}/, record runs, the jobs' connection secrets (restore targets); no write, no delete, no signing"

  depends_on = [google_project_service.apis]
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

# The environment's key: the bucket's CMEK and the key of the age `vaultra-kms` stanza that wraps
# each backup's file key (VAULTRA_KMS_KEY). Losing it loses every backup wrapped with it, so
# Terraform refuses to destroy it; old versions stay enabled after a rotation, so old backups open.
resource "google_kms_key_ring" "vaultra" {
  project  = local.project
  name     = local.name
  location = local.region

  depends_on = [google_project_service.apis]
}

resource "google_kms_crypto_key" "vaultra" {
  name            = "vaultra"
  key_ring        = google_kms_key_ring.vaultra.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = "7776000s" # 90 days

  lifecycle {
    prevent_destroy = true
  }
}

# Cloud Storage encrypts and decrypts the bucket's objects with the key as its own service agent:
# readers of a CMEK object need no key permission of their own.
data "google_storage_project_service_account" "gcs" {
  project = local.project

  depends_on = [google_project_service.apis]
}

resource "google_kms_crypto_key_iam_member" "gcs_uses_key" {
  crypto_key_id = google_kms_crypto_key.vaultra.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

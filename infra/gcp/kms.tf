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

# The manifest signing key: every backup's manifest is signed with it (AsymmetricSign,
# EC_SIGN_P256_SHA256), and restores accept only backups signed by it or by signing.trusted. The
# runner may only sign with it; verifying is local, from the public key. Deleting it makes every
# backup it signed untrusted, so Terraform refuses to. No automatic rotation (Cloud KMS has none for
# asymmetric keys): a new version is a new key to trust (var.signing_key_version, README).
resource "google_kms_crypto_key" "signing" {
  name     = "vaultra-signing"
  key_ring = google_kms_key_ring.vaultra.id
  purpose  = "ASYMMETRIC_SIGN"

  version_template {
    algorithm = "EC_SIGN_P256_SHA256"
  }

  lifecycle {
    prevent_destroy = true
  }
}

locals {
  # Signing names one key version (`gcp-kms:…/cryptoKeyVersions/<n>`); Cloud KMS creates version 1 with the key.
  signing_key = "gcp-kms:${google_kms_crypto_key.signing.id}/cryptoKeyVersions/${var.signing_key_version}"
}

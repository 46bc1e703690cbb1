# The bucket backups are written to: `<prefix>/<job>/<YYYY>/<MM>/<DD>/<runId>/…`, encrypted with the
# environment's key, never public, versioned (a retention delete can be undone for
# noncurrentVersionExpirationDays) unless storage.objectLock asks for a retention policy instead.
resource "google_storage_bucket" "backups" {
  project                     = local.project
  name                        = local.bucket_name
  location                    = upper(local.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  # Deleting the environment must never delete backups.
  force_destroy = false

  encryption {
    default_kms_key_name = google_kms_crypto_key.vaultra.id
  }

  versioning {
    enabled = local.versioning
  }

  dynamic "retention_policy" {
    for_each = local.retention_seconds == null ? [] : [local.retention_seconds]
    content {
      retention_period = retention_policy.value
      is_locked        = var.lock_retention_policy
    }
  }

  # Old versions (left by retention deletes) go after the grace period.
  dynamic "lifecycle_rule" {
    for_each = local.versioning ? [local.noncurrent_version_days] : []
    content {
      condition {
        days_since_noncurrent_time = lifecycle_rule.value
        with_state                 = "ARCHIVED"
      }
      action {
        type = "Delete"
      }
    }
  }

  # A runner killed mid-upload leaves an unfinished XML multipart upload behind.
  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  # storage.transitions: backups move to colder classes as they age.
  dynamic "lifecycle_rule" {
    for_each = local.transitions
    content {
      condition {
        age                   = lifecycle_rule.value.age_days
        matches_prefix        = ["${local.prefix}/"]
        matches_storage_class = [for rank, class in ["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"] : class if rank < index(["STANDARD", "NEARLINE", "COLDLINE", "ARCHIVE"], lifecycle_rule.value.storage_class)]
      }
      action {
        type          = "SetStorageClass"
        storage_class = lifecycle_rule.value.storage_class
      }
    }
  }

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [google_kms_crypto_key_iam_member.gcs_uses_key]
}

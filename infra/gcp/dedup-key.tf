# The environment's dedup key (docs/chunked-snapshots.md): the HMAC key chunk ids are computed
# under. Every execution of the runner job must get the same one, or no run would dedupe against
# another and each would silently be a full; the runner reads it as VAULTRA_DEDUP_KEY.
#
# It opens nothing (it is not an encryption key: its holder can only test whether a guessed chunk
# is stored), so it is a plain Secret Manager secret, readable by the runner and restore jobs only
# (restore-job.tf: a restore or verify of a chunked snapshot checks chunk ids with it). It is never
# rotated: a new key makes every job's next run a full.
resource "google_secret_manager_secret" "dedup_key" {
  project   = local.project
  secret_id = "${local.name}-dedup-key"

  replication {
    auto {}
  }

  depends_on = [google_project_service.apis]
}

# 64 hex digits from two random UUIDs: Terraform's uuid() reads crypto/rand, and the module has no
# `random` provider (the providers are built from the Go module proxy, where hashicorp/random is
# not served). A v4 UUID holds 122 random bits, so the key holds 244. Written once, write-only:
# the key never enters the state, and later plans (where uuid() changes) never rewrite it, since
# the provider sends a write-only value only when secret_data_wo_version changes.
resource "google_secret_manager_secret_version" "dedup_key" {
  secret                 = google_secret_manager_secret.dedup_key.id
  secret_data_wo         = replace("${uuid()}${uuid()}", "-", "")
  secret_data_wo_version = 1
}

resource "google_secret_manager_secret_iam_member" "runner_dedup_key" {
  project   = local.project
  secret_id = google_secret_manager_secret.dedup_key.secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runner.email}"
}

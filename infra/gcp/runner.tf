# The runner: a Cloud Run job the functions execute once per backup or log push, with the run's
# command line as overrides (RunJob with overrides). It runs as the `runner` service account, which
# holds what a backup touches and no more: it creates objects under the prefix (no delete), records
# runs in the catalog, wraps file keys (no unwrap), signs, reads the jobs' secrets and the dedup
# key. Restores and verifies run on the restore job (restore-job.tf), a copy of this one under the
# restore account: a Cloud Run execution cannot switch identity.
resource "google_cloud_run_v2_job" "runner" {
  project             = local.project
  name                = "${local.name}-runner"
  location            = local.region
  deletion_protection = false

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.runner.email
      timeout         = "${local.runner_timeout_seconds}s"
      # A failed backup is recorded and alerted; the next schedule runs it again. A retry would
      # reuse the run id the catalog already closed.
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

        # The dedup key (dedup-key.tf), pinned to the version Terraform wrote: a version added by
        # hand would otherwise change every job's key at its next run.
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

      # Direct VPC egress to the databases when the config names a network.
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
  depends_on = [google_project_service.apis, google_secret_manager_secret_iam_member.runner_dedup_key]
}

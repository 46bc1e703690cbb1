# The runner image's two Cloud Run jobs, one block: alike in image, size, timeout, catalog, dedup
# key and network, apart in name and service account. The functions execute them once per run with
# the run's command line as overrides (RunJob with overrides).
#
# - `runner` (`vaultra-<env>-runner`): backups and log pushes, as the `runner` service account, which
#   holds what a backup touches and no more: it creates objects under the prefix (no delete), records
#   runs in the catalog, wraps file keys (no unwrap), signs, reads the jobs' secrets and the dedup key.
# - `restore` (`vaultra-<env>-restore`): restores and verifies, as the `restore` service account
#   (restore-job.tf), which reads and decrypts backups and writes nothing. A Cloud Run execution
#   cannot switch identity (its overrides are arguments, environment and task count), so the identity
#   that may read backups is a second job's, and the launcher picks the job per run
#   (core/adapters/launchers/cloud-run-job-launcher.ts, `readsBackups`).
#
# The drill jobs (drill.tf) run the same image with a database sidecar: a block of their own.
# One job per service account, keyed by the job's name suffix.
locals {
  runner_jobs = {
    runner  = { service_account = google_service_account.runner.email }
    restore = { service_account = google_service_account.restore.email }
  }
}

resource "google_cloud_run_v2_job" "runner_jobs" {
  for_each = local.runner_jobs

  project             = local.project
  name                = "${local.name}-${each.key}"
  location            = local.region
  deletion_protection = false

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = each.value.service_account
      timeout         = "${local.runner_timeout_seconds}s"
      # A failed run is recorded and reported (a backup's next schedule runs it again); a retry
      # would reuse the run id the catalog already closed.
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

        # The dedup key (dedup-key.tf): backups derive chunk ids with it, restores and verifies check
        # them. Pinned to the version Terraform wrote: a version added by hand would otherwise change
        # every job's key at its next run.
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

      # Direct VPC egress to the databases (a restore's target is a job's database) when the config
      # names a network.
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

  # Cloud Run refuses a job whose service account cannot read a secret it references. depends_on
  # cannot differ per instance, so each job waits for both accounts' grants.
  depends_on = [
    google_project_service.apis,
    google_secret_manager_secret_iam_member.runner_dedup_key,
    google_secret_manager_secret_iam_member.restore_dedup_key,
  ]
}

# Where the two jobs were before they shared this block: an apply moves them in the state instead of
# destroying and recreating them.
moved {
  from = google_cloud_run_v2_job.runner
  to   = google_cloud_run_v2_job.runner_jobs["runner"]
}

moved {
  from = google_cloud_run_v2_job.restore
  to   = google_cloud_run_v2_job.runner_jobs["restore"]
}

# Scheduled restore drills (docs/drills.md, "In the cloud"), for each enabled job with
# `drill.schedule`: a Cloud Scheduler job that posts {"job", "kind": "drill"} to scheduledBackup, and
# a Cloud Run job of the drilled job's own that scheduledBackup executes with
# `vaultra drill latest …` as the runner's arguments. With `drill.server` the job has two
# containers: the runner, started once the scratch server (its official image) accepts connections
# on the task's loopback, and the server. The runner exits and writes its done file on a volume the
# two share; the server stops on it, the task ends, the server's data with it.
#
# Every drill job runs as the `drill` service account: it reads backups and unwraps their file keys
# (the age `vaultra-kms` stanza), which a backup never needs. It writes no object, signs nothing
# and reads no job secret: a drill never connects to the source.

locals {
  # The scratch server's stop script, a file of its own so tests run it as the container will.
  drill_server_script = file("${path.module}/scripts/drill-scratch-server.sh")
}

resource "google_service_account" "drill" {
  count = length(local.drilled_jobs) > 0 ? 1 : 0

  project      = local.project
  account_id   = "${local.account_prefix}-drill"
  display_name = "Vaultra ${var.environment} drills"
  description  = "Scheduled drills: read and decrypt backups under ${local.prefix}/, record drill runs; no write, no signing, no job secret"

  depends_on = [google_project_service.apis]
}

resource "google_cloud_run_v2_job" "drill" {
  for_each = local.drilled_jobs

  project             = local.project
  name                = local.drill_job_names[each.key]
  location            = local.region
  deletion_protection = false

  template {
    task_count  = 1
    parallelism = 1

    template {
      service_account = google_service_account.drill[0].email
      timeout         = "${local.drill_timeout_seconds[each.key]}s"
      # A failed drill is recorded and alerted; the next schedule drills again.
      max_retries           = 0
      execution_environment = "EXECUTION_ENVIRONMENT_GEN2"

      # First, as the task's main container: its exit ends the task. The name the launcher's
      # overrides address (DRILL_RUNNER_CONTAINER_NAME in core/adapters/launchers/cloud-run-job-launcher.ts).
      containers {
        name       = "runner"
        image      = var.runner_image
        depends_on = contains(keys(local.drill_sidecars), each.key) ? ["scratch-server"] : null

        resources {
          limits = local.drill_sizes[each.key]
        }

        env {
          name  = "VAULTRA_CATALOG"
          value = local.catalog_url
        }

        # `vaultra drill` writes its exit code here as it exits: the scratch server stops on it.
        dynamic "env" {
          for_each = contains(keys(local.drill_sidecars), each.key) ? [local.drill_done_file] : []
          content {
            name  = "VAULTRA_DRILL_DONE_FILE"
            value = env.value
          }
        }

        dynamic "volume_mounts" {
          for_each = contains(keys(local.drill_sidecars), each.key) ? [local.drill_done_volume] : []
          content {
            name       = volume_mounts.value
            mount_path = local.drill_done_folder
          }
        }
      }

      # DRILL_SERVER_CONTAINER_NAME of core/config/drill-sidecar.ts. Cloud Run probes TCP, HTTP or
      # gRPC, not a command: the port opening is the readiness pg_isready tells on AWS (the
      # image's entrypoint initializes the cluster on a Unix socket only, then opens the port).
      dynamic "containers" {
        for_each = contains(keys(local.drill_sidecars), each.key) ? [local.drill_sidecars[each.key]] : []
        content {
          name  = "scratch-server"
          image = containers.value.image
          # The image's entrypoint with the server's arguments, under a script that stops the
          # server once the runner is done: nothing in Cloud Run's documentation says a task ends
          # while a second container still runs (scripts/drill-scratch-server.sh says how it knows).
          command = ["sh", "-c", local.drill_server_script, "scratch-server"]
          args    = containers.value.args

          dynamic "env" {
            for_each = merge(containers.value.env, {
              VAULTRA_DRILL_DONE_FILE = local.drill_done_file
              # Past the drilled job's timeout the watchdog fails the drill anyway: a runner that
              # never wrote the file (killed) holds the task no longer than that, 10 minutes before
              # the task's own timeout would end it.
              VAULTRA_DRILL_WAIT_SECONDS = tostring(local.job_timeout_seconds[each.key])
            })
            content {
              name  = env.key
              value = env.value
            }
          }

          volume_mounts {
            name       = local.drill_done_volume
            mount_path = local.drill_done_folder
          }

          resources {
            limits = local.drill_sizes[each.key]
          }

          # Up to a minute to initialize and start, as the AWS drill task's start period.
          startup_probe {
            period_seconds    = 2
            timeout_seconds   = 1
            failure_threshold = 30
            tcp_socket {
              port = containers.value.port
            }
          }
        }
      }

      # Shared by the two containers: the runner's done file. In memory, a few bytes.
      dynamic "volumes" {
        for_each = contains(keys(local.drill_sidecars), each.key) ? [local.drill_done_volume] : []
        content {
          name = volumes.value
          empty_dir {
            medium     = "MEMORY"
            size_limit = "1Mi"
          }
        }
      }
    }
  }

  depends_on = [google_project_service.apis]
}

resource "google_cloud_scheduler_job" "drill" {
  for_each = local.drill_schedules

  project          = local.project
  region           = local.region
  name             = "${local.name}-Drill-${each.key}"
  description      = "Vaultra ${var.environment}: drill ${each.key} (restore its newest backup and check it)"
  schedule         = each.value.cron
  time_zone        = each.value.time_zone
  attempt_deadline = "180s"

  # The run id comes from X-CloudScheduler-ScheduleTime: a retried delivery starts nothing new.
  retry_config {
    retry_count          = 3
    min_backoff_duration = "30s"
    max_backoff_duration = "300s"
    max_doublings        = 2
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.vaultra["scheduledBackup"].service_config[0].uri
    body        = base64encode(each.value.body)
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.vaultra["scheduledBackup"].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invokes]
}

# ---- the drill identity ---------------------------------------------------------------------

# Reads backups (get, list) under the prefix; never writes or deletes one.
resource "google_storage_bucket_iam_member" "drill_objects" {
  count = length(google_service_account.drill)

  bucket = google_storage_bucket.backups.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.drill[0].email}"

  condition {
    title       = "vaultra-prefix"
    description = "Objects under ${local.prefix}/ only"
    expression  = local.prefix_condition
  }
}

# Records its drill run.
resource "google_project_iam_member" "drill_catalog" {
  count = length(google_service_account.drill)

  project = local.project
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.drill[0].email}"

  condition {
    title       = "vaultra-catalog"
    description = "The Vaultra catalog database only"
    expression  = local.catalog_condition
  }
}

# Unwraps each backup's file key from its `vaultra-kms` stanza: decrypt only, never encrypt.
resource "google_kms_crypto_key_iam_member" "drill_decrypts" {
  count = length(google_service_account.drill)

  crypto_key_id = google_kms_crypto_key.vaultra.id
  role          = "roles/cloudkms.cryptoKeyDecrypter"
  member        = "serviceAccount:${google_service_account.drill[0].email}"
}

# Trusts the deployment's signatures (`--trust` with the signing key): its public key, no signing.
resource "google_kms_crypto_key_iam_member" "drill_reads_signing_public_key" {
  count = length(google_service_account.drill)

  crypto_key_id = google_kms_crypto_key.signing.id
  role          = "roles/cloudkms.publicKeyViewer"
  member        = "serviceAccount:${google_service_account.drill[0].email}"
}

# The functions execute the drill jobs with the drill's arguments and follow their executions
# (reconcile), as they do the runner job's. No actAs: executing a job does not need it.
resource "google_cloud_run_v2_job_iam_member" "functions_execute_drills" {
  for_each = google_cloud_run_v2_job.drill

  project  = local.project
  location = local.region
  name     = each.value.name
  role     = "roles/run.jobsExecutorWithOverrides"
  member   = "serviceAccount:${google_service_account.functions.email}"
}

resource "google_cloud_run_v2_job_iam_member" "functions_observe_drills" {
  for_each = google_cloud_run_v2_job.drill

  project  = local.project
  location = local.region
  name     = each.value.name
  role     = "roles/run.viewer"
  member   = "serviceAccount:${google_service_account.functions.email}"
}

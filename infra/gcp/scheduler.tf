# One Cloud Scheduler job per enabled backup job, in the job's time zone, posting {"job": <name>}
# to scheduledBackup with an OIDC token of the `scheduler` service account (the only principal
# allowed to invoke it). Cloud Scheduler adds X-CloudScheduler-ScheduleTime to each request: the
# run id is derived from it, so a retried delivery cannot start a second backup.
resource "google_cloud_scheduler_job" "backup" {
  for_each = local.backup_schedules

  project          = local.project
  region           = local.region
  name             = "${local.name}-${each.key}"
  description      = "Vaultra ${var.environment}: back up ${each.key}"
  schedule         = each.value.cron
  time_zone        = each.value.time_zone
  attempt_deadline = "180s"

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

# One log catch-up schedule per enabled job with `logs` (point-in-time recovery): every
# `logs.every` in UTC, posting {"job": <name>, "kind": "log"} to the same scheduledBackup function,
# which starts `vaultra logs push` on the runner job. The capital in the name keeps it clear of every
# backup job's own schedule (job names are lowercase). One retry: the next push is minutes away and
# reads from wherever the archive ends.
resource "google_cloud_scheduler_job" "log_push" {
  for_each = local.log_schedules

  project          = local.project
  region           = local.region
  name             = "${local.name}-Logs-${each.key}"
  description      = "Vaultra ${var.environment}: archive ${each.key}'s change log"
  schedule         = each.value.cron
  time_zone        = "UTC"
  attempt_deadline = "180s"

  retry_config {
    retry_count          = 1
    min_backoff_duration = "30s"
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

# The functions that run on a clock of their own, not a job's: reconcile (every five minutes,
# finalize runs whose runner execution ended) and the watchdog (hourly: jobs past their RPO,
# runs stuck past their timeout). Each key is the function it calls.
resource "google_cloud_scheduler_job" "maintenance" {
  for_each = local.maintenance_schedules

  project          = local.project
  region           = local.region
  name             = "${local.name}-${each.key}"
  description      = "Vaultra ${var.environment}: ${each.value.description}"
  schedule         = each.value.schedule
  time_zone        = "UTC"
  attempt_deadline = "320s"

  retry_config {
    retry_count = each.value.retry_count
  }

  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.vaultra[each.key].service_config[0].uri
    body        = base64encode("{}")
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.scheduler.email
      audience              = google_cloudfunctions2_function.vaultra[each.key].service_config[0].uri
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.scheduler_invokes]
}

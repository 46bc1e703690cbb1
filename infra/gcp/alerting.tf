# Alerts: the functions post to the config's webhooks and publish to this topic
# (VAULTRA_ALERT_TOPIC); Cloud Monitoring mails notifications.email when a function answers with
# errors or a runner execution fails (the runner job's backups and log pushes, the restore job's
# on-demand restores and verifies; drills have their policy below).
resource "google_pubsub_topic" "alerts" {
  project                    = local.project
  name                       = "${local.name}-alerts"
  message_retention_duration = "604800s"

  depends_on = [google_project_service.apis]
}

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(local.emails)

  project      = local.project
  display_name = "Vaultra ${var.environment}: ${each.value}"
  type         = "email"
  labels = {
    email_address = each.value
  }

  depends_on = [google_project_service.apis]
}

locals {
  # Cloud Monitoring labels a Cloud Run revision's metrics with the service's short name
  # (resource.labels.service_name, e.g. vaultra-prod-api), while the function's
  # service_config[0].service is the full projects/<p>/locations/<r>/services/<name> path: the
  # filter needs the last segment, or it never matches. Splitting also keeps a short name as is.
  function_service_names = [for function in google_cloudfunctions2_function.vaultra : reverse(split("/", function.service_config[0].service))[0]]
}

resource "google_monitoring_alert_policy" "function_errors" {
  project               = local.project
  display_name          = "Vaultra ${var.environment}: function errors"
  combiner              = "OR"
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]

  conditions {
    display_name = "A Vaultra function answered with a 5xx"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.labels.response_code_class = \"5xx\" AND resource.labels.service_name = one_of(${join(", ", [for name in local.function_service_names : "\"${name}\""])})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    content   = "A Vaultra function of environment ${var.environment} failed: see its logs in Cloud Logging. Schedules are retried by Cloud Scheduler; the watchdog reports jobs past their RPO."
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "runner_failures" {
  project               = local.project
  display_name          = "Vaultra ${var.environment}: runner execution failed"
  combiner              = "OR"
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]

  conditions {
    display_name = "A runner execution failed"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_job\" AND metric.type = \"run.googleapis.com/job/completed_execution_count\" AND metric.labels.result = \"failed\" AND resource.labels.job_name = one_of(${join(", ", [for job in google_cloud_run_v2_job.runner_jobs : "\"${job.name}\""])})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    content   = "A Vaultra runner execution of environment ${var.environment} failed (a backup or log push on the runner job, a restore or verify on the restore job): the run's record in the catalog and the execution's logs say why."
    mime_type = "text/markdown"
  }
}

# A drill whose execution failed (docs/drills.md): its backup may not restore. The reconcile
# function pages drill-failed through the webhooks and the topic; this mails notifications.email,
# as a failed runner execution does.
resource "google_monitoring_alert_policy" "drill_failures" {
  count = length(local.drilled_jobs) > 0 ? 1 : 0

  project               = local.project
  display_name          = "Vaultra ${var.environment}: restore drill failed"
  combiner              = "OR"
  notification_channels = [for channel in google_monitoring_notification_channel.email : channel.id]

  conditions {
    display_name = "A drill execution failed"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_job\" AND metric.type = \"run.googleapis.com/job/completed_execution_count\" AND metric.labels.result = \"failed\" AND resource.labels.job_name = one_of(${join(", ", [for name in values(local.drill_job_names) : "\"${name}\""])})"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    content   = "A Vaultra restore drill of environment ${var.environment} failed: the backup it drilled may not restore. `vaultra list --drills` and the drill run in the catalog say which check failed; the execution's logs say more."
    mime_type = "text/markdown"
  }
}

# A deployment as infra/gcp left it while the runner and restore jobs were two blocks, with the
# functions' grants on each: just those addresses, for moved-jobs.test.ts.
terraform {
  required_providers {
    google = { source = "hashicorp/google" }
  }
}

resource "google_cloud_run_v2_job" "runner" {
  name     = "vaultra-gcp-example-runner"
  location = "europe-west1"
  template {
    template {
      containers { image = "example.invalid/vaultra/runner:test" }
    }
  }
}

resource "google_cloud_run_v2_job" "restore" {
  name     = "vaultra-gcp-example-restore"
  location = "europe-west1"
  template {
    template {
      containers { image = "example.invalid/vaultra/runner:test" }
    }
  }
}

resource "google_cloud_run_v2_job_iam_member" "functions_execute" {
  name   = google_cloud_run_v2_job.runner.name
  role   = "roles/run.jobsExecutorWithOverrides"
  member = "serviceAccount:functions@example.invalid"
}

resource "google_cloud_run_v2_job_iam_member" "functions_observe" {
  name   = google_cloud_run_v2_job.runner.name
  role   = "roles/run.viewer"
  member = "serviceAccount:functions@example.invalid"
}

resource "google_cloud_run_v2_job_iam_member" "functions_execute_restore" {
  name   = google_cloud_run_v2_job.restore.name
  role   = "roles/run.jobsExecutorWithOverrides"
  member = "serviceAccount:functions@example.invalid"
}

resource "google_cloud_run_v2_job_iam_member" "functions_observe_restore" {
  name   = google_cloud_run_v2_job.restore.name
  role   = "roles/run.viewer"
  member = "serviceAccount:functions@example.invalid"
}

output "ids" {
  value = {
    runner_job      = google_cloud_run_v2_job.runner.id
    restore_job     = google_cloud_run_v2_job.restore.id
    execute_runner  = google_cloud_run_v2_job_iam_member.functions_execute.id
    observe_runner  = google_cloud_run_v2_job_iam_member.functions_observe.id
    execute_restore = google_cloud_run_v2_job_iam_member.functions_execute_restore.id
    observe_restore = google_cloud_run_v2_job_iam_member.functions_observe_restore.id
  }
}

output "names" {
  value = {
    runner_job  = google_cloud_run_v2_job.runner.name
    restore_job = google_cloud_run_v2_job.restore.name
  }
}

# Run by moved-jobs.test.ts in a copy of infra/gcp, with mock providers (no credentials, no cloud):
# "before" applies the old addresses into a state; "after" plans this module against that state.
# A resource the plan would create rather than move has an unknown id at plan time, so every id
# assertion below fails unless the moved blocks carry the old object over. Mock providers know no
# attribute that forces a replacement, so the names (which would) are compared too.
mock_provider "google" {}
mock_provider "archive" {}

run "before" {
  state_key = "deployment"
  module {
    source = "./tests/before"
  }
}

run "after" {
  state_key = "deployment"
  command   = plan

  assert {
    condition     = google_cloud_run_v2_job.runner_jobs["runner"].name == run.before.names.runner_job && google_cloud_run_v2_job.runner_jobs["restore"].name == run.before.names.restore_job
    error_message = "A job would be renamed, and so replaced."
  }
  assert {
    condition     = google_cloud_run_v2_job.runner_jobs["runner"].id == run.before.ids.runner_job
    error_message = "The runner job would be replaced, not moved."
  }
  assert {
    condition     = google_cloud_run_v2_job.runner_jobs["restore"].id == run.before.ids.restore_job
    error_message = "The restore job would be replaced, not moved."
  }
  assert {
    condition     = google_cloud_run_v2_job_iam_member.functions_execute["runner"].id == run.before.ids.execute_runner && google_cloud_run_v2_job_iam_member.functions_observe["runner"].id == run.before.ids.observe_runner
    error_message = "The functions' grants on the runner job would be replaced, not moved."
  }
  assert {
    condition     = google_cloud_run_v2_job_iam_member.functions_execute["restore"].id == run.before.ids.execute_restore && google_cloud_run_v2_job_iam_member.functions_observe["restore"].id == run.before.ids.observe_restore
    error_message = "The functions' grants on the restore job would be replaced, not moved."
  }
}

# The APIs the environment uses. Never disabled on destroy: other workloads of the project may use them.
resource "google_project_service" "apis" {
  for_each = var.enable_apis ? toset([
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudkms.googleapis.com",
    "cloudscheduler.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]) : toset([])

  project            = local.project
  service            = each.value
  disable_on_destroy = false
}

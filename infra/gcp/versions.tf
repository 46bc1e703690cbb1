terraform {
  # 1.9: variable validations may read other variables (the environment's cloud is checked against the config file).
  required_version = ">= 1.9"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = "~> 8.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
  }
}

# Credentials come from Application Default Credentials: `gcloud auth application-default login` on a
# workstation, Workload Identity Federation in CI. No service account key is created or read.
provider "google" {
  project = local.project
  region  = local.region

  default_labels = {
    vaultra-environment = var.environment
  }
}

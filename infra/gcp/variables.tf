variable "config_path" {
  description = "The Vaultra config file whose environment this module deploys."
  type        = string
  default     = "../../vaultra.config.yaml"
}

variable "environment" {
  description = "The environment of the config file to deploy: a `cloud: gcp` environment."
  type        = string

  validation {
    condition     = try(yamldecode(file(var.config_path)).environments[var.environment].cloud, "") == "gcp"
    error_message = "The environment must be a `cloud: gcp` environment of the config file (infra/azure deploys azure environments, `cdk deploy` aws ones)."
  }
}

variable "runner_image" {
  description = "The runner image, already pushed to Artifact Registry (Terraform builds no image), e.g. europe-west1-docker.pkg.dev/<project>/vaultra/runner:<tag>. Cloud Run runs linux/amd64 images only: `docker buildx build --platform linux/amd64 -f runner/Dockerfile -t <image> --push .`, on any build host (arm64 ones emulate amd64: infra/gcp/README.md)."
  type        = string

  validation {
    condition     = length(trimspace(var.runner_image)) > 0
    error_message = "runner_image names the pushed runner image."
  }
}

variable "functions_source_dir" {
  description = "The packaged GCP functions (scripts/package-gcp-functions.mjs): zipped and deployed as the source of the four functions."
  type        = string
  default     = null
}

variable "functions_runtime" {
  description = "The Cloud Functions (gen2) Node.js runtime."
  type        = string
  default     = "nodejs22"
}

variable "api_ingress" {
  description = "Ingress of the api function. ALLOW_INTERNAL_ONLY (default): only requests from a VPC network of this project (or its Shared VPC / VPC Service Controls perimeter) reach it, so not a workstation or Cloud Shell. ALLOW_ALL: reachable over the internet, and IAM (`api_invokers`) still decides who may call it; the way to call it from a workstation."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB", "ALLOW_ALL"], var.api_ingress)
    error_message = "api_ingress is ALLOW_INTERNAL_ONLY, ALLOW_INTERNAL_AND_GCLB or ALLOW_ALL."
  }
}

variable "api_invokers" {
  description = "Principals given roles/run.invoker on the api function (`user:…`, `group:…`, `serviceAccount:…`): without one, nobody is granted the call. Never allUsers."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.api_invokers : !contains(["allUsers", "allAuthenticatedUsers"], member)])
    error_message = "The api function is never public: allUsers and allAuthenticatedUsers are refused."
  }
}

variable "lock_retention_policy" {
  description = "Lock the bucket's retention policy (storage.objectLock): irreversible, the policy can then never be shortened or removed. Apply once unlocked, check, then lock."
  type        = bool
  default     = false
}

variable "enable_apis" {
  description = "Enable the Google Cloud APIs the environment uses (never disabled on destroy)."
  type        = bool
  default     = true
}

variable "signing_key_version" {
  description = "The version of the signing key (vaultra-signing) the runner signs with. To rotate: create a new version, add its public key to signing.trusted, then set this; keep trusting the old version while its backups are kept."
  type        = number
  default     = 1

  validation {
    condition     = var.signing_key_version >= 1 && floor(var.signing_key_version) == var.signing_key_version
    error_message = "signing_key_version is a key version number: 1, 2, …"
  }
}

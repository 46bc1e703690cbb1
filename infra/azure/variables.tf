variable "config_path" {
  description = "The Vaultra config file whose environment this module deploys."
  type        = string
  default     = "../../vaultra.config.yaml"
}

variable "environment" {
  description = "The environment of the config file to deploy: a `cloud: azure` environment."
  type        = string

  validation {
    condition     = try(yamldecode(file(var.config_path)).environments[var.environment].cloud, "") == "azure"
    error_message = "The environment must be a `cloud: azure` environment of the config file (infra/gcp deploys gcp environments, `cdk deploy` aws ones)."
  }
}

variable "subscription_id" {
  description = "The subscription to deploy into. Default: ARM_SUBSCRIPTION_ID."
  type        = string
  default     = null
}

variable "runner_image" {
  description = "The runner image, already pushed (Terraform builds no image): `docker build -f runner/Dockerfile --platform linux/amd64 .`, then push it, e.g. to <registry>.azurecr.io/vaultra/runner:<tag>."
  type        = string

  validation {
    condition     = length(trimspace(var.runner_image)) > 0
    error_message = "runner_image names the pushed runner image."
  }
}

variable "runner_registry" {
  description = "The Azure Container Registry holding runner_image, pulled with the runner's identity (AcrPull on that registry). Null for a public image."
  type = object({
    server = string
    id     = string
  })
  default = null
}

variable "functions_source_dir" {
  description = "The packaged Azure functions (scripts/package-azure-functions.mjs): zipped and deployed to the function app."
  type        = string
  default     = null
}

variable "functions_runtime_version" {
  description = "The Node.js version of the function app (Flex Consumption)."
  type        = string
  default     = "22"
}

variable "create_resource_group" {
  description = "Create azure.resourceGroup (true), or deploy into the existing group of that name (false)."
  type        = bool
  default     = true
}

variable "key_vault_name" {
  description = "The Key Vault holding the environment key and the connection secrets (secret+azure://<this>/<secret>). Default: kv<storage account name>, at most 24 characters."
  type        = string
  default     = null
}

variable "functions_storage_account_name" {
  description = "The function app's own storage account (host state, deployment packages), apart from the backups. Default: <storage account name, up to 22 characters>fn."
  type        = string
  default     = null
}

variable "secret_vault_resource_groups" {
  description = "The resource group of each other Key Vault the config's secret references name (vault name => group). Default: the environment's resource group."
  type        = map(string)
  default     = {}
}

variable "storage_replication_type" {
  description = "Replication of the backup storage account (GRS keeps a copy in the paired region)."
  type        = string
  default     = "GRS"
}

variable "lock_immutability_policy" {
  description = "Lock the storage account's immutability policy (storage.objectLock): irreversible. Azure creates the policy unlocked: apply once, check, then apply again with true."
  type        = bool
  default     = false
}

variable "grant_deployer_secret_access" {
  description = "Give the identity running Terraform \"Key Vault Secrets Officer\" on the vault, so it can set the connection secrets (`az keyvault secret set`)."
  type        = bool
  default     = true
}

variable "grant_deployer_key_access" {
  description = "Give the identity running Terraform \"Key Vault Crypto Officer\" on the vault, so it can create and rotate the key (the vault uses Azure RBAC)."
  type        = bool
  default     = true
}

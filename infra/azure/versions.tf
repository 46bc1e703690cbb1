terraform {
  # 1.9: variable validations may read other variables (the environment's cloud is checked against
  # the config file); 1.11: write-only attributes (the placeholder secrets' value_wo, keyvault.tf).
  required_version = ">= 1.11"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 5.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.4"
    }
  }
}

# Credentials: `az login` on a workstation, OIDC workload identity federation in CI
# (ARM_USE_OIDC=true). The subscription comes from var.subscription_id or ARM_SUBSCRIPTION_ID.
provider "azurerm" {
  subscription_id = var.subscription_id
  # The storage accounts refuse shared keys: the provider reaches their data plane with Entra ID too.
  storage_use_azuread = true
  # 5.0 registers no resource provider by default: these are the ones the environment uses.
  resource_providers_to_register = [
    "Microsoft.App",
    "Microsoft.Insights",
    "Microsoft.KeyVault",
    "Microsoft.ManagedIdentity",
    "Microsoft.OperationalInsights",
    "Microsoft.Storage",
    "Microsoft.Web",
  ]

  features {
    key_vault {
      # The vault holds the key every backup is wrapped with: never purge it on destroy.
      purge_soft_delete_on_destroy    = false
      recover_soft_deleted_key_vaults = true
      # The connection secrets are the user's: a destroyed one stays recoverable (purge protection
      # refuses a purge anyway).
      purge_soft_deleted_secrets_on_destroy = false
    }
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
}

# The environment's Key Vault: Azure RBAC (no access policies), purge protection, and the key of
# the age `vaultra-kms` stanza that wraps each backup's file key (wrapKey/unwrapKey, RSA-OAEP-256).
# The connection secrets of the jobs live here too (secret+azure://<vault>/<secret>).
resource "azurerm_key_vault" "vaultra" {
  name                          = local.key_vault_name
  location                      = local.location
  resource_group_name           = local.resource_group.name
  tenant_id                     = data.azurerm_client_config.current.tenant_id
  sku_name                      = "standard"
  rbac_authorization_enabled    = true
  purge_protection_enabled      = true
  soft_delete_retention_days    = 90
  public_network_access_enabled = true
  tags                          = local.tags
}

# Terraform's own identity creates and rotates the key.
resource "azurerm_role_assignment" "deployer_key_officer" {
  count = var.grant_deployer_key_access ? 1 : 0

  scope                = azurerm_key_vault.vaultra.id
  role_definition_name = "Key Vault Crypto Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# ... and writes secrets: the placeholders below, and the jobs' connection secrets
# (`az keyvault secret set`). On a vault with Azure RBAC, Crypto Officer covers keys only: without
# this the set is refused.
resource "azurerm_role_assignment" "deployer_secrets_officer" {
  count = var.grant_deployer_secret_access ? 1 : 0

  scope                = azurerm_key_vault.vaultra.id
  role_definition_name = "Key Vault Secrets Officer"
  principal_id         = data.azurerm_client_config.current.object_id
}

# New role assignments take minutes to reach Key Vault: the key and the secrets wait until this
# identity can list both (scripts/wait-for-vault-access.sh, through the Azure CLI) rather than fail
# the first apply with 403.
resource "terraform_data" "deployer_vault_access" {
  triggers_replace = [
    azurerm_key_vault.vaultra.id,
    azurerm_role_assignment.deployer_key_officer[*].id,
    azurerm_role_assignment.deployer_secrets_officer[*].id,
  ]

  provisioner "local-exec" {
    command = "${path.module}/scripts/wait-for-vault-access.sh"
    environment = {
      VAULT = azurerm_key_vault.vaultra.name
    }
  }
}

# A new version every year; older versions stay enabled and never expire, so every backup they
# wrapped still opens. Losing the key loses every backup wrapped with it: Terraform refuses to
# destroy it.
resource "azurerm_key_vault_key" "vaultra" {
  name         = "vaultra"
  key_vault_id = azurerm_key_vault.vaultra.id
  key_type     = "RSA"
  key_size     = 3072
  key_opts     = ["wrapKey", "unwrapKey"]

  rotation_policy {
    automatic {
      time_after_creation = "P365D"
    }
  }

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [terraform_data.deployer_vault_access]
}

# Every secret the config names in this vault, created with a placeholder. The identities' roles
# are scoped to each secret (iam.tf), and Azure refuses a role assignment on a secret that does
# not exist yet; this vault is created by the same apply, so without these the first apply failed.
# Chosen over the alternatives: Key Vault takes no role assignment conditions (ABAC covers Blob
# and Queue storage only), so a vault-wide Secrets User would let the runner read the webhook keys
# and the functions read every database connection; a two-phase apply does not work from nothing.
#
# value_wo (write-only, Terraform >= 1.11) and a fixed value_wo_version: the placeholder is
# written once, and neither it nor the real value set later with `az keyvault secret set` is ever
# stored in the state. `value` with ignore_changes would not do: the provider reads the latest
# version's value back into the state on every refresh.
resource "azurerm_key_vault_secret" "connection" {
  for_each = local.own_vault_secrets

  name             = each.value.secret
  key_vault_id     = azurerm_key_vault.vaultra.id
  value_wo         = "unset: az keyvault secret set --vault-name ${local.key_vault_name} --name ${each.value.secret} --value <connection>"
  value_wo_version = 1

  depends_on = [terraform_data.deployer_vault_access]
}

# Vaults of other resource groups that secret references name.
data "azurerm_key_vault" "referenced" {
  for_each = local.referenced_vaults

  name                = each.value
  resource_group_name = lookup(var.secret_vault_resource_groups, each.value, local.resource_group_name)
}

locals {
  vault_ids = merge(
    { for name, vault in data.azurerm_key_vault.referenced : name => vault.id },
    { (lower(local.key_vault_name)) = azurerm_key_vault.vaultra.id },
  )
}

# The manifest signing key: every backup's manifest is signed with it (ES256, EC P-256), and
# restores accept only backups signed by it or by signing.trusted. The runner may only use it to
# sign (and read its public key); verifying is local. No rotation policy: a new version is a new
# key to trust (add its public key to signing.trusted first, README). Deleting it makes every
# backup it signed untrusted, so Terraform refuses to.
resource "azurerm_key_vault_key" "signing" {
  name         = "vaultra-signing"
  key_vault_id = azurerm_key_vault.vaultra.id
  key_type     = "EC"
  curve        = "P-256"
  key_opts     = ["sign", "verify"]

  lifecycle {
    prevent_destroy = true
  }

  depends_on = [azurerm_role_assignment.deployer_key_officer]
}

# The environment's dedup key (docs/chunked-snapshots.md): the HMAC key chunk ids are computed
# under. Every execution of the runner job must get the same one, or no run would dedupe against
# another and each would silently be a full; the runner reads it as VAULTRA_DEDUP_KEY, which
# Container Apps fills from this secret with the runner's identity.
#
# It opens nothing (it is not an encryption key: its holder can only test whether a guessed chunk
# is stored), so it is a plain Key Vault secret, readable by the runner and restore jobs only. It
# is never rotated: a new key makes every job's next run a full.
#
# 64 hex digits from two random UUIDs: Terraform's uuid() reads crypto/rand, and the module has no
# `random` provider (the providers are built from the Go module proxy, where hashicorp/random is
# not served). A v4 UUID holds 122 random bits, so the key holds 244. Written once, write-only,
# as the placeholders of keyvault.tf are: the key never enters the state, and later plans (where
# uuid() changes) never rewrite it, since a write-only value is sent only when value_wo_version
# changes.
resource "azurerm_key_vault_secret" "dedup_key" {
  name             = local.dedup_key_secret_name
  key_vault_id     = azurerm_key_vault.vaultra.id
  value_wo         = replace("${uuid()}${uuid()}", "-", "")
  value_wo_version = 1
  content_type     = "Vaultra dedup key (VAULTRA_DEDUP_KEY): replacing it makes every job's next run a full"

  depends_on = [terraform_data.deployer_vault_access]

  lifecycle {
    precondition {
      condition     = !local.dedup_key_name_taken
      error_message = "The config names a secret ${local.dedup_key_secret_name} in vault ${local.key_vault_name}: that name is the dedup key's; give the connection or webhook secret another name."
    }
  }
}

# The secret only, not the vault: the runner reads no other secret than the ones named for it.
resource "azurerm_role_assignment" "runner_dedup_key" {
  scope                = "${azurerm_key_vault.vaultra.id}/secrets/${azurerm_key_vault_secret.dedup_key.name}"
  role_definition_name = "Key Vault Secrets User"
  principal_id         = azurerm_user_assigned_identity.runner.principal_id
  principal_type       = "ServicePrincipal"
}

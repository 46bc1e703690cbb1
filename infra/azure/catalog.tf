# The run catalog (aztable://<account>/vaultraruns): a table of the backup account, reached with
# Entra ID like the blobs.
resource "azurerm_storage_table" "catalog" {
  name               = local.catalog_table
  storage_account_id = azurerm_storage_account.backups.id
}

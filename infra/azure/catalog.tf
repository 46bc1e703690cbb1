# The run catalog (aztable://<account>/vaultraruns): a table of the backup account, reached with
# Entra ID like the blobs.
#
# Created through Resource Manager by scripts/create-catalog-table.sh (the Azure CLI's `az rest`),
# not with azurerm_storage_table: azurerm 5.2 has no management-plane resource for tables, and its
# azurerm_storage_table writes and, on every refresh, reads the table's ACLs with the account key
# only (hashicorp/terraform-provider-azurerm#32249, #30815), which this account refuses: 403 on the
# first apply and on every plan after. The script runs on the first apply and whenever the table's
# id changes; the table is left in place on destroy, with the runs it records.
locals {
  catalog_table_id = "${azurerm_storage_account.backups.id}/tableServices/default/tables/${local.catalog_table}"
}

resource "terraform_data" "catalog_table" {
  triggers_replace = [local.catalog_table_id]

  # What the role assignments and the catalog URL read: referring to this resource, they wait for
  # the table, and `input` is known at plan time (`output` is not while the table is replaced).
  input = {
    id   = local.catalog_table_id
    name = local.catalog_table
  }

  provisioner "local-exec" {
    command = "${path.module}/scripts/create-catalog-table.sh"
    environment = {
      TABLE_ID = local.catalog_table_id
    }
  }
}

# A state written by the earlier azurerm_storage_table.catalog forgets it instead of deleting the
# table and the runs in it.
removed {
  from = azurerm_storage_table.catalog

  lifecycle {
    destroy = false
  }
}

data "azurerm_client_config" "current" {}

# azure.resourceGroup: created by default; with create_resource_group = false the module deploys
# into the existing group (a platform team's group with its own policies and locks).
resource "azurerm_resource_group" "vaultra" {
  count = var.create_resource_group ? 1 : 0

  name     = local.resource_group_name
  location = local.location
}

data "azurerm_resource_group" "existing" {
  count = var.create_resource_group ? 0 : 1

  name = local.resource_group_name
}

locals {
  resource_group    = var.create_resource_group ? azurerm_resource_group.vaultra[0] : data.azurerm_resource_group.existing[0]
  resource_group_id = local.resource_group.id
  tags = {
    vaultra-environment = var.environment
  }
}
